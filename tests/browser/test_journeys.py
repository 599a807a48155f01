"""The other roles' main journeys: capture HPO terms, review a rare-disease case, open a tumour board."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

#: Terms the capture walk may add, each with the label that finds it as the top hit.
NEW_TERMS = [("HP:0004322", "short stature"), ("HP:0001250", "seizure"), ("HP:0001166", "arachnodactyly"),
             ("HP:0000508", "ptosis")]


def test_recruiter_captures_hpo_terms_by_keyboard(page_as, axe) -> None:
    page = page_as("recruiter")
    page.goto("/phenotype")
    page.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/phenotype/participants/P\d{8}$"))
    # A term this participant's profile lacks (demo profiles come from published cases, so which terms are
    # already there depends on who is listed first): its label typed, the top hit is that term.
    recorded = set(page.locator("main table code").all_inner_texts())
    label = next(text for term, text in NEW_TERMS if term not in recorded)
    search = page.get_by_label("Search HPO (label, synonym or id)")
    search.focus()
    page.keyboard.type(label)
    expect(page.locator("#hpo-results input[name=hpo_id]").first).to_be_attached()
    page.keyboard.press("ArrowDown")  # into the results list
    assert page.evaluate("() => document.activeElement.name") == "hpo_id"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Added HP:\d{7} "))
    added = re.search(r"Added (HP:\d{7}) ", page.get_by_role("status").inner_text()).group(1)
    assert added == next(term for term, _ in NEW_TERMS if term not in recorded)
    assert "/observations" not in page.url  # redirected back after the post
    axe(page)


def test_scientist_reviews_a_rare_disease_case(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/")
    page.locator(".worklist", has=page.get_by_role("heading", name="Rare-disease cases to review")).locator(
        "li a").first.click()
    expect(page).to_have_url(re.compile(r"/cases/C\d{8}/interpretation"))
    expect(page.locator(".card.gene").first).to_be_visible()  # its ranked genes, each with its evidence
    note = f"Reviewed in the browser walk {secrets.token_hex(3)}"
    page.locator("#notes textarea[name=text]").fill(note)
    page.locator("#notes").get_by_role("button", name="Add note").click()
    expect(page.locator("#notes")).to_contain_text(note)
    assert page.url.endswith("#notes")
    axe(page)


def test_clinician_opens_a_tumour_board(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/")
    page.locator(".worklist", has=page.get_by_role("heading", name="Tumour boards ready")).locator(
        "li a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tumour board: case C")
    expect(page.get_by_role("heading", name="Actionable findings (tiers I-II)")).to_be_visible()
    axe(page)
