"""First walks: every demo role signs in and sees its home page; charts draw; the API docs work offline."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest

from gmc.demo.service import DEMO_USERS


@pytest.mark.parametrize("user", DEMO_USERS, ids=lambda u: u.username)
def test_each_demo_role_signs_in_and_sees_its_home_page(page_as, axe, user) -> None:
    page = page_as(user.username)
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome, {user.full_name}"
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").is_visible()
    axe(page)
#: How long Swagger UI and ReDoc may take to draw the API (ms): they lay out the whole OpenAPI document at once.
DOCS_RENDER_TIMEOUT = 90_000


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
