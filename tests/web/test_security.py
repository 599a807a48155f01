"""Browser-facing protections: security headers and a strict CSP, trusted hosts, API docs behind sign-in in
production, spreadsheet-safe CSV, escaped LIKE patterns, and templates without inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gmc.common.escaping import escape_like, spreadsheet_cell
from gmc.web.app import create_app

SQLITE = pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
SRC = Path(__file__).resolve().parents[2] / "src" / "gmc"


def _production(tmp_path, database, **overrides):
    from gmc.settings import Settings

    settings = Settings(database_url=database.url, data_dir=tmp_path / "data", environment="production",
                        secret_key="s" * 40, audit_key="a" * 40, research_key="r" * 40,
                        allowed_hosts="testserver,gmc.example.nhs.uk",
                        _env_file=None, **overrides)
    return create_app(settings, database=database)


@SQLITE
def test_every_response_carries_the_security_headers(demo_client, login) -> None:
    login(demo_client, "lab")
    for path in ("/", "/api/me", "/login", "/static/gmc.css"):
        headers = demo_client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in headers  # only in production, behind TLS
    assert demo_client.get("/api/me").headers["cache-control"] == "no-store"
    assert "no-store" not in demo_client.get("/static/gmc.css").headers.get("cache-control", "")


@SQLITE
def test_the_host_header_never_reaches_a_script_src(demo_client) -> None:
    page = demo_client.get("/login", headers={"host": "evil.example"})
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "evil.example" not in page.text


@SQLITE
def test_production_checks_the_host_sends_hsts_and_keeps_the_docs_for_signed_in_users(tmp_path,
                                                                                     demo_database) -> None:
    app = _production(tmp_path, demo_database)
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/health", headers={"host": "attacker.example"}).status_code == 400
        ok = client.get("/health")
        assert ok.status_code == 200 and "max-age" in ok.headers["strict-transport-security"]
        assert client.get("/openapi.json").status_code == 401
        docs = client.get("/docs", follow_redirects=False)
        assert docs.status_code == 303 and docs.headers["location"].startswith("/login")
        token = client.post("/api/auth/token", data={"username": "lab", "password": "demo-lab-2026"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        spec = client.get("/openapi.json", headers=headers)
        assert spec.status_code == 200 and "/api/me" in spec.json()["paths"]
        page = client.get("/docs", headers=headers)
        assert page.status_code == 200 and "'unsafe-inline'" not in page.headers["content-security-policy"].split(
            "script-src")[1].split(";")[0]


@SQLITE
def test_outside_production_the_docs_are_open(demo_client) -> None:
    assert demo_client.get("/openapi.json").status_code == 200
    assert demo_client.get("/docs").status_code == 200


#: Self-contained downloadable documents (not pages): their one inline <style> is admitted by a hash-pinned policy
#: on the download (tests/reporting/test_web.py checks the hash matches).
STANDALONE_DOCUMENTS = {"reporting/report_print.html"}


def test_templates_hold_no_inline_script_handler_or_style() -> None:
    problems = []
    for template in SRC.rglob("templates/**/*.html"):
        standalone = template.as_posix().split("/templates/", 1)[1] in STANDALONE_DOCUMENTS
        text = re.sub(r"{#.*?#}", "", template.read_text(encoding="utf-8"), flags=re.S)  # comments aside
        for m in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in m.group(1) and 'type="application/json"' not in m.group(1):
                problems.append(f"{template}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{template}: an on*= handler")
        if re.search(r'\sstyle\s*=\s*"', text) or ("<style" in text and not standalone):
            problems.append(f"{template}: an inline style")
        if re.search(r"hx-on|hx-vars|js:", text):
            problems.append(f"{template}: htmx eval")
    assert not problems, problems


def test_csv_cells_that_look_like_formulas_stay_text() -> None:
    from gmc.samples.csvio import EXPORT_COLUMNS, write_export

    assert spreadsheet_cell('=HYPERLINK("http://x","click")') == '\'=HYPERLINK("http://x","click")'
    assert [spreadsheet_cell(v) for v in ("+cmd", "-2+3", "@SUM(A1)", "\t=1")] == [
        "'+cmd", "'-2+3", "'@SUM(A1)", "'\t=1"]
    assert [spreadsheet_cell(v) for v in ("-12.5", "+3", 7, -2.0, "BLD-1")] == ["-12.5", "+3", 7, -2.0, "BLD-1"]
    row = dict.fromkeys(EXPORT_COLUMNS, "ok")
    row[EXPORT_COLUMNS[-1]] = "=1+1"
    text = write_export([row])
    assert text.splitlines()[1].endswith("'=1+1")


def test_like_patterns_take_user_text_literally() -> None:
    assert escape_like("50%_a\\b") == "50\\%\\_a\\\\b"


def test_sample_search_does_not_treat_wildcards_as_wildcards(full_demo_db_url, make_settings, login) -> None:
    from gmc.db.core import Database

    database = Database(full_demo_db_url)
    app = create_app(make_settings(full_demo_db_url), database=database)
    with TestClient(app) as client:
        login(client, "lab")
        every = client.get("/samples").text.count('href="/samples/')
        assert every > 5
        assert client.get("/samples", params={"q": "%"}).text.count('href="/samples/') < every
        assert client.get("/samples", params={"q": "_"}).text.count('href="/samples/') < every
    database.dispose()


def test_hostile_values_get_clear_errors_not_500(demo_client, bearer) -> None:
    """What fuzzing found: ids past 64 bits and passwords longer than zxcvbn takes."""
    headers = bearer(demo_client, "admin")
    huge = demo_client.get("/api/users/99999999999999999999", headers=headers)
    assert huge.status_code in (404, 422), huge.text  # SQLite cannot bind it (422); PostgreSQL finds nothing (404)
    long_password = "correct horse battery staple " * 3  # 87 characters
    made = demo_client.post("/api/users", headers=headers, json={
        "username": "long-pass", "password": long_password, "roles": ["lab"], "centre_code": "WMGMC",
        "centre_wide": True})
    assert made.status_code in (200, 201), made.text
    # A NUL in a file name is refused by gmc.files (tests/files/test_files.py), where every file name is resolved.
