"""Walks of the role home pages' worklists from reporting, research and the programme: each count matches the page
behind it, each item opens its record, and work one role does shows up on the next role's home page."""

from __future__ import annotations

import re


def _card(page, title: str):
    """The home page's worklist with this title."""
    return page.locator(".worklist", has=page.locator(".wl-title", has_text=re.compile(f"^{re.escape(title)}$")))


def _count(page, title: str) -> int:
    return int(_card(page, title).locator(".count").inner_text().replace(",", ""))


def _heading_count(page, heading: str) -> int:
    """N from a section heading such as "Awaiting my check (N)"."""
    text = page.get_by_role("heading", name=re.compile(f"^{re.escape(heading)} \\(\\d+\\)$")).inner_text()
    return int(re.search(r"\((\d+)\)$", text).group(1))


def test_checker_sees_reports_awaiting_their_check_and_opens_one(page_as, axe) -> None:
    page = page_as("checker")
    page.goto("/")
    waiting = _count(page, "Awaiting my check")
    overdue = _count(page, "Overdue reports")
    axe(page)
    page.goto("/reports?list=awaiting_my_check")
    assert _heading_count(page, "Awaiting my check") == waiting >= 1  # the demo has a report waiting for a checker
    assert _pager_total(page) == waiting  # the list behind the count, on the server's pages
    page.goto("/reports?list=overdue")
    assert _heading_count(page, "Overdue") == overdue == _pager_total(page)
    page.goto("/")
    item = _card(page, "Awaiting my check").locator("li a").first
    case_id = item.inner_text()
    item.click()
    page.wait_for_url(re.compile(f"/reports/cases/{case_id}$"))
    assert case_id in page.get_by_role("heading", level=1).inner_text()


