"""The genome page in the browser: a coding change whose codon is unknown is kept by an impact filter, marked
"unknown", and says what was withheld and why."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_impact_filter_keeps_unknown_coding_changes_and_says_why(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/genomes")
    # the demo trio (three datasets) is GRCh37, for which there is no sequence offline: its coding changes have
    # unknown codons (the demo's other rare-disease case, a GRCh38 exome, comes first or second by its random id)
    rows = page.locator("tbody tr").filter(has_text="Rare disease")
    trio = next(row for row in rows.all() if row.locator("td.num").inner_text().strip() == "3")  # datasets
    case_id = trio.get_by_role("link").first.inner_text()
    page.goto(f"/genomes/cases/{case_id}")
    table = page.locator("#variants table.variants")
    table.locator("tbody tr").first.wait_for()  # the unfiltered table
    # the filter goes into the URL (shareable), and the page comes back filtered
    page.locator("select[name=impact]").select_option("HIGH")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]impact=HIGH(&|$)"))
    other = table.locator("tbody tr").filter(has=page.locator(".badge", has_text=re.compile("^(MODERATE|LOW|MODIFIER)$")))
    expect(other).to_have_count(0)
    unknown = table.locator("tbody tr").filter(has=page.locator(".badge", has_text="unknown"))
    assert unknown.count() > 0
    first = unknown.first
    assert "coding sequence variant" in first.inner_text()
    assert "p. and codon change withheld" in first.inner_text() and "no reference FASTA" in first.inner_text()
    # the filter keeps HIGH and unknown impacts only
    for row in table.locator("tbody tr").all():
        assert any(impact in row.inner_text() for impact in ("\tHIGH\t", "\tunknown\t")), row.inner_text()
    axe(page)
