"""Two-step sign-in through the real pages and API: required for administrators, offered to everyone."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.auth.models import User, WebSession

ADMIN_KEY = "GMCDEMOADMINKEYPUBLISHEDFORDEMOS"


def _password_step(client, username: str, password: str):
    client.get("/login")
    csrf = client.cookies.get("gmc_csrf")
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf,
                                       "next": "/samples"}, follow_redirects=False)
    return resp, csrf


def _verbs(database, username: str) -> list[str]:
    with database.session() as s:
        uid = s.execute(sa.select(User.id).where(User.username == username)).scalar_one()
        return list(s.execute(sa.select(AuditEvent.verb).where(AuditEvent.entity_type == "user",
                                                              AuditEvent.entity_id == str(uid))
                              .order_by(AuditEvent.seq)).scalars())


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_admin_cannot_sign_in_with_the_password_alone(demo_client, demo_database) -> None:
    resp, csrf = _password_step(demo_client, "admin", "demo-admin-2026")
    assert resp.status_code == 303 and resp.headers["location"] == "/login/second-factor?next=/samples"
    # The half-way session opens nothing.
    assert demo_client.get("/api/me").status_code == 401
    assert demo_client.get("/admin/users", follow_redirects=False).status_code == 303
    wrong = demo_client.post("/login/second-factor", data={"code": "000000", "csrf_token": csrf, "next": "/samples"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    code = pyotp.TOTP(ADMIN_KEY).now()
    ok = demo_client.post("/login/second-factor", data={"code": code, "csrf_token": csrf, "next": "/samples"},
                          follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/samples"
    assert demo_client.get("/api/me").json()["username"] == "admin"
    # The same code is good once.
    again, csrf = _password_step(demo_client, "admin", "demo-admin-2026")
    replay = demo_client.post("/login/second-factor", data={"code": code, "csrf_token": csrf, "next": "/"})
    assert replay.status_code == 401
    with demo_database.session() as s:
        login = s.execute(sa.select(AuditEvent).where(AuditEvent.verb == "login").order_by(AuditEvent.seq.desc())
                          ).scalars().first()
        assert login.actor == "admin" and login.summary == {"second_factor": "totp"}
        assert s.execute(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.verb == "login_failed", AuditEvent.actor == "admin")).scalar_one() == 2


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_api_token_for_an_admin_needs_the_code(demo_client) -> None:
    bare = demo_client.post("/api/auth/token", data={"username": "admin", "password": "demo-admin-2026"})
    assert bare.status_code == 403 and "otp" in bare.json()["detail"]
    wrong = demo_client.post("/api/auth/token", data={"username": "admin", "password": "demo-admin-2026",
                                                      "otp": "123456"})
    assert wrong.status_code == 401
    ok = demo_client.post("/api/auth/token", data={"username": "admin", "password": "demo-admin-2026",
                                                   "otp": pyotp.TOTP(ADMIN_KEY).now()})
    assert ok.status_code == 200 and ok.json()["access_token"].startswith("gmc_pat_")


def test_a_new_admin_must_set_up_a_second_factor_first(demo_client, demo_database, login) -> None:
    login(demo_client, "admin")
    csrf = demo_client.cookies.get("gmc_csrf")
    demo_client.post("/admin/users", data={"username": "newadmin", "password": "sturdy-lantern-orchard",
                                           "roles": "admin", "centre_code": "WMGMC", "centre_wide": "true",
                                           "csrf_token": csrf})
    demo_client.post("/logout", data={"csrf_token": csrf})
    resp, csrf = _password_step(demo_client, "newadmin", "sturdy-lantern-orchard")
    assert resp.headers["location"] == "/account/second-factor?next=/samples"
    assert demo_client.get("/api/me").status_code == 401
    page = demo_client.get("/account/second-factor?next=/samples")
    assert page.status_code == 200 and "<svg" in page.text and "requires a second factor" in page.text
    assert 'script' not in re.split(r"<main[^>]*>", page.text)[1]
    pending = re.search(r'name="pending" value="([^"]+)"', page.text).group(1)
    key = pending.split(".")[0]
    assert " ".join(key[i:i + 4] for i in range(0, len(key), 4)) in page.text
    tampered = demo_client.post("/account/second-factor", data={
        "pending": pyotp.random_base32(32) + "." + pending.split(".")[1], "code": "123456", "csrf_token": csrf})
    assert tampered.status_code == 422
    done = demo_client.post("/account/second-factor", data={"pending": pending, "code": pyotp.TOTP(key).now(),
                                                            "csrf_token": csrf, "next": "/samples"})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", done.text)
    assert len(codes) == 10 and 'href="/samples"' in done.text
    assert demo_client.get("/api/me").json()["username"] == "newadmin"
    assert "second_factor_enrol" in _verbs(demo_database, "newadmin")
    # A recovery code stands in for the app once.
    demo_client.post("/logout", data={"csrf_token": csrf})
    _password_step(demo_client, "newadmin", "sturdy-lantern-orchard")
    ok = demo_client.post("/login/second-factor", data={"code": codes[0].upper(), "csrf_token": csrf, "next": "/"},
                          follow_redirects=False)
    assert ok.status_code == 303 and demo_client.get("/api/me").status_code == 200
    demo_client.post("/logout", data={"csrf_token": csrf})
    _password_step(demo_client, "newadmin", "sturdy-lantern-orchard")
    used = demo_client.post("/login/second-factor", data={"code": codes[0], "csrf_token": csrf, "next": "/"})
    assert used.status_code == 401


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_other_users_may_turn_it_on_and_off(demo_client, demo_database, login) -> None:
    login(demo_client, "lab")
    csrf = demo_client.cookies.get("gmc_csrf")
    security = demo_client.get("/account/security")
    assert "Set up two-step sign-in" in security.text
    page = demo_client.get("/account/second-factor")
    pending = re.search(r'name="pending" value="([^"]+)"', page.text).group(1)
    key = pending.split(".")[0]
    totp = pyotp.TOTP(key)
    assert demo_client.post("/account/second-factor", data={"pending": pending, "code": totp.now(),
                                                            "csrf_token": csrf}).status_code == 200
    demo_client.post("/logout", data={"csrf_token": csrf})
    resp, csrf = _password_step(demo_client, "lab", "demo-lab-2026")
    assert resp.headers["location"].startswith("/login/second-factor")
    # The code used at enrolment cannot sign in again; the next step's can (one step of drift is allowed).
    nxt = totp.at(__import__("time").time() + 30)
    assert demo_client.post("/login/second-factor", data={"code": nxt, "csrf_token": csrf, "next": "/"},
                            follow_redirects=False).status_code == 303
    off = demo_client.post("/account/second-factor/disable", data={"password": "demo-lab-2026", "code": "111111",
                                                                   "csrf_token": csrf})
    assert off.status_code == 422
    with demo_database.session() as s:
        assert s.execute(sa.select(User.totp_enabled_at).where(User.username == "lab")).scalar_one() is not None


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_admins_cannot_turn_it_off(demo_client, login) -> None:
    login(demo_client, "admin")
    page = demo_client.get("/account/security")
    assert "cannot be turned off" in page.text and "/account/second-factor/disable" not in page.text
    csrf = demo_client.cookies.get("gmc_csrf")
    resp = demo_client.post("/account/second-factor/disable", data={"password": "demo-admin-2026",
                                                                    "code": pyotp.TOTP(ADMIN_KEY).now(),
                                                                    "csrf_token": csrf})
    assert resp.status_code == 403


def test_pending_sessions_are_replaced_not_promoted(demo_client, demo_database) -> None:
    resp, csrf = _password_step(demo_client, "admin", "demo-admin-2026")
    pending_key = demo_client.cookies.get("gmc_session")
    code = pyotp.TOTP(ADMIN_KEY).now()
    demo_client.post("/login/second-factor", data={"code": code, "csrf_token": csrf, "next": "/"})
    assert demo_client.cookies.get("gmc_session") != pending_key
    with demo_database.session() as s:
        stages = s.execute(sa.select(WebSession.stage, WebSession.revoked_at).order_by(WebSession.id)).all()
    assert [st for st, _ in stages] == ["second_factor", "full"] and stages[0][1] is not None
