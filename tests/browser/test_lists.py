"""Long lists page, sort and filter on the server, with the whole state in a URL that can be shared."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_audit_trail_pages_sorts_and_filters_in_the_url(page_as, axe) -> None:
    page = page_as("admin")
    page.goto("/admin/audit")
    pager = page.get_by_role("navigation", name="Pages of events").first
    expect(pager).to_contain_text(re.compile(r"1–50 of [\d,]+ events"))
    assert page.locator("tbody tr").count() == 50
    seqs = [int(t) for t in page.locator("tbody tr td:first-child").all_inner_texts()]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    pager.get_by_role("link", name="Next").click()
    assert _query(page)["page"] == ["2"]
    assert int(page.locator("tbody tr td").first.inner_text()) < seqs[-1]  # the next, older, events
    page.get_by_role("link", name=re.compile("^Actor")).click()
    assert _query(page)["sort"] == ["actor"] and "page" not in _query(page)
    expect(page.get_by_role("columnheader", name=re.compile("^Actor"))).to_have_attribute("aria-sort", "ascending")
    page.get_by_label("Verb").fill("eligibility_decide")
    page.get_by_label("Verb").press("Enter")
    assert _query(page)["verb"] == ["eligibility_decide"] and _query(page)["sort"] == ["actor"]
    verbs = set(page.locator("tbody tr td:nth-child(4)").all_inner_texts())
    assert verbs == {"eligibility decide"}
    shared = page.url
    page.goto(shared)  # the same list from a bookmark
    assert page.locator("tbody tr").count() > 0 and set(page.locator("tbody tr td:nth-child(4)").all_inner_texts()) == verbs
    axe(page)


def test_case_lists_filter_and_link_people_and_cases(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/rare?status=interpretation")
    rows = page.locator("tbody tr")
    assert rows.count() >= 1
    for status in page.locator("tbody tr td:nth-child(4)").all_inner_texts():
        assert status == "In interpretation"
    case_link = rows.first.get_by_role("link").first
    case_id = case_link.inner_text()
    assert re.fullmatch(r"C\d{8}", case_id)
    proband = rows.first.get_by_role("link").nth(1)
    assert re.fullmatch(r"P\d{8}", proband.inner_text())
    axe(page)
    page.goto("/cancer?per_page=200")
    interpreted = page.locator("tbody tr", has=page.locator("td:nth-child(6) .badge", has_text=re.compile(r"^interpreted$"))).count()
    page.goto("/cancer?interpreted=yes")
    rows = page.locator("tbody tr")
    assert rows.count() == interpreted >= 1  # the filter keeps exactly the interpreted cases
    assert rows.locator("td:nth-child(6) .badge", has_text=re.compile(r"^interpreted$")).count() == interpreted
    page.goto("/cancer?per_page=25")
    expect(page.get_by_role("navigation", name="Pages of cases").first).to_contain_text(re.compile(r"1–25 of \d+ cases"))


def test_samples_show_p_numbers_and_coloured_states(page_as) -> None:
    page = page_as("lab")
    page.goto("/samples?state=qc_failed")
    row = page.locator("tbody tr").first
    assert re.fullmatch(r"P\d{8}", row.locator("td").nth(3).inner_text())
    expect(row.locator(".badge")).to_have_class(re.compile(r"\bbad\b"))
    assert _query(page)["state"] == ["qc_failed"]


def test_shipments_genomes_and_curation_lists_filter_and_sort_in_the_url(page_as, axe) -> None:
    page = page_as("lab")
    page.goto("/samples/shipments")
    search = page.get_by_role("search", name="Find shipments")
    search.get_by_label("Status").select_option("shipped")
    search.get_by_role("button", name="Search").click()
    assert _query(page)["status"] == ["shipped"]
    statuses = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert statuses and set(statuses) == {"Shipped"}
    page.get_by_role("link", name=re.compile("^Reference")).click()
    assert _query(page)["sort"] == ["reference"] and _query(page)["status"] == ["shipped"]
    expect(page.get_by_role("columnheader", name=re.compile("^Reference"))).to_have_attribute("aria-sort", "ascending")
    axe(page)

    page = page_as("scientist")
    page.goto("/genomes?arm=rare_disease")
    page.get_by_role("link", name=re.compile("^Datasets")).click()
    assert _query(page)["sort"] == ["datasets"] and _query(page)["arm"] == ["rare_disease"]
    arms = set(page.locator("tbody tr td:nth-child(3)").all_inner_texts())
    assert arms == {"Rare disease"}
    proband = page.locator("tbody tr").first.get_by_role("link").nth(1)
    assert re.fullmatch(r"P\d{8}", proband.inner_text())
    axe(page)
    page.goto("/cancer/curation?status=live")
    items = page.locator("#items ~ .table-scroll tbody tr")
    assert items.count() >= 1
    assert set(page.locator("#items ~ .table-scroll tbody tr td:nth-child(3)").all_inner_texts()) == {"live"}
    axe(page)


def test_case_pages_link_participant_review_report_and_genomes(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/rare")
    case_link = page.locator("tbody tr").filter(has_text="ANKRD11").first.get_by_role("link").first
    case_id = case_link.inner_text()
    page.goto(case_link.get_attribute("href"))
    page.locator("#case-links").get_by_role("link", name="Case review and report").click()
    page.wait_for_url(re.compile(f"/reports/cases/{case_id}$"))
    assert page.get_by_role("heading", level=1).inner_text() == f"Case review: {case_id}"
    proband = page.locator("#case-state a[href^='/participants/']").first
    participant_id = proband.inner_text()
    assert re.fullmatch(r"P\d{8}", participant_id)
    page.locator("#case-state").get_by_role("link", name="interpretation").click()
    page.wait_for_url(re.compile(f"/cases/{case_id}/interpretation$"))
    page.get_by_role("link", name=participant_id).first.click()
    page.wait_for_url(re.compile(f"/participants/{participant_id}$"))
    assert page.get_by_role("link", name=case_id).first.is_visible()  # and back from the participant to the case
    page.goto("/cancer?interpreted=yes")
    board = page.locator("tbody tr").first.get_by_role("link").first
    board_id = board.inner_text()
    board.click()
    page.locator("#case-links").get_by_role("link", name="Genome data and QC").click()
    page.wait_for_url(re.compile(f"/genomes/cases/{board_id}$"))
    axe(page)


def test_case_review_and_mdt_lists_page_sort_and_filter_in_the_url(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/reports")
    heading = page.get_by_role("heading", name=re.compile(r"^All cases \(\d+\)$")).inner_text()
    total = int(re.search(r"\((\d+)\)", heading).group(1))
    pager = page.get_by_role("navigation", name="Pages of cases").first
    expect(pager).to_contain_text(f"of {total:,} cases")
    page.get_by_role("navigation", name="Worklists").get_by_role("link", name=re.compile(r"^Awaiting review")).click()
    assert _query(page)["list"] == ["awaiting_review"]
    page.get_by_label("Arm").select_option("rare_disease")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile("programme_arm=rare_disease"))
    assert _query(page)["list"] == ["awaiting_review"]
    assert set(page.locator("#cases-table tbody tr td:nth-child(2)").all_inner_texts()) == {"rare disease"}
    assert set(page.locator("#cases-table tbody tr td:nth-child(4) .badge").all_inner_texts()) == {"awaiting review"}
    page.get_by_role("link", name=re.compile("^Due")).click()  # due soonest first is the default: now latest first
    assert _query(page)["sort"] == ["due"] and _query(page)["dir"] == ["desc"]
    expect(page.get_by_role("columnheader", name=re.compile("^Due"))).to_have_attribute("aria-sort", "descending")
    assert _query(page)["programme_arm"] == ["rare_disease"]  # the filter survives the sort
    axe(page)

    page.goto("/mdt")
    meetings = page.locator("#meetings-table tbody tr a")
    assert meetings.count() >= 1
    meeting_id = page.locator("#meetings-table tbody tr .muted").first.inner_text()
    page.get_by_label("Find a meeting or attendee").fill(meeting_id)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(f"q={meeting_id}"))
    assert page.locator("#meetings-table tbody tr").count() == 1
    expect(page.get_by_role("navigation", name="Pages of meetings").first).to_contain_text("1–1 of 1 meetings")
    axe(page)
