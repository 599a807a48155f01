"""The lost-write sequence, replayed against a real server on SQLite: a request naming the database file as an
input, then another process opening the database, then writes. Every acknowledged write must still be there.

Opening and closing the database file inside the server process would drop the process's POSIX locks; the next
process to open the database then thinks it is alone and deletes the WAL the server still writes to, and from
then on acknowledged writes vanish. File inputs never open a file the request names before it is checked, and
the database is refused however it is named (path, folder escape, symlink, hard link).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import wait_until_serving

from gmc.demo.service import DEMO_USERS

GMC = Path(sys.executable).with_name("gmc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_sqlite_server(sqlite_full_demo: Path, tmp_path: Path, refdata_dir: Path):
    """A real `gmc serve` process over a copy of the full demo in its own data directory."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sqlite_full_demo, data / "gmc.db")
    port = _free_port()
    env = {**os.environ, "GMC_DATA_DIR": str(data), "GMC_ENVIRONMENT": "test", "GMC_REFDATA": str(refdata_dir),
           "GMC_LOG_LEVEL": "WARNING"}
    env.pop("GMC_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([str(GMC), "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, seconds=60, log=tmp_path / "server.log")
        yield base, data, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _token(base: str, username: str) -> dict[str, str]:
    password = next(u.password for u in DEMO_USERS if u.username == username)
    resp = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_naming_the_database_as_an_input_loses_no_acknowledged_write(live_sqlite_server) -> None:
    base, data, env = live_sqlite_server
    db = data / "gmc.db"
    scientist, recruiter = _token(base, "scientist"), _token(base, "recruiter")
    case_id = next(c["case_id"] for c in httpx.get(f"{base}/api/rare/cases", headers=scientist).json())
    cancer_case = httpx.get(f"{base}/api/cancer/cases", headers=scientist).json()[0]["case_id"]
    incoming = data / "incoming" / "WMGMC"
    incoming.mkdir(parents=True)
    (incoming / "db.vcf.gz").symlink_to(db)  # an operator's mistake, or a planted link
    os.link(db, incoming / "hard.vcf.gz")
    attempts = [
        (f"/api/rare/cases/{case_id}/runs", {"vcf": str(db), "wait": True}),
        (f"/api/rare/cases/{case_id}/runs", {"vcf": "incoming:../../gmc.db", "wait": True}),
        (f"/api/rare/cases/{case_id}/runs", {"vcf": "incoming:db.vcf.gz", "wait": True}),
        (f"/api/rare/cases/{case_id}/runs", {"vcf": "incoming:hard.vcf.gz", "wait": True}),
        (f"/api/cancer/cases/{cancer_case}/runs", {"vcf": "incoming:db.vcf.gz", "germline_vcf": str(db)}),
        ("/api/genomes/ingest", {"case_id": case_id, "files": [{"path": "db.vcf.gz", "samples": [
            {"vcf_sample": "x", "participant_id": "P00000000"}]}]}),
    ]
    for path, body in attempts:
        resp = httpx.post(f"{base}{path}", json=body, headers=scientist, timeout=120)
        assert resp.status_code in (403, 422), (path, body, resp.status_code, resp.text)
    # Another process opens and closes the database, as `gmc audit verify` or sqlite3 would.
    verify = subprocess.run([str(GMC), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr
    registered = []
    for i in range(3):
        resp = httpx.post(f"{base}/api/participants", headers=recruiter, json={
            "family_name": "Lostwrite", "given_name": f"Zed{i}", "date_of_birth": "1990-01-0" + str(i + 1),
            "sex": "male", "trust_code": "RQ3", "decision": "new"})
        assert resp.status_code == 201, resp.text
        registered.append(resp.json()["participant"]["participant_id"])
        subprocess.run([str(GMC), "audit", "verify"], env=env, capture_output=True, timeout=120, check=True)
    # A fresh process sees every acknowledged write and its audit event.
    con = sqlite3.connect(db)
    try:
        found = {row[0] for row in con.execute(
            f"select participant_id from participant where participant_id in ({','.join('?' * len(registered))})",
            registered)}
        created = con.execute("select count(*) from audit_event where verb = 'create' and entity_type = "
                              "'participant' and entity_id in (select cast(id as text) from participant where "
                              "family_name = 'Lostwrite')").fetchone()[0]
    finally:
        con.close()
    assert found == set(registered)
    assert created == len(registered)
    final = subprocess.run([str(GMC), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0 and "intact" in final.stdout