def test_clinician_home_lists_new_results_first(page_as, axe) -> None:
    page = page_as("clinician")
    page.goto("/")
    titles = page.locator(".worklist .wl-title").all_inner_texts()
    assert titles.index("New results") < titles.index("Referrals awaiting consent")
    new = _count(page, "New results")
    axe(page)
    page.goto("/reports/new")
    assert _heading_count(page, "Not yet given to the patient") == new >= 1 and _pager_total(page) == new
    page.get_by_role("navigation", name="Results").get_by_role("link", name=re.compile("^Given to the patient")).click()
    page.wait_for_url(re.compile(r"told=yes"))
    assert _heading_count(page, "Given to the patient") == _pager_total(page)
    axe(page)
    page.goto("/")
    item = _card(page, "New results").locator("li a").first
    report_id = item.inner_text().split()[0]
    item.click()
    page.wait_for_url(re.compile(f"/reports/{report_id}$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Genomic test report"
    assert report_id in page.locator("main").inner_text()


def test_research_requests_reach_the_data_access_home(page_as, axe) -> None:
    approver = page_as("dataaccess")
    approver.goto("/")
    projects_before = _count(approver, "Research projects awaiting a decision")
    releases_before = _count(approver, "Data releases awaiting a decision")

    researcher = page_as("researcher")
    researcher.goto("/")
    open_before = _count(researcher, "Your release requests in progress")
    # A project proposal and a release request from the researcher's pages ...
    researcher.goto("/research")
    researcher.get_by_label("Title").fill("Seizure onset age in SCN1A carriers")
    researcher.get_by_label("Purpose of the research").fill(
        "Whether the age at first seizure differs between truncating and missense SCN1A variants.")
    researcher.get_by_role("button", name="Propose").click()
    researcher.wait_for_url(re.compile(r"/research/projects/RP\d+$"))
    project_id = researcher.url.rsplit("/", 1)[1]
    researcher.goto("/research/projects?status=approved")  # an approved project's first cohort
    researcher.locator("#projects-table tbody tr").locator("a[href^='/research/projects/']").first.click()
    researcher.locator("a[href^='/research/cohorts/RC']").first.click()
    researcher.get_by_label("Purpose of this release").fill(
        "Phenotype tables of the cohort for the genotype-phenotype analysis agreed in the project.")
    researcher.get_by_role("button", name="Request release").click()
    researcher.wait_for_url(re.compile(r"/research/releases/RR\d+(\?|$)"))
    release_id = re.search(r"/research/releases/(RR\d+)", researcher.url).group(1)
    # ... are the researcher's open requests ...
    researcher.goto("/")
    assert _count(researcher, "Your release requests in progress") == open_before + 1
    researcher.goto("/research/releases?open=yes")  # the list behind the count
    assert _pager_total(researcher) == open_before + 1
    researcher.goto("/")
    assert _card(researcher, "Your release requests in progress").get_by_role("link", name=release_id).is_visible()
    axe(researcher)
    # ... and the data-access role's decisions to make, each opening its record.
    approver.goto("/")
    assert _count(approver, "Research projects awaiting a decision") == projects_before + 1
    assert _count(approver, "Data releases awaiting a decision") == releases_before + 1
    approver.goto("/research/access?kind=project")
    assert _pager_total(approver) == projects_before + 1
    approver.goto("/research/access?kind=release")
    assert _pager_total(approver) == releases_before + 1
    approver.goto("/")
    axe(approver)
    _card(approver, "Research projects awaiting a decision").get_by_role("link", name=project_id).click()
    approver.wait_for_url(re.compile(f"/research/projects/{project_id}$"))
    approver.goto("/")
    _card(approver, "Data releases awaiting a decision").get_by_role("link", name=release_id).click()
    approver.wait_for_url(re.compile(f"/research/releases/{release_id}$"))
    assert approver.get_by_role("heading", level=1).inner_text() == f"Release {release_id}"


def test_programme_home_shows_genomes_against_the_target(page_as, axe) -> None:
    page = page_as("programme")
    page.goto("/")
    genomes = _count(page, "Genomes against the target")
    card = _card(page, "Genomes against the target")
    centres = card.locator("li a[href*='centre=']")
    assert centres.count() >= 2  # every centre against its own target
    axe(page)
    card.get_by_role("link", name="Open the dashboard").click()
    page.wait_for_url(re.compile(r"/programme$"))
    tiles = " ".join(page.locator(".tile").all_inner_texts())
    assert f"{genomes:,} genomes received" in tiles
    page.goto("/")
    card.locator("li a[href*='centre=WMGMC']").click()
    page.wait_for_url(re.compile(r"centre=WMGMC"))
    assert "West Midlands" in page.get_by_role("heading", level=1).inner_text()


def _pager_total(page) -> int:
    """N from the list's pager ("1–50 of N cases"), 0 when it says none."""
    text = page.locator("nav.pager").first.inner_text()
    found = re.search(r"of ([\d,]+) ", text)
    return int(found.group(1).replace(",", "")) if found else 0


def test_rare_cases_to_review_count_is_the_list_behind_it(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/")
    waiting = _count(page, "Rare-disease cases to review")
    first = _card(page, "Rare-disease cases to review").locator("li a").first.inner_text()
    page.goto("/rare?todo=review")
    assert _pager_total(page) == waiting >= 1
    assert page.get_by_label("Work").input_value() == "review"
    page.get_by_label("Case, participant, indication or gene").fill(first)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(f"q={first}"))
    assert "todo=review" in page.url and _pager_total(page) == 1  # the filters travel together in the URL
    # No case the list calls reported or closed is counted as waiting.
    page.goto("/rare?todo=review&per_page=200")
    statuses = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert not [s for s in statuses if s.strip().lower() in ("reported", "closed")]
    axe(page)


def test_tumour_boards_ready_count_is_the_list_behind_it(page_as) -> None:
    page = page_as("scientist")
    page.goto("/")
    ready = _count(page, "Tumour boards ready")
    page.goto("/cancer?todo=board&per_page=200")
    assert _pager_total(page) == ready >= 1
    statuses = page.locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert not [s for s in statuses if s.strip().lower() in ("reported", "closed")]  # a reported case's board is over
