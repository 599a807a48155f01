"""The web shell as a user meets it: sign-in, CSRF, roles, 401/403, health, docs and logs."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.auth.models import User


def test_health_needs_no_auth(demo_client) -> None:
    resp = demo_client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["database"] in {"sqlite", "postgresql"}
    assert resp.headers["x-request-id"]


def test_openapi_docs_served(demo_client) -> None:
    assert demo_client.get("/docs").status_code == 200
    spec = demo_client.get("/openapi.json").json()
    assert "/api/me" in spec["paths"] and "/api/users" in spec["paths"]
    # Every operation has its own id (clients and Swagger UI key operations by it).
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_pages_redirect_to_login_and_api_says_401(demo_client) -> None:
    resp = demo_client.get("/admin/users", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=%2Fadmin%2Fusers")
    resp = demo_client.get("/api/me")
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert "sign in" in resp.json()["detail"]


def test_login_sets_secure_session_and_shows_role_nav(demo_client, login) -> None:
    resp = login(demo_client, "lab")
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert "gmc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = demo_client.get("/")
    assert home.status_code == 200 and "Leo Lab" in home.text
    assert 'href="/admin/users"' not in home.text
    assert demo_client.get("/api/me").json()["roles"] == ["lab"]


def test_lab_user_gets_403_on_admin_page(demo_client, login) -> None:
    login(demo_client, "lab")
    resp = demo_client.get("/admin/users")
    assert resp.status_code == 403 and "users:manage" in resp.text
    assert demo_client.get("/api/users").status_code == 403


def test_admin_sees_admin_pages(demo_client, login) -> None:
    login(demo_client, "admin")
    home = demo_client.get("/")
    assert 'href="/admin/users"' in home.text and 'href="/admin/audit"' in home.text
    users = demo_client.get("/admin/users")
    assert users.status_code == 200 and "sl-recruiter" in users.text
    audit = demo_client.get("/admin/audit?verify=true")
    assert "audit chain intact" in audit.text and "checkpoints match" in audit.text
    orgs = demo_client.get("/organisations")
    assert "Walsall Healthcare NHS Trust" in orgs.text and "St George" in orgs.text


def test_wrong_password_is_401_and_recorded(demo_client, login, demo_database) -> None:
    resp = login(demo_client, "admin", "not-the-password")
    assert resp.status_code == 401 and "wrong username or password" in resp.text
    with demo_database.session() as s:
        failed = s.execute(sa.select(AuditEvent).where(AuditEvent.verb == "login_failed")).scalars().all()
        assert [(e.actor, e.summary) for e in failed] == [("admin", {"reason": "wrong password"})]


def test_repeated_failures_slow_down_without_a_lock_or_a_tell(demo_database, make_settings, login) -> None:
    from fastapi.testclient import TestClient

    from gmc.web.app import create_app

    app = create_app(make_settings(demo_database.url, login_first_delay_seconds=30), database=demo_database)
    with TestClient(app) as client:
        answers = {}
        for name in ("clinician", "nobody-at-all"):
            codes = [login(client, name, "not-the-password").status_code for _ in range(6)]
            last = login(client, name, "demo-clinician-2026")
            answers[name] = (codes, last.status_code, "try again in" in last.text, last.headers.get("retry-after"))
    assert answers["clinician"][:3] == ([401] * 6, 429, True) and int(answers["clinician"][3]) >= 25
    assert answers["clinician"][:3] == answers["nobody-at-all"][:3]


def test_post_without_csrf_token_is_refused_and_changes_nothing(demo_client, login, demo_database) -> None:
    login(demo_client, "admin")
    resp = demo_client.post("/admin/users", data={"username": "sneaky", "password": "a-long-password",
                                                  "roles": "lab", "centre_code": "WMGMC", "centre_wide": "true"})
    assert resp.status_code == 403 and "security token" in resp.text
    with demo_database.session() as s:
        assert s.execute(sa.select(User).where(User.username == "sneaky")).scalar_one_or_none() is None


def test_login_form_without_csrf_is_refused(demo_client) -> None:
    resp = demo_client.post("/login", data={"username": "admin", "password": "demo-admin-2026", "csrf_token": "x"})
    assert resp.status_code == 403


def test_admin_creates_user_through_form(demo_client, login) -> None:
    login(demo_client, "admin")
    csrf = demo_client.cookies.get("gmc_csrf")
    resp = demo_client.post("/admin/users", data={"username": "newlab", "password": "a-long-password", "roles": "lab",
                                                  "centre_code": "WMGMC", "trust_codes": "RRK", "csrf_token": csrf})
    assert resp.status_code == 201 and "User newlab created" in resp.text
    bad = demo_client.post("/admin/users", data={"username": "newlab", "password": "a-long-password", "roles": "lab",
                                                 "centre_code": "WMGMC", "trust_codes": "RRK", "csrf_token": csrf})
    assert bad.status_code == 409 and "already exists" in bad.text


def test_api_token_flow(demo_client, bearer) -> None:
    headers = bearer(demo_client, "scientist")
    me = demo_client.get("/api/me", headers=headers).json()
    assert me["username"] == "scientist" and me["auth_method"] == "token"
    created = demo_client.post("/api/tokens", json={"name": "pipeline", "days": 30}, headers=headers)
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    own = {"Authorization": f"Bearer {secret}"}
    assert demo_client.get("/api/me", headers=own).status_code == 200
    assert demo_client.delete(f"/api/tokens/{token_id}", headers=headers).status_code == 200
    resp = demo_client.get("/api/me", headers=own)
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]
    assert demo_client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_malformed_body_is_422_naming_the_field(demo_client, bearer) -> None:
    headers = bearer(demo_client, "admin")
    resp = demo_client.post("/api/users", json={"username": "x1", "roles": ["lab"]}, headers=headers)
    assert resp.status_code == 422 and "password" in resp.json()["detail"]
    resp = demo_client.post("/api/users", content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert resp.status_code == 422


def test_failed_write_leaves_no_rows_and_no_event(demo_client, bearer, demo_database) -> None:
    headers = bearer(demo_client, "admin")
    with demo_database.session() as s:
        before = s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()
    resp = demo_client.post("/api/users", json={"username": "ghost", "password": "a-long-password", "roles": ["lab"],
                                                "trust_codes": ["RRK", "NOPE"]}, headers=headers)
    assert resp.status_code == 404 and resp.json()["field"] == "trust_code"
    with demo_database.session() as s:
        assert s.execute(sa.select(User).where(User.username == "ghost")).scalar_one_or_none() is None
        after = s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()
    assert after == before


def test_logout_ends_the_session(demo_client, login) -> None:
    login(demo_client, "admin")
    session_cookie = demo_client.cookies.get("gmc_session")
    csrf = demo_client.cookies.get("gmc_csrf")
    resp = demo_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    demo_client.cookies.set("gmc_session", session_cookie)
    assert demo_client.get("/api/me").status_code == 401


def test_tokens_page_shows_secret_once(demo_client, login) -> None:
    login(demo_client, "recruiter")
    csrf = demo_client.cookies.get("gmc_csrf")
    resp = demo_client.post("/account/tokens", data={"name": "laptop", "days": "7", "csrf_token": csrf})
    assert resp.status_code == 201
    import re

    secret = re.search(r"<code>(gmc_pat_[A-Za-z0-9_-]{30,})</code>", resp.text).group(1)
    listing = demo_client.get("/account/tokens").text
    assert "laptop" in listing and secret not in listing and secret[:12] in listing


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_logs_are_json_without_identifiers(demo_client, bearer, caplog) -> None:
    headers = bearer(demo_client, "admin")
    with caplog.at_level(logging.INFO, logger="gmc.access"):
        demo_client.get("/api/audit/events?entity_id=9434765919", headers=headers)
        demo_client.post("/api/auth/token", data={"username": "admin", "password": "secret-password-typed-wrong"})
    from gmc.common.logging import JsonFormatter

    lines = [JsonFormatter().format(r) for r in caplog.records if r.name.startswith("gmc")]
    assert lines, "no access log lines were written"
    for line in lines:
        entry = json.loads(line)
        assert "9434765919" not in line and "secret-password" not in line and "gmc_pat_" not in line
        assert entry["request_id"]
    routes = [json.loads(line)["route"] for line in lines]
    assert "/api/audit/events" in routes and "/api/auth/token" in routes


def test_log_redaction_masks_nhs_number_shapes() -> None:
    from gmc.common.logging import redact

    assert redact("patient 943 476 5919 and 9434765919") == "patient [redacted] and [redacted]"
    assert redact("count 12345") == "count 12345"


def test_commit_failure_is_an_error_not_a_lost_write(demo_app, demo_database) -> None:
    from fastapi.testclient import TestClient

    from gmc.db.core import GmcSession
    from gmc.db.dependencies import DB
    from gmc.organisations.models import Trust

    @demo_app.post("/api/_test/orphan-trust")
    def orphan(db: GmcSession = DB) -> dict[str, bool]:
        # Not flushed here: the foreign-key error surfaces only when the request boundary commits.
        db.add(Trust(code="ZZ9", name="Orphan", centre_id=999_999))
        return {"ok": True}

    with TestClient(demo_app, raise_server_exceptions=False) as client:
        resp = client.post("/api/_test/orphan-trust")
    assert resp.status_code == 500
    with demo_database.session() as s:
        assert s.execute(sa.select(Trust).where(Trust.code == "ZZ9")).scalar_one_or_none() is None
