"""The scientist's genome page: charts, a variant table that fits the window, filters in the URL, links out."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect


def test_variant_table_fits_the_window_and_keeps_its_filters_in_the_url(page_as, axe) -> None:
    page = page_as("scientist")
    page.goto("/genomes")
    trio = page.locator("tbody tr").filter(has=page.locator("td:nth-child(5)", has_text="3"))  # three datasets
    trio.first.get_by_role("link").first.click()
    case_url = page.url
    expect(page.locator("figure.chart canvas[data-drawn]").first).to_be_attached()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways page
    page.get_by_label("Gene(s)").fill("MTHFR")
    page.get_by_label("Gene(s)").press("Enter")
    assert parse_qs(urlparse(page.url).query)["gene"] == ["MTHFR"]
    rows = page.locator("table.variants tbody tr")
    assert rows.count() > 0
    headers = page.locator("table.variants thead th").all_inner_texts()
    assert headers[4].startswith("Father") and headers[5].startswith("Mother")  # the family beside the proband
    parents = rows.locator("td:nth-child(5), td:nth-child(6)").all_inner_texts()
    assert {"het", "hom"} & set(parents) and set(parents) <= {"het", "hom", "hemizygous", "–\nno call (reference or not covered)", "–"}
    genes = rows.locator("td:nth-child(7)").all_inner_texts()
    assert "MTHFR" in genes  # calls in the gene (an overlapping gene may head a row)
    first = rows.nth(genes.index("MTHFR"))
    assert first.get_by_role("link", name="ClinVar").get_attribute("href").startswith("https://www.ncbi.nlm.nih.gov/clinvar/")
    assert first.get_by_role("link", name="OMIM").get_attribute("href") == "https://www.omim.org/search?search=MTHFR"
    assert "panelapp" in first.get_by_role("link", name="PanelApp").get_attribute("href")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    axe(page)
    # The same filtered view from a shared link, straight to the table.
    page.goto(page.url)
    assert page.get_by_label("Gene(s)").input_value() == "MTHFR"
    assert re.sub(r"\?.*", "", page.url) == case_url.split("?")[0]
