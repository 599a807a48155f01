"""Walks of gmc without reference data, as on a fresh machine: pages work and say what to install."""

from __future__ import annotations


def test_without_reference_data_the_pages_say_which_set_to_install(bare_page_as, axe, browser_problems) -> None:
    page = bare_page_as("scientist")
    page.goto("/genomes")
    assert page.get_by_role("heading", level=1).inner_text() == "Genomes"
    notice = page.get_by_role("status", name="Reference data not installed")
    assert notice.is_visible()
    text = notice.inner_text()
    assert "gmc refdata fetch --only transcripts" in text and "gmc refdata fetch --only clinvar" in text
    assert "variant annotation" in text
    axe(page)

    page.goto("/rare")
    assert "gmc refdata fetch --only panelapp" in page.get_by_role(
        "status", name="Reference data not installed").inner_text()

    # A search of the cancer knowledge base needs the set: the answer names it and the command, not a traceback.
    # (Chromium logs the 503 of the page itself as a console error too.)
    browser_problems.allow(r"(HTTP 503 from GET|status of 503).*/cancer/knowledge\?gene=BRAF")
    page.goto("/cancer/knowledge")
    page.get_by_label("Gene").fill("BRAF")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(lambda url: "gene=BRAF" in url)
    assert page.get_by_role("heading", level=1).inner_text() == "Reference data not installed"
    assert page.locator("pre code").inner_text() == "gmc refdata fetch --only cancer"
    axe(page)


def test_without_reference_data_registry_and_samples_work(bare_page_as) -> None:
    page = bare_page_as("admin")
    page.goto("/participants")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.locator("table tbody tr").count() > 0
    page.goto("/samples")
    assert page.get_by_role("heading", level=1).is_visible()


def test_the_reference_data_page_lists_versions_and_what_is_missing(page_as, bare_page_as, axe) -> None:
    page = page_as("clinician")
    page.goto("/refdata")
    table = page.get_by_role("table", name="Reference-data sets")
    clinvar = table.get_by_role("row").filter(has_text="clinvar/GRCh38")
    assert "installed" in clinvar.inner_text() and "2024-12-15" in clinvar.inner_text()
    axe(page)

    bare = bare_page_as("clinician")
    bare.goto("/refdata")
    row = bare.get_by_role("table", name="Reference-data sets").get_by_role("row").filter(has=bare.get_by_text("cancer", exact=True))
    assert "not installed" in row.inner_text() and "gmc refdata fetch --only cancer" in row.inner_text()
