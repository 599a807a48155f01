"""The gmc command line, run as a user would, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import wait_until_serving
from typer.testing import CliRunner

from gmc import __version__
from gmc.cli import app
from gmc.demo.service import DEMO_USERS
from gmc.settings import reset_settings_cache

runner = CliRunner()


def invoke(url: str, *args: str, stdin: str | None = None):
    """Runs `gmc ARGS` against a database URL."""
    reset_settings_cache()
    result = runner.invoke(app, list(args), input=stdin, env={"GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test"})
    reset_settings_cache()
    return result


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"gmc {__version__}"


def test_demo_users_tokens_and_audit(db_url: str) -> None:
    first = invoke(db_url, "demo")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    steps = [line for line in lines if line.startswith("demo: [")]
    assert lines[0].startswith("demo: migrating the database") and len(steps) >= 3  # progress, step by step
    assert steps[0].startswith("demo: [1/") and "Creates the reference centres and trusts" in steps[0]
    assert any("Registry demo data" in line for line in steps)
    done = next(i for i, line in enumerate(lines) if line.startswith("demo: done in "))
    assert done > lines.index(steps[-1])  # the total comes after the last step
    loaded = next(line for line in lines if line.startswith("demo centre loaded:"))
    assert "2 centres" in loaded and f"{len(DEMO_USERS)} users" in loaded
    again = invoke(db_url, "demo")
    assert again.exit_code == 0
    assert "users" not in next(line for line in again.output.splitlines() if line.startswith("demo centre loaded:"))
    created = invoke(db_url, "users", "create", "biobank1", "--role", "lab", "--trust", "RRK", "--password-stdin",
                     stdin="a-long-password\n")
    assert created.exit_code == 0, created.output
    dup = invoke(db_url, "users", "create", "biobank1", "--role", "lab", "--trust", "RRK", "--password-stdin",
                 stdin="a-long-password\n")
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad = invoke(db_url, "users", "create", "x2", "--role", "lab", "--trust", "NOPE", "--password-stdin",
                 stdin="a-long-password\n")
    assert bad.exit_code == 1 and "trust_code" in bad.output
    token = invoke(db_url, "users", "token", "biobank1", "--name", "scanner")
    assert token.exit_code == 0 and token.stdout.strip().startswith("gmc_pat_")
    verify = invoke(db_url, "audit", "verify")
    assert verify.exit_code == 0 and "intact" in verify.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_verify_names_a_hand_edited_event(db_url: str) -> None:
    assert invoke(db_url, "demo").exit_code == 0
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        event_id = conn.execute("SELECT id FROM audit_event WHERE seq = 10").fetchone()[0]
        conn.execute("DROP TRIGGER audit_event_no_update")  # the append-only trigger stops anyone without the file
        conn.execute("UPDATE audit_event SET actor = 'mallory' WHERE id = ?", (event_id,))
    result = invoke(db_url, "audit", "verify")
    assert result.exit_code == 1
    assert f"event id {event_id} (seq 10)" in result.output


def test_demo_refused_in_production(tmp_path: Path) -> None:
    reset_settings_cache()
    result = runner.invoke(app, ["demo"], env={"GMC_ENVIRONMENT": "production", "GMC_SECRET_KEY": "y" * 40,
                                               "GMC_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    reset_settings_cache()
    assert result.exit_code == 1 and "production" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_serve_answers_and_demo_users_sign_in(demo_db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GMC_DATABASE_URL": demo_db_url, "GMC_ENVIRONMENT": "development",
           "GMC_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "gmc.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, seconds=30)
        with httpx.Client(base_url=base) as client:
            client.get("/login")
            resp = client.post("/login", data={"username": "scientist", "password": "demo-scientist-2026",
                                               "csrf_token": client.cookies["gmc_csrf"]})
            assert resp.status_code == 303
            assert client.get("/api/me").json()["roles"] == ["scientist"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    log = out.decode()
    assert '"route": "/api/me"' in log
