"""WCAG 2.2 AA on the main pages (axe-core) and pages reachable by keyboard alone."""

from __future__ import annotations

import pytest

#: The main pages, each opened by a role whose work it is.
MAIN_PAGES = [
    ("recruiter", "/participants"), ("recruiter", "/participants/new"), ("recruiter", "/duplicates"),
    ("recruiter", "/reconsent"), ("recruiter", "/eligibility"), ("recruiter", "/phenotype"),
    ("lab", "/samples"), ("lab", "/samples/storage"), ("lab", "/samples/shipments"), ("lab", "/samples/worklists"),
    ("lab", "/samples/turnaround"), ("lab", "/samples/DEMO-D006"), ("lab", "/samples/shipments/DEMO-SHP-SEQ-1"),
    ("scientist", "/genomes"), ("scientist", "/rare"), ("scientist", "/cancer"), ("scientist", "/cancer/knowledge"),
    ("scientist", "/cancer/curation"), ("admin", "/admin/users"), ("admin", "/admin/audit"),
    ("admin", "/organisations"), ("clinician", "/account/tokens"),
]

#: Reporting and research pages (forms with many fields): axe, and every field labelled by a label element or ARIA.
FORM_PAGES = [
    ("scientist", "/reports"), ("scientist", "/mdt"), ("clinician", "/reports/new"), ("admin", "/reports"),
    ("researcher", "/research"), ("researcher", "/research/projects"), ("researcher", "/research/cohorts"),
    ("researcher", "/research/releases"), ("researcher", "/research/cohorts/new"), ("dataaccess", "/research/access"),
]
#: From a list, the first record's page: (role, list, link in its table).
FORM_RECORDS = [
    ("scientist", "/reports?list=awaiting_review", "#cases-table tbody tr a"),
    ("scientist", "/mdt", "#meetings-table tbody tr a"), ("clinician", "/reports/new", "#new-results-table tbody tr a"),
    ("researcher", "/research/projects", "#projects-table tbody tr a"),
    ("researcher", "/research/cohorts", "#cohorts-table tbody tr a"),
    ("researcher", "/research/releases", "#releases-table tbody tr a"),
    ("dataaccess", "/research/projects", "#projects-table tbody tr a"),
]
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""


def _labelled(page) -> None:
    """Every form field of the page has a label element (or an ARIA label), not just a placeholder."""
    assert page.evaluate(_UNLABELLED) == []


@pytest.mark.parametrize(("role", "path"), MAIN_PAGES, ids=[p for _, p in MAIN_PAGES])
def test_main_page_meets_wcag_22_aa(page_as, axe, role: str, path: str) -> None:
    page = page_as(role)
    page.goto(path)
    axe(page)


@pytest.mark.parametrize(("role", "path"), FORM_PAGES, ids=[f"{r}:{p}" for r, p in FORM_PAGES])
def test_reporting_and_research_pages_label_every_field(page_as, axe, role: str, path: str) -> None:
    page = page_as(role)
    page.goto(path)
    _labelled(page)
    axe(page)


@pytest.mark.parametrize(("role", "path", "link"), FORM_RECORDS, ids=[f"{r}:{p}" for r, p, _ in FORM_RECORDS])
def test_reporting_and_research_records_label_every_field(page_as, axe, role: str, path: str, link: str) -> None:
    page = page_as(role)
    page.goto(path)
    with page.expect_navigation():
        page.locator(link).first.click()
    _labelled(page)
    axe(page)


@pytest.mark.parametrize("which", ["participant", "rare case", "tumour board"])
def test_record_pages_meet_wcag_22_aa(page_as, axe, which: str) -> None:
    page = page_as("scientist")
    if which == "participant":
        page.goto("/participants?consent=active")
    elif which == "rare case":
        page.goto("/rare?run=done")
    else:
        page.goto("/cancer?interpreted=yes")
    page.locator("tbody tr").first.get_by_role("link").first.click()
    axe(page)


def test_keyboard_alone_reaches_a_participant_from_home(page_as) -> None:
    page = page_as("recruiter")
    page.goto("/")
    for _ in range(40):  # tab through the menu to the participant list
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Participants":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/participants")
    focused = ""
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.getAttribute('href') || ''")
        if focused.startswith("/participants/P"):
            break
    assert focused.startswith("/participants/P")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + focused)
    assert focused.rsplit("/", 1)[1] in page.get_by_role("heading", level=1).inner_text()
