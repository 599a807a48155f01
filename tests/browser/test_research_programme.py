"""Walks of the research and programme pages on the demo server: the cohort builder's count and chart, the demo
release with its files and checksums, the data-access queue, and the programme dashboard's charts."""

from __future__ import annotations

import re


def test_researcher_counts_seizures_with_scn1a_and_sees_the_chart(page_as, axe) -> None:
    page = page_as("researcher")
    page.goto("/research")
    assert page.get_by_role("heading", level=1).inner_text() == "Research"
    axe(page)
    page.get_by_role("link", name=re.compile(r"^Projects \(\d+\)$")).click()
    page.wait_for_url(re.compile(r"/research/projects$"))
    assert page.get_by_role("link", name="RP0001").is_visible()
    page.get_by_label("Status").select_option("approved")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=approved"))
    assert set(page.locator("#projects-table tbody tr td:nth-child(4)").all_inner_texts()) == {"approved"}
    axe(page)
    page.goto("/research/releases")
    page.get_by_role("link", name=re.compile("^Participants")).click()
    page.wait_for_url(re.compile(r"sort=participants"))
    assert page.get_by_role("link", name="RR0001").is_visible()
    axe(page)
    page.goto("/research/cohorts")
    assert page.locator("#cohorts-table tbody tr").first.get_by_role("link").first.inner_text().startswith("RC")
    axe(page)
    page.goto("/research")
    page.get_by_role("link", name="Cohort builder").click()
    page.get_by_label("HPO terms observed").fill("HP:0001250")
    page.get_by_label("Genes with a qualifying variant").fill("SCN1A")
    page.get_by_label("Find HPO terms").fill("seizure")
    page.locator("#hpo-found li").first.wait_for()
    assert "HP:0001250" in page.locator("#hpo-found").inner_text()
    page.get_by_role("button", name="Count").click()
    result = page.locator("#count .count")
    result.wait_for()
    count = re.match(r"(\S+) participants", result.inner_text()).group(1)
    assert count == "<10" or int(count) >= 10
    page.locator("#count canvas[data-drawn]").first.wait_for()
    axe(page)


def test_release_page_lists_files_with_checksums(page_as, axe) -> None:
    page = page_as("researcher")
    page.goto("/research/releases/RR0001")
    assert page.get_by_role("heading", level=1).inner_text() == "Release RR0001"
    table = page.locator("table").last
    assert table.get_by_role("link", name="participants.csv").is_visible()
    assert re.fullmatch(r"[0-9a-f]{64}", table.locator("code").first.inner_text())
    axe(page)


def test_data_access_queue(page_as, axe) -> None:
    page = page_as("dataaccess")
    page.goto("/research/access")
    assert page.get_by_role("heading", level=1).inner_text() == "Data access decisions"
    assert page.get_by_role("heading", name=re.compile(r"^Requests awaiting a decision")).is_visible()
    assert page.get_by_role("navigation", name="Pages of requests").first.is_visible()
    axe(page)
    page.get_by_role("link", name="All releases").click()
    page.wait_for_url(re.compile(r"/research/releases$"))
    assert page.get_by_role("link", name="RR0001").first.is_visible()


def test_programme_dashboard_draws_recruitment_against_the_target(page_as, axe) -> None:
    page = page_as("programme")
    page.goto("/programme")
    assert page.get_by_role("heading", level=1).inner_text() == "National programme"
    page.locator("figure.chart canvas[data-drawn]").first.wait_for()
    axe(page)
    # Reports released by the reporting demo: counted, with the diagnostic yield by arm drawn and tabled.
    tiles = page.locator(".tile").all_inner_texts()
    issued = next(t for t in tiles if t.endswith("reports issued"))
    assert int(issued.split()[0].replace(",", "")) > 0
    assert any("diagnostic yield" in t and "%" in t for t in tiles)
    figure = page.locator("#chart-diagnostic-yield")
    figure.locator("canvas[data-drawn]").wait_for()
    figure.get_by_text("Data table").click()
    assert [row.locator("th").inner_text() for row in figure.locator("table tbody tr").all()] == [
        "Rare disease", "Cancer", "All"]
    page.get_by_label("View").select_option("WMGMC")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"centre=WMGMC"))
    figure = page.locator("#chart-recruitment-by-trust")
    figure.locator("canvas[data-drawn]").wait_for()
    figure.get_by_text("Data table").click()
    assert len(figure.locator("table tbody tr").all()) == 18
    assert "18,000" in page.locator(".tile").all_inner_texts()[2]
    axe(page)
