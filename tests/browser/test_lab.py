"""The lab's day at the scanning station, driven by keystrokes as a keyboard-wedge scanner sends them."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def _scan(page, code: str) -> None:
    """What a wedge scanner does: types the barcode into the focused field and presses Enter."""
    assert page.evaluate("() => document.activeElement.id") == "barcode", "the scan field must have the focus"
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _latest(page, count: int):
    """The newest result once `count` results are listed."""
    expect(page.locator("#scan-results > li")).to_have_count(count)
    return page.locator("#scan-results > li").first


def test_receive_extract_qc_and_ship_with_a_scanner_and_enter(page_as, axe) -> None:
    page = page_as("lab")
    page.goto("/samples/shipments")
    new_shipment = page.locator("form", has=page.get_by_role("heading", name="New shipment"))
    new_shipment.get_by_label("To").fill("Sequencing provider (browser walk)")
    new_shipment.get_by_label("To").press("Enter")
    page.wait_for_url(re.compile(r"/samples/shipments/SHP-"))
    reference = page.url.rsplit("/", 1)[1]

    page.goto("/samples/scan")
    axe(page)
    # Two tubes scanned back to back: the second is typed before the first answer arrives; both land, in order.
    _scan(page, "DEMO-B001")
    _scan(page, "DEMO-B002")
    latest = _latest(page, 2)
    expect(latest).to_contain_text("DEMO-B002: received. Now Received.")
    expect(page.locator("#scan-results > li").nth(1)).to_contain_text("DEMO-B001: received")
    expect(page.locator("#scan-announce")).to_have_text(re.compile(r"^DEMO-B002: received"))
    assert page.locator("#barcode").input_value() == ""

    # A wrong tube is refused, said out loud, and changes nothing.
    _scan(page, "NOPE-0001")
    expect(_latest(page, 3)).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#scan-announce")).to_contain_text("Nothing was changed")

    # Extraction: the method and kit lot stay for the batch; scan the blood, then the new DNA tube.
    page.get_by_label("Action", exact=True).select_option("extract")
    page.get_by_label("Extraction method").fill("QIAsymphony DSP DNA Midi")
    page.get_by_label("Kit lot").fill("LOT-BROWSER-1")
    page.locator("#barcode").focus()
    _scan(page, "DEMO-B001")
    expect(_latest(page, 4)).to_contain_text("now scan the new DNA tube")
    expect(page.locator("label[for=barcode]")).to_have_text("New tube barcode for DEMO-B001")
    _scan(page, "DNA-BROWSER-0001")
    expect(_latest(page, 5)).to_contain_text("DNA-BROWSER-0001: DNA extracted from DEMO-B001. Now Extracted")

    # QC: type the values, scan the tube; the values clear for the next tube.
    page.get_by_label("Action", exact=True).select_option("qc")
    for label, value in (("Concentration", "48"), ("Volume", "100"), ("A260/280", "1.86"), ("DIN", "8.1")):
        page.get_by_label(re.compile(f"^{re.escape(label)} ")).fill(value)
    page.locator("#barcode").focus()
    _scan(page, "DNA-BROWSER-0001")
    expect(_latest(page, 6)).to_contain_text("QC passed. Now QC passed")
    expect(page.get_by_label(re.compile("^Concentration "))).to_have_value("")

    # Onto the manifest, then ship it by scanning the shipment's reference.
    page.get_by_label("Action", exact=True).select_option("add_to_shipment")
    page.get_by_label("Shipment reference").fill(reference)
    page.locator("#barcode").focus()
    _scan(page, "DNA-BROWSER-0001")
    expect(_latest(page, 7)).to_contain_text(f"added to shipment {reference} (1 on the manifest)")
    page.get_by_label("Action", exact=True).select_option("ship")
    _scan(page, reference)
    expect(_latest(page, 8)).to_contain_text(f"Shipment {reference} shipped with 1 samples")

    page.get_by_role("link", name="Open DNA-BROWSER-0001").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dispatched for sequencing")


def test_scanning_station_without_javascript_redirects_back(page_as) -> None:
    page = page_as("lab", java_script_enabled=False)
    page.goto("/samples/scan")
    page.get_by_label("Barcode", exact=True).fill("NOPE-0002")
    page.get_by_label("Barcode", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"/samples/scan\?action=receive$"))
    expect(page.get_by_role("status")).to_contain_text("NOPE-0002: unknown barcode NOPE-0002")
    page.reload()
    expect(page.get_by_role("status")).to_have_count(0)


def test_destruction_asks_first_and_the_page_after_is_safe_to_reload(page_as) -> None:
    page = page_as("lab")
    page.goto("/samples/DEMO-B950")  # withdrawn from all further use: on the destruction list
    page.locator("#d_method").fill("incineration")
    page.locator("#d_reason").fill("participant withdrew: no further use")
    questions = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Record destruction").click()
    assert questions == ["Record that DEMO-B950 was destroyed? This cannot be undone."]
    expect(page.get_by_role("heading", level=1)).to_contain_text("Received")  # nothing happened
    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Record destruction").click()
    expect(page.get_by_role("status")).to_contain_text("Destruction recorded")
    assert page.url.endswith("/samples/DEMO-B950")  # redirected after the post
    expect(page.get_by_role("heading", level=1)).to_contain_text("Destroyed")
    page.reload()  # a refresh repeats nothing and shows the message no more
    expect(page.get_by_role("status")).to_have_count(0)
