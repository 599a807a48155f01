"""Cancer pages in the browser: the tumour board groups therapies by drug, the evidence is one click away."""

from __future__ import annotations


def _interpreted_case(page, cancer: str) -> str:
    """The id of the first interpreted demo case of a cancer type, from the cancer case list."""
    page.goto("/cancer")
    row = page.locator("tbody tr").filter(has_text=cancer).filter(has_text="interpreted").first
    return row.get_by_role("link").first.inner_text()  # the case link (the participant is linked too)


def test_tumour_board_groups_therapies_by_drug_with_the_evidence_one_click_away(page_as, axe) -> None:
    page = page_as("scientist")
    case_id = _interpreted_case(page, "breast")
    page.goto(f"/cancer/cases/{case_id}")
    assert page.get_by_role("heading", level=1).inner_text() == f"Tumour board: case {case_id}"
    pik3ca = page.locator(".card.finding").filter(has=page.get_by_role("heading", name="PIK3CA")).first
    sensitivity = pik3ca.locator("table.therapies").filter(has=page.locator("caption", has_text="Sensitivity")).first
    therapies = sensitivity.locator("tbody tr td:first-child strong").all_inner_texts()
    assert therapies[0] == "Alpelisib" and len(therapies) == len(set(therapies))  # one line per regimen
    assert "Alpelisib + Fulvestrant" in therapies  # MOAlmanac's and the demo curator's item: one line
    assert sensitivity.locator("tbody tr").first.get_by_text("this tumour type").is_visible()
    evidence = pik3ca.locator("details").filter(has_text="Full evidence list")
    assert not evidence.locator("table.evidence").is_visible()
    evidence.locator("summary").click()
    assert evidence.locator("table.evidence tbody tr").count() > 10
    assert evidence.get_by_text("not a stated tumour-agnostic indication").first.is_visible()
    assert page.get_by_text("territory assumed").is_visible()  # the demo run has no callable BED
    axe(page)


def test_knowledge_page_shows_the_evidence_level_table(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/cancer/knowledge?gene=NTRK1&alteration=FUSION")
    page.get_by_text("How each source's evidence level reads").click()
    levels = page.locator("details table tbody tr")
    assert levels.count() > 20
    assert page.get_by_text("tumour-agnostic indication").first.is_visible()
    axe(page)
