"""Walks of the sign-in and account pages: two-step sign-in set up and used, password change, user admin."""

from __future__ import annotations

import re
import time

import pyotp


def test_a_new_user_sets_up_two_step_sign_in_and_uses_it(page_as, anonymous_page, axe, signer) -> None:
    admin = page_as("admin")
    admin.goto("/admin/users")
    admin.get_by_label("Username").fill("walker")
    admin.get_by_label("Full name").fill("Wendy Walker")
    admin.get_by_label("Initial password", exact=False).fill("tangerine-bicycle-harbour")
    admin.get_by_label("lab", exact=True).check()
    admin.get_by_label("Centre", exact=True).select_option("WMGMC")
    admin.get_by_label("Sees every trust of the centre").check()
    admin.get_by_role("button", name="Create user").click()
    admin.get_by_text("User walker created").wait_for()

    page = anonymous_page
    signer(page, "walker", "tangerine-bicycle-harbour")
    page.goto("/account/security")
    axe(page)
    page.get_by_role("link", name="Set up two-step sign-in").click()
    page.wait_for_url("**/account/second-factor")
    assert page.locator("figure.qr svg").count() == 1
    axe(page)
    key = page.locator("code.totp-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator("ol.recovery-codes li").count() == 10
    axe(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.get_by_label("Username").fill("walker")
    page.get_by_label("Password").fill("tangerine-bicycle-harbour")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/login/second-factor**")
    axe(page)
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the enrolment used this step's code
    page.get_by_label("Code").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Wendy Walker"


def test_password_change_page(page_as, axe, browser_problems) -> None:
    browser_problems.allow(r"status of 422")  # the refused password comes back as 422, as it should
    page = page_as("researcher")
    page.goto("/account/password")
    axe(page)
    page.get_by_label("Current password").fill("demo-researcher-2026")
    page.get_by_label("New password").fill("password1234")
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_role("alert").inner_text().startswith("password refused")


def test_admin_user_page(page_as, axe) -> None:
    page = page_as("admin")
    page.goto("/admin/users")
    axe(page)
    # The demo admin is a centre admin: it manages its own centre's users (a national user is not listed).
    page.get_by_role("link", name="scientist", exact=True).click()
    page.wait_for_url(re.compile(r".*/admin/users/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("scientist")
    axe(page)
