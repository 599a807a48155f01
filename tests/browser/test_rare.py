"""Rare-disease pages in the browser: the demo KBG case's ranked genes explain themselves to a clinical scientist."""

from __future__ import annotations


def test_ranked_gene_shows_why_inheritance_phenotype_source_and_acmg(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/rare")
    row = page.locator("tbody tr").filter(has_text="ANKRD11").first
    case_link = row.get_by_role("link").first  # the case (the proband's P-number links too)
    case_id = case_link.inner_text()
    page.goto(case_link.get_attribute("href"))  # a navigation's wait (60 s): the first case page loads the stores
    assert page.get_by_role("heading", level=1).inner_text() == f"Rare-disease interpretation: case {case_id}"
    gene = page.locator(".card.gene").filter(has=page.get_by_role("heading", name="ANKRD11")).first
    assert gene.get_by_role("heading", level=3).inner_text().startswith("#1 ANKRD11")
    explanation = gene.locator("dl.explanation")
    terms = explanation.locator("dt").all_inner_texts()
    assert "Look up" in terms  # links out for the gene (ClinVar, gnomAD, OMIM, PanelApp)
    assert [t for t in terms if t != "Look up"][:3] == ["Why ranked", "Inheritance", "Phenotype evidence"]
    why = explanation.locator("dd.why-ranked").inner_text()
    assert "variant score" in why and "phenotype score" in why
    # the demo's genome is the proband's alone: no de novo claim without both parents genotyped
    inheritance = explanation.locator("dd.inheritance").inner_text()
    assert "parents not tested" in inheritance and "de novo:" not in inheritance
    assert explanation.locator("dd.phenotype-source").inner_text().startswith("HPO ")
    assert "KBG syndrome" in explanation.locator("dd.phenotype-source").inner_text()
    variant = gene.locator(".variant").first
    why_variant = variant.locator(".variant-why").inner_text()
    assert "pathogenicity" in why_variant and "frequency" in why_variant
    # the frameshift is in ClinVar: its accession and review status with stars, as a scientist looks it up
    clinvar = variant.locator(".clinvar").inner_text()
    assert clinvar.startswith("ClinVar ") and "VCV" in clinvar and "star" in clinvar
    matched = gene.locator("details").filter(has_text="Matched terms")
    matched.locator("summary").click()
    assert matched.locator("tbody tr").count() > 3
    acmg = variant.locator("details.acmg")
    assert "PVS1" in acmg.locator("summary").inner_text()
    assert not acmg.locator("table").is_visible()
    acmg.locator("summary").click()
    codes = acmg.locator("tbody tr td:first-child").all_inner_texts()
    assert "PVS1" in codes and "PM2" in codes and len(codes) == len(set(codes))
    axe(page)
