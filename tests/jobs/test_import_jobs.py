"""Large imports run as background jobs: 202, progress, all-or-nothing outcome, restart safety (both engines)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.conftest import wait_for_job

from gmc.audit.checkpoints import verify_audit
from gmc.audit.models import AuditEvent
from gmc.jobs.models import BackgroundJob
from gmc.jobs.service import INTERRUPTED, MAX_ACTIVE_PER_USER, STOPPED
from gmc.registry.models import Participant
from gmc.web.app import create_app

HEADER = "family_name,given_name,date_of_birth,sex,trust_code,hospital_number\n"
SEXES = {"MALE": "male", "FEMALE": "female"}


def _rows(shared_dir: Path) -> list[str]:
    """One participant row per published rare-disease case in ../shared (its family id as the family name)."""
    rows = []
    for i, path in enumerate(sorted((shared_dir / "benchmarks" / "rare" / "phenopackets").glob("*.json"))):
        subject = json.loads(path.read_text())["subject"]
        family = "".join(ch for ch in path.stem.split("_", 2)[-1] if ch.isalpha()) or "Family"
        born = f"{1950 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append(f"{family.title()}{chr(65 + i % 26)}{chr(65 + i // 26 % 26)},Proband,{born},"
                    f"{SEXES.get(subject.get('sex'), 'unknown')},RQ3,PP{i:05d}\n")
    return rows


def _count(database, model) -> int:
    with database.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.fixture
def job_client(demo_database, make_settings):
    """A client of an app that imports every file above 1 KiB as a background job."""
    app = create_app(make_settings(demo_database.url, import_job_bytes=1024), database=demo_database)
    with TestClient(app) as client:
        yield client


def test_large_import_runs_as_a_job_with_progress_and_counts(job_client, bearer, login, demo_database,
                                                             shared_dir) -> None:
    rows = _rows(shared_dir)[:120]
    h = {**bearer(job_client, "recruiter"), "content-type": "text/csv"}
    resp = job_client.post("/api/participants/import", content=(HEADER + "".join(rows)).encode(), headers=h)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["status"] == "queued" and resp.headers["location"] == job["status_url"]
    done = wait_for_job(job_client, h, job["status_url"])
    assert done["status"] == "succeeded", done["error"]
    assert (done["result"]["rows"], done["result"]["created"], done["result"]["linked"]) == (len(rows), len(rows), 0)
    assert done["rows_done"] == done["rows_total"] == len(rows)
    assert _count(demo_database, Participant) == len(rows)
    # The same file again links every row (safe to repeat).
    again = wait_for_job(job_client, h, job_client.post("/api/participants/import", content=(HEADER + "".join(rows)).encode(),
                                                 headers=h).json()["status_url"])
    assert again["result"]["linked"] == len(rows) and _count(demo_database, Participant) == len(rows)
    # Only the submitter sees the job; everyone else is told it does not exist.
    assert job_client.get(job["status_url"], headers=bearer(job_client, "lab")).status_code == 404
    # The submission and the outcome are in the audit trail, whose chain still verifies.
    with demo_database.session() as s:
        verbs = s.execute(sa.select(AuditEvent.summary).where(AuditEvent.entity_type == "background_job",
                                                              AuditEvent.entity_id == job["job_id"])).scalars().all()
        assert [v["status"] for v in verbs] == ["queued", "succeeded"]
        assert verify_audit(s, identity=demo_database.identity).ok
    # The page shows the outcome to the submitter.
    login(job_client, "recruiter")
    page = job_client.get(job["page_url"])
    assert page.status_code == 200 and "succeeded" in page.text and f"created {len(rows)}" in page.text


def test_a_bad_row_fails_the_job_naming_line_and_field_and_imports_nothing(job_client, bearer, demo_database,
                                                                           shared_dir) -> None:
    rows = _rows(shared_dir)
    rows[300] = rows[300].replace("-", "/", 1)  # a date that is not ISO (names hold letters only)
    h = {**bearer(job_client, "recruiter"), "content-type": "text/csv"}
    job = job_client.post("/api/participants/import", content=(HEADER + "".join(rows)).encode(), headers=h).json()
    done = wait_for_job(job_client, h, job["status_url"])
    assert done["status"] == "failed"
    assert [(p["line"], p["field"]) for p in done["error"]["problems"]] == [(302, "date_of_birth")]
    assert "nothing was imported" in done["error"]["detail"]
    assert _count(demo_database, Participant) == 0


def test_small_files_are_still_imported_in_the_request(demo_client, bearer, demo_database) -> None:
    h = {**bearer(demo_client, "recruiter"), "content-type": "text/csv"}
    resp = demo_client.post("/api/participants/import", content=(HEADER + "Smith,Joan,1940-01-01,female,RQ3,W1\n")
                            .encode(), headers=h)
    assert resp.status_code == 200 and resp.json()["created"] == 1


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_a_job_whose_server_died_is_marked_failed_and_wrote_nothing(job_client, bearer, demo_database) -> None:
    runner = job_client.app.state.jobs
    h = bearer(job_client, "recruiter")
    with demo_database.transaction() as s:
        user_id = s.execute(sa.text("SELECT id FROM app_user WHERE username = 'recruiter'")).scalar_one()
        for job_id, status in (("a" * 32, "running"), ("b" * 32, "queued")):
            s.add(BackgroundJob(id=job_id, kind="registry.participants_csv", status=status, user_id=user_id,
                                source="upload.csv", size_bytes=10, rows_done=0,
                                runner=f"{runner.host}:{_dead_pid()}:deadbeef",
                                created_at=sa.func.now()))
    # A page view notices the dead runner at once ...
    body = job_client.get(f"/api/jobs/{'a' * 32}", headers=h).json()
    assert body["status"] == "failed" and body["error"]["detail"] == INTERRUPTED
    # ... and a server starting up marks every job of a dead process on this host.
    with demo_database.transaction() as s:
        s.execute(sa.update(BackgroundJob).where(BackgroundJob.id == "b" * 32).values(status="queued"))
    assert runner.recover() == 1
    assert job_client.get(f"/api/jobs/{'b' * 32}", headers=h).json()["error"]["detail"] == INTERRUPTED


def test_shutting_down_stops_a_running_job_which_rolls_back(demo_database, make_settings, bearer,
                                                            shared_dir) -> None:
    rows = _rows(shared_dir) * 6  # the repeats link; long enough to be stopped in the middle
    app = create_app(make_settings(demo_database.url, import_job_bytes=1024), database=demo_database)
    with TestClient(app) as client:
        h = {**bearer(client, "recruiter"), "content-type": "text/csv"}
        job = client.post("/api/participants/import", content=(HEADER + "".join(rows)).encode(), headers=h).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            live = app.state.jobs.live(job["job_id"])
            if live is not None and live.phase == "importing" and live.done > 10:
                break
            time.sleep(0.02)
    # Leaving the client shut the app down: the job stopped at its next row and rolled back.
    with demo_database.session() as s:
        stored = s.get(BackgroundJob, job["job_id"])
        assert stored.status == "failed" and stored.error["detail"] == STOPPED
        assert stored.rows_done > 10 and stored.rows_total == len(rows)
    assert _count(demo_database, Participant) == 0


def test_job_ids_that_cannot_exist_are_not_found(demo_client, bearer) -> None:
    h = bearer(demo_client, "recruiter")
    for bad in ("x", "%00", "a" * 32, "A" * 32, "0" * 400):
        assert demo_client.get(f"/api/jobs/{bad}", headers=h).status_code == 404


def test_one_user_cannot_queue_imports_without_end(job_client, bearer, demo_database, shared_dir) -> None:
    runner = job_client.app.state.jobs
    with demo_database.transaction() as s:
        user_id = s.execute(sa.text("SELECT id FROM app_user WHERE username = 'recruiter'")).scalar_one()
        for n in range(MAX_ACTIVE_PER_USER):
            s.add(BackgroundJob(id=f"{n:032x}", kind="registry.participants_csv", status="queued", user_id=user_id,
                                source="upload.csv", size_bytes=10, rows_done=0, runner=runner.runner_id,
                                created_at=sa.func.now()))
    h = {**bearer(job_client, "recruiter"), "content-type": "text/csv"}
    resp = job_client.post("/api/participants/import", content=(HEADER + "".join(_rows(shared_dir))).encode(), headers=h)
    assert resp.status_code == 409 and "wait for one to finish" in resp.json()["detail"]
    assert _count(demo_database, BackgroundJob) == MAX_ACTIVE_PER_USER
