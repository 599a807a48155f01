"""The reporting journey in a real browser, on the demo centre: review, classification, four eyes, MDT, the
clinician's new results with the PDF and the 'patient told' record, another trust's 404, FHIR, an amendment."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pypdf
from tests.browser.conftest import sign_in

from gmc.reporting import fhir

OTHER_CLINICIAN = ("other-clinician", "heron lantern quarry 41")


def _submit(page, form_selector: str, button: str) -> None:
    """Clicks a form's button and waits for the page that follows (a redirect back, or the page with an error)."""
    with page.expect_navigation():
        page.locator(form_selector).get_by_role("button", name=button).click()


def _noonan_case(page) -> str:
    """The demo case awaiting review (Noonan syndrome, PTPN11) from the scientist's worklist."""
    page.goto("/reports?list=awaiting_review&programme_arm=rare_disease")
    row = page.locator("#cases-table tbody tr").filter(has_text="rare disease").first
    return row.get_by_role("link").first.inner_text()


def test_the_whole_reporting_journey(page_as, anonymous_page, gmc_server, axe, browser_problems,
                                     tmp_path: Path) -> None:
    # A scientist picks the causal variant of an interpreted rare-disease case, classifies it and drafts the report.
    scientist = page_as("scientist")
    case_id = _noonan_case(scientist)
    scientist.goto(f"/reports/cases/{case_id}")
    axe(scientist)
    _submit(scientist, f"form[action='/reports/cases/{case_id}/review']", "Start review")
    assert scientist.locator("#state").inner_text() == "in review"
    row = scientist.locator("#candidates tr", has=scientist.locator("button.select-finding[data-gene='PTPN11']"))
    variant = row.locator("input[name='finding_key']").get_attribute("value")
    # Classify on the interpretation page: PM2 at supporting strength, with the reason.
    scientist.goto(f"/cases/{case_id}/interpretation?gene=PTPN11")
    block = scientist.locator(f"#v-{variant.replace(':', '-')}")
    block.locator("summary").first.click()
    form = block.locator("form[action$='/interpretation/acmg']")
    form.locator("select[name='code']").select_option("PM2")
    form.locator("select[name='strength']").select_option("supporting")
    form.locator("input[name='reason']").fill("absent from gnomAD v4.1, checked by hand")
    with scientist.expect_navigation():
        form.get_by_role("button", name="Override").click()
    scientist.goto(f"/reports/cases/{case_id}")
    with scientist.expect_navigation():
        scientist.locator("button.select-finding[data-gene='PTPN11']").click()
    finding = scientist.locator("#findings tr.finding[data-gene='PTPN11']")
    assert "PM2_Supporting" in finding.inner_text()
    scientist.get_by_label("Outcome").select_option("positive")
    scientist.get_by_label("Result summary in plain language (printed first)").fill(
        "A change in the PTPN11 gene explains Oliver's features: the diagnosis is Noonan syndrome.")
    scientist.get_by_label("Interpretation", exact=True).fill("Heterozygous PTPN11 missense variant.")
    scientist.get_by_label("Recommendations (cascade testing, management, referral)").fill("Parental testing.")
    _submit(scientist, "#draft form", "Save the report")
    scientist.get_by_label("Does the finding explain the phenotype?").select_option("full")
    scientist.get_by_label("Was the diagnosis made?").select_option("yes")
    _submit(scientist, "#exit form", "Save the answers")
    _submit(scientist, "#sign-off form", "Sign as author and send for checking")
    assert scientist.locator("#state").inner_text() == "awaiting check"
    assert scientist.locator("#authorise").count() == 0  # the author is not offered the check

    # A second scientist authorises it.
    checker = page_as("checker")
    checker.goto("/reports?list=awaiting_my_check")
    assert case_id in checker.locator("#cases-table").inner_text()
    checker.goto(f"/reports/cases/{case_id}")
    _submit(checker, "#sign-off", "Check and authorise")
    assert checker.locator("#state").inner_text() == "awaiting MDT"

    # The MDT outcome is recorded.
    scientist.goto("/mdt")
    scientist.get_by_label("Title").fill("Rare disease MDT (browser walk)")
    scientist.get_by_label("Attendees, one per line: Name (role)").fill("Dr L. Chen (clinical geneticist)\n"
                                                                         "Sam Scientist (scientist)")
    _submit(scientist, "form[action='/mdt']", "Create the meeting")
    meeting_url = scientist.url
    scientist.get_by_label("Case id").fill(case_id)
    _submit(scientist, "form[action$='/cases']", "Add to the meeting")
    card = scientist.locator(f"#case-{case_id}")
    card.get_by_label("Outcome").select_option("agreed")
    card.get_by_label("Minutes").fill("Agreed: likely pathogenic; parental testing.")
    with scientist.expect_navigation():
        card.get_by_role("button", name="Record the outcome").click()
    scientist.goto(f"/reports/cases/{case_id}")
    assert scientist.locator("#state").inner_text() == "reported"

    # The referring clinician sees it on their worklist, opens the PDF and records that the patient was told.
    clinician = page_as("clinician")
    clinician.goto("/reports/new")
    axe(clinician)
    link = clinician.locator("#new-results-table tr", has_text=case_id).get_by_role("link").first
    report_id = link.inner_text().split()[0]
    link.click()
    clinician.wait_for_url(f"**/reports/{report_id}")
    assert "PTPN11" in clinician.locator("#variant-table").inner_text()
    axe(clinician)
    with clinician.expect_download() as pdf_download:
        clinician.locator("#download-pdf").click()
    pdf_path = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf_path)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert "PTPN11" in text and "Chris Checker" in text and "Sam Scientist" in text
    clinician.get_by_label("Told by").fill("Dr L. Chen")
    clinician.get_by_label("How").select_option("clinic")
    _submit(clinician, "#delivery form", "Record that the patient was told")
    assert "told" in clinician.locator("#delivery").inner_text()
    # The FHIR bundle validates.
    with clinician.expect_download() as fhir_download:
        clinician.locator("#download-fhir").click()
    bundle = json.loads(Path(fhir_download.value.path()).read_text())
    assert fhir.validate(bundle)["entry"][0]["resource"]["status"] == "final"

    # A clinician of another trust gets 404.
    subprocess.run([str(Path(sys.executable).with_name("gmc")), "users", "create", OTHER_CLINICIAN[0], "--role",
                    "clinician", "--trust", "RKB", "--password-stdin"], input=OTHER_CLINICIAN[1] + "\n", text=True,
                   check=True, env={"GMC_DATABASE_URL": gmc_server.database_url, "GMC_ENVIRONMENT": "test",
                                    "PATH": "/usr/bin:/bin"}, capture_output=True)
    sign_in(anonymous_page, *OTHER_CLINICIAN)
    browser_problems.allow(rf"/reports/{report_id}: Failed to load resource: the server responded with a status of 404")
    response = anonymous_page.goto(f"/reports/{report_id}")
    assert response.status == 404

    # An amendment keeps both versions.
    scientist.goto(f"/reports/cases/{case_id}")
    scientist.get_by_label("Amend the released report: why").fill("Parental testing: de novo confirmed")
    _submit(scientist, "#after-release form:has(#amend)", "Open an amendment")
    _submit(scientist, f"form[action='/reports/cases/{case_id}/review']", "Start review")
    scientist.get_by_label("Interpretation", exact=True).fill("De novo PTPN11 missense variant: pathogenic.")
    _submit(scientist, "#draft form", "Save the report")
    _submit(scientist, "#sign-off form", "Sign as author and send for checking")
    checker.goto(f"/reports/cases/{case_id}")
    _submit(checker, "#sign-off", "Check and authorise")
    scientist.goto(meeting_url)
    card = scientist.locator(f"#case-{case_id}")
    card.get_by_label("Outcome").select_option("agreed")
    with scientist.expect_navigation():
        card.get_by_role("button", name="Record the outcome").click()
    clinician.goto(f"/reports/{report_id}")
    versions = clinician.locator("#report-actions").inner_text()
    assert "v2 (released, current, amended)" in versions and "v1 (superseded)" in versions
    assert "Amended report: replaces version 1" in clinician.locator("#amendment").inner_text()
    clinician.goto(f"/reports/{report_id}?version=1")
    assert "superseded" in clinician.locator("#superseded").inner_text()
    assert date.today().isoformat() in clinician.locator("#delivery").inner_text()

