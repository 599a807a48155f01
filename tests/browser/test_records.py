"""Records in the browser: another centre learns only whom to contact and asks; the holding centre decides on
the link requests page; a VCF reaches a run by upload, never by a server path; a centre admin cannot make
national users."""

from __future__ import annotations


def _kestrel_child(page) -> tuple[str, str]:
    """The demo KBG child's participant id and date of birth, as the West Midlands recruiter sees them."""
    page.goto("/participants?q=Kestrel Maya")
    row = page.locator("tbody tr").filter(has_text="Maya").first
    pid = row.get_by_role("link").first.inner_text()
    born = row.locator("td").nth(2).inner_text().strip()
    return pid, born


def test_another_centre_asks_and_the_holding_centre_links(page_as, axe, browser_problems) -> None:
    browser_problems.allow(r"status of 409")  # the registration form answers 409 when a record may exist
    wm = page_as("recruiter")
    pid, born = _kestrel_child(wm)
    sl = page_as("sl-recruiter")
    sl.goto("/participants/new")
    sl.get_by_label("Registering trust").select_option("RJ1")
    sl.get_by_label("Hospital number at this trust").fill("GST-BROWSER-1")
    sl.get_by_label("Family name").fill("Kestrel")
    sl.get_by_label("Given name").fill("Maya")
    sl.get_by_label("Date of birth").fill(born)
    sl.get_by_label("Sex").select_option("female")
    sl.get_by_role("button", name="Register").click()
    alert = sl.get_by_role("alert").filter(has_text="A record may exist at another centre")
    assert alert.is_visible() and "West Midlands" in alert.inner_text()
    assert pid not in sl.content() and "B15" not in alert.inner_text()
    axe(sl)
    alert.get_by_role("button", name="Ask them to link").click()
    sl.wait_for_url("**/link-requests**")
    assert "sent" in sl.get_by_role("status").inner_text()
    request = sl.locator(".card").filter(has_text="RJ1").first
    assert "pending" in request.inner_text() and pid not in request.inner_text()
    axe(sl)

    wm.goto("/link-requests")
    card = wm.locator(".card").filter(has_text="RJ1").filter(has_text=pid).first
    assert "KESTREL, Maya" in card.inner_text()
    axe(wm)
    card.get_by_role("button", name="Same person: link").click()
    wm.wait_for_url("**/link-requests**")
    assert wm.get_by_text("Linked").first.is_visible()
    shown = sl.goto(f"/participants/{pid}")
    assert shown.status == 200 and pid in sl.content()  # now registered at RJ1 too


def test_a_run_takes_its_vcf_by_upload(page_as, axe, benchmarks_dir, browser_problems) -> None:
    browser_problems.allow(r"status of 422")  # a server path typed in the form is refused with 422
    page = page_as("scientist")
    page.goto("/rare")
    case_link = page.locator("tbody tr").filter(has_text="ANKRD11").first.get_by_role("link").first
    case_id = case_link.inner_text()
    page.goto(f"/cases/{case_id}/interpretation")
    form = page.locator("form").filter(has=page.locator("input[name=vcf_file]"))
    form.locator("input[name=vcf]").fill("/etc/passwd")
    form.locator("button[type=submit]").click()
    assert page.get_by_text("server paths are not accepted").first.is_visible()
    form = page.locator("form").filter(has=page.locator("input[name=vcf_file]"))
    form.locator("input[name=vcf_file]").set_input_files(
        str(benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"))
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/cases/{case_id}/interpretation**")
    status = page.locator("#status")
    assert "started" in status.inner_text() or "done" in status.inner_text()
    axe(page)


def test_a_centre_admin_is_not_offered_national_users(page_as, axe) -> None:
    page = page_as("admin")
    page.goto("/admin/users")
    options = page.get_by_label("Centre").locator("option").all_inner_texts()
    assert "National (no centre)" not in options and any("West Midlands" in o for o in options)
    assert not any("South London" in o for o in options)
    users = page.locator("tbody tr td:first-child").all_inner_texts()
    assert "sl-recruiter" not in users and "programme" not in users
    axe(page)
