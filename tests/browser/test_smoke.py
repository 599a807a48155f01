"""First walks: every demo role signs in and sees its home page; charts draw; the API docs work offline."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest

from gmc.demo.service import DEMO_USERS

#: The worklists each role finds on its home page, in order (reporting's first: the work closest to the patient).
_REPORTING = ["My cases", "Awaiting my check", "Overdue reports", "Flagged for amendment", "Awaiting MDT"]
_SCIENTIST = [*_REPORTING, "Rare-disease cases to review", "Tumour boards ready", "Evidence for a second curator"]
ROLE_WORKLISTS = {
    "admin": ["Possible duplicates to review"],
    "recruiter": ["Referrals awaiting consent", "Possible duplicates to review",
                  "Young people due to consent for themselves"],
    "sl-recruiter": ["Referrals awaiting consent", "Possible duplicates to review",
                     "Young people due to consent for themselves"],
    "lab": ["Samples to receive", "Overdue samples", "Shipments to fill or receive", "Samples to destroy",
            "Re-sample requests"],
    "scientist": _SCIENTIST,
    "checker": _SCIENTIST,
    "clinician": ["Awaiting MDT", "New results", "Referrals awaiting consent", "Tumour boards ready"],
    "programme": ["Genomes against the target"],
    "researcher": ["Withdrawn participants to delete from your releases", "Your release requests in progress"],
    "dataaccess": ["Research projects awaiting a decision", "Data releases awaiting a decision",
                   "Release builds that failed"],
}
#: How long Swagger UI and ReDoc may take to draw the API (ms): they lay out the whole OpenAPI document at once.
DOCS_RENDER_TIMEOUT = 90_000
#: Pages that belong in a role's menu bar, and pages that must not crowd it.
ROLE_MENU = {"lab": (["Scan", "Shipments"], ["Participants", "Case review"]),
             "clinician": (["Participants", "New results", "MDT"], ["Samples", "Scan", "Case review"]),
             "scientist": (["Rare disease", "Tumour boards", "Case review", "MDT"], ["Scan", "New results"]),
             "recruiter": (["Participants"], ["Scan"]), "programme": (["Programme"], ["Research", "Data access"]),
             "researcher": (["Research"], ["Data access", "Programme"]), "dataaccess": (["Data access"], ["Research"])}


@pytest.mark.parametrize("user", DEMO_USERS, ids=lambda u: u.username)
def test_each_demo_role_signs_in_and_sees_its_own_work(page_as, axe, user) -> None:
    page = page_as(user.username)
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome, {user.full_name}"
    titles = page.locator(".worklist .wl-title").all_inner_texts()
    assert titles == ROLE_WORKLISTS[user.username]
    for count in page.locator(".worklist .count").all_inner_texts():
        assert count.replace(",", "").isdigit()
    menu = page.get_by_role("navigation", name="Main")
    bar = [a.inner_text() for a in menu.locator(":scope > a").all()]
    assert bar[0] == "Home"
    wanted, unwanted = ROLE_MENU.get(user.username, ([], []))
    assert set(wanted) <= set(bar) and not set(unwanted) & set(bar), bar
    axe(page)


def test_lab_home_counts_match_the_lists_behind_them(page_as) -> None:
    page = page_as("lab")
    page.goto("/")
    card = page.locator(".worklist", has=page.get_by_role("heading", name="Samples to receive"))
    count = int(card.locator(".count").inner_text())
    assert count >= 2 and card.locator("li").count() == min(count, 5)
    card.locator("li a").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Sample ")


def test_small_screen_menu_folds_and_opens_by_keyboard(page_as, axe) -> None:
    page = page_as("clinician", viewport={"width": 390, "height": 844})
    page.goto("/")
    menu = page.get_by_role("navigation", name="Main")
    assert not menu.is_visible()
    assert page.get_by_role("heading", level=1).bounding_box()["y"] < 200  # the menu does not fill the screen
    toggle = page.get_by_role("button", name="Menu")
    toggle.focus()
    page.keyboard.press("Enter")
    assert menu.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    axe(page)


def test_skip_link_is_the_first_tab_stop(page_as) -> None:
    page = page_as("recruiter")
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"


def test_scanning_station_opens_ready_for_a_scan(page_as, axe) -> None:
    page = page_as("lab")
    page.goto("/samples/scan")
    assert page.get_by_role("heading", level=1).inner_text() == "Scanning station"
    assert page.evaluate("() => document.activeElement.id") == "barcode"
    axe(page)


def test_turnaround_charts_draw_with_table_and_csv(page_as) -> None:
    page = page_as("lab")
    page.goto("/samples/turnaround")
    figure = page.locator("figure.chart").first
    figure.locator("canvas[data-drawn]").wait_for()
    box = figure.locator("canvas").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    figure.get_by_text("Data table").click()
    header = figure.locator("table thead th").all_inner_texts()
    assert header == ["Trust", "days"]
    href = figure.get_by_role("link", name="Download CSV").get_attribute("href")
    rows = list(csv.reader(io.StringIO(unquote(href.split(",", 1)[1]))))
    shown = [[c.inner_text() for c in r.locator("th, td").all()] for r in figure.locator("table tbody tr").all()]
    assert rows[0] == ["Trust", "days"] and rows[1:] == shown and shown


def test_api_docs_render_offline(anonymous_page, browser_problems) -> None:
    # ReDoc's sidebar credit always asks its CDN for a logo; offline that fails and ReDoc hides the image.
    browser_problems.allow(r"https://cdn\.redoc\.ly/redoc/logo-mini\.svg")
    page = anonymous_page
    # Both viewers parse the whole OpenAPI document (hundreds of operations) in the page's one thread: on a
    # loaded machine that alone has taken longer than the suite's default 15 s wait, so these waits are longer.
    # What is checked is unchanged: every condition below still has to hold.
    page.goto("/docs", timeout=DOCS_RENDER_TIMEOUT)
    page.locator(".swagger-ui .info .title").wait_for(timeout=DOCS_RENDER_TIMEOUT)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("gmc")
    # Swagger UI renders its operation list virtually (only the rows in view exist in the page), so the check is
    # that it parsed every operation and that scrolling reaches the last tag's section with its operations.
    page.wait_for_function("n => window.ui && window.ui.specSelectors.operations().size > n", arg=50,
                           timeout=DOCS_RENDER_TIMEOUT)
    tags = page.evaluate("window.ui.specSelectors.taggedOperations().keySeq().toArray()")
    assert {"registry", "samples", "genomes"} <= set(tags)
    page.keyboard.press("End")
    page.mouse.wheel(0, 100_000)
    last = page.locator(f'h3.opblock-tag[data-tag="{tags[-1]}"]')
    last.wait_for(timeout=DOCS_RENDER_TIMEOUT)
    page.locator(".opblock").last.wait_for(timeout=DOCS_RENDER_TIMEOUT)  # rows are drawn, not only headings
    page.goto("/redoc", timeout=DOCS_RENDER_TIMEOUT)
    page.get_by_role("heading", name="gmc").first.wait_for(timeout=DOCS_RENDER_TIMEOUT)
    page.wait_for_function("n => document.querySelectorAll('[data-section-id]').length > n", arg=20,
                           timeout=DOCS_RENDER_TIMEOUT)
