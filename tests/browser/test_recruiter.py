"""A recruiter registers a child, refers them, and consents them on the form that fits: by keyboard and pointer."""

from __future__ import annotations

import re
import secrets
from datetime import date

from playwright.sync_api import expect

from gmc.registry.consent_fit import age_on


def test_register_refer_and_consent_a_child(page_as, axe, browser_problems) -> None:
    # The refused consent comes back with its real status (422): Chromium logs that page load as an error.
    browser_problems.allow(r"status of 422")
    page = page_as("recruiter")
    family = "Browserwalk" + secrets.token_hex(3).upper()
    born = date(date.today().year - 10, 3, 14)
    page.goto("/participants/new")
    page.get_by_label("Registering trust").select_option("RQ3")
    page.get_by_label("Hospital number at this trust").fill("BW" + secrets.token_hex(3))
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Postcode").fill("B15 2TT")
    page.get_by_label("Postcode").press("Enter")
    page.wait_for_url(re.compile(r"/participants/P\d+"))
    participant_id = re.search(r"/participants/(P\d+)", page.url).group(1)
    axe(page)

    page.get_by_text("Add a referral").click()
    page.get_by_label("Referring clinician").fill("Dr Browser")
    page.get_by_label("Referral date").fill(date.today().isoformat())
    page.get_by_label("Programme arm").select_option("rare_disease")
    page.get_by_label("Clinical indication").fill("Intellectual disability")
    page.get_by_label("Family structure").select_option("trio")
    page.get_by_label("Prior standard NHS genetic tests completed").check()
    page.get_by_role("button", name="Record referral").click()
    expect(page.get_by_role("status")).to_contain_text("Referral recorded")
    cases = page.locator(".card", has=page.get_by_role("heading", name="Genomic cases"))
    expect(cases).to_contain_text("No case yet")  # eligible, but no case before consent

    # The child's form is offered first; the adult form is refused for a ten-year-old.
    page.locator("summary", has_text="Record consent").click()
    form = page.get_by_label("Form", exact=True)
    assert form.input_value() == "RD-CHILD|3.0"
    form.select_option("RD-ADULT|3.0")
    page.get_by_label("Date", exact=True).fill(date.today().isoformat())
    page.get_by_label("Consent given by").select_option("participant")
    for legend in ("Taking part", "Research use of data", "Research use of samples", "Additional findings",
                   "Re-contact"):
        page.get_by_role("group", name=legend).get_by_label("yes").check()
    page.get_by_label("The young person's assent").select_option("assented")
    page.get_by_role("button", name="Record consent").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"RD-ADULT v3.0 is an adult form, but the participant is {age_on(born, date.today())}: under 16, a parent or "
        "guardian consents on a child form")
    expect(page.locator("#consent-status")).to_have_text("no consent")

    page.get_by_label("Form", exact=True).select_option("RD-CHILD|3.0")
    page.get_by_label("Date", exact=True).fill(date.today().isoformat())
    page.get_by_label("Consent given by").select_option("parent_guardian")
    page.get_by_label("Name of parent, guardian or consultee").fill(f"Grace {family}")
    page.get_by_label("The young person's assent").select_option("assented")
    for legend in ("Taking part", "Research use of data", "Research use of samples", "Additional findings",
                   "Re-contact"):
        page.get_by_role("group", name=legend).get_by_label("yes").check()
    page.get_by_role("button", name="Record consent").click()
    expect(page.get_by_role("status")).to_contain_text("Consent recorded")
    expect(page.locator("#consent-status")).to_have_text("consented")
    expect(cases).to_contain_text(re.compile(r"C\d{8}"))  # the case opened once consent was valid
    expect(page.locator(".timeline")).to_contain_text("recorded consent: Consent id:")  # a sentence, not JSON
    expect(page.locator(".timeline")).to_contain_text("Given by: a parent or guardian; Choices: Taking part: Yes")
    assert participant_id in page.url
