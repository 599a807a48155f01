"""A large specimen file uploaded on the samples page becomes a background job whose page follows it to the end."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from gmc.settings import Settings

HEADER = "barcode,participant_id,referral_id,trust_code,sample_type,collected_at,collected_by\n"


def test_large_upload_shows_a_job_page_with_every_problem(page_as, axe) -> None:
    rows = []
    while sum(map(len, rows)) <= Settings().import_job_bytes:  # the server's default threshold
        i = len(rows)
        rows.append(f"WALK-{i:05d},P{i:07d},R{i:07d},ZZZ,blood_edta,2026-11-01T09:30:00,Nurse Walk\n")
    page = page_as("lab")
    page.goto("/samples")
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "walk.csv", "mimeType": "text/csv", "buffer": (HEADER + "".join(rows)).encode()})
    page.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Specimen CSV import"
    assert "walk.csv" in page.locator("dl").inner_text()
    # The status part refreshes itself until the job ends; every row names an unknown trust, so it fails.
    expect(page.locator("[data-job-status]")).to_have_text("failed", timeout=120_000)
    expect(page.locator(".flash.error")).to_contain_text("nothing was imported")
    first = page.locator("#job-status tbody tr").first
    expect(first).to_contain_text("2")
    expect(first).to_contain_text("trust_code")
    expect(page.locator("#job-status")).to_contain_text(f"and {len(rows) - 500} more")
    axe(page)
