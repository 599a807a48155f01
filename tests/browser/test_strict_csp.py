"""Pages whose script and style moved out of the templates for the strict Content-Security-Policy still behave:
HPO capture's down arrow reaches the results, the shipment manifest prints, and a sample page draws its
DataMatrix (the scanning station has its own walk in test_lab.py). A CSP violation is a console error, which
fails the test."""

from __future__ import annotations


def test_pages_run_under_the_strict_policy(page_as, axe) -> None:
    page = page_as("lab")
    response = page.goto("/samples/scan")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy

    page.goto("/samples")
    page.locator("table a[href^='/samples/']").first.click()
    page.locator(".datamatrix svg").wait_for()
    assert page.locator(".datamatrix svg").get_attribute("style") is None  # the library's inline style is dropped
    axe(page)

    page.goto("/samples/shipments")
    page.locator("table a[href^='/samples/shipments/']").first.click()
    page.get_by_role("link", name="Printable manifest").click()
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("table").evaluate("e => getComputedStyle(e).borderCollapse") == "collapse"  # print.css
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("() => window.printed") == 1


def test_hpo_capture_down_arrow_reaches_the_results(page_as) -> None:
    page = page_as("clinician")
    page.goto("/phenotype")
    # a navigation's wait (60 s): on a server whose HPO caches are cold, the first capture page builds them
    page.goto(page.locator("table a[href^='/phenotype/participants/']").first.get_attribute("href"))
    search = page.get_by_label("Search HPO (label, synonym or id)")
    search.press_sequentially("seizure")
    page.locator("#hpo-results input[name=hpo_id]:checked").wait_for()
    search.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.name") == "hpo_id"
