"""A large specimen CSV is imported by a background job, through the API and the samples page (both engines)."""

from __future__ import annotations

import time

import sqlalchemy as sa
from fastapi.testclient import TestClient

from gmc.samples.models import Sample
from gmc.web.app import create_app

HEADER = "barcode,participant_id,referral_id,trust_code,sample_type,collected_at,collected_by\n"


def _csv(case, prefix: str, n: int) -> str:
    pid, ref = case.participant.participant_id, case.referral.referral_id
    return HEADER + "".join(f"{prefix}-{i:04d},{pid},{ref},RRK,blood_edta,2026-11-01T09:30:00,Nurse A\n"
                            for i in range(n))


def _count(database, prefix: str) -> int:
    with database.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(Sample)
                         .where(Sample.barcode.like(f"{prefix}-%"))).scalar_one()


def _finish(client, url: str, headers=None) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.1)
    raise AssertionError(body)


def test_large_specimen_files_are_background_jobs(demo_database, make_settings, kit, bearer, login) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s, trust="RRK")
    app = create_app(make_settings(demo_database.url, import_job_bytes=1024), database=demo_database)
    with TestClient(app) as client:
        h = bearer(client, "lab")
        resp = client.post("/api/samples/import", content=_csv(case, "JOB", 40).encode(),
                           headers={**h, "content-type": "text/csv"})
        assert resp.status_code == 202
        done = _finish(client, resp.json()["status_url"], h)
        assert done["status"] == "succeeded" and done["result"] == {"rows": 40, "imported": 40}
        assert _count(demo_database, "JOB") == 40
        # The same barcodes again: every row is refused by line and field, and nothing is added.
        again = client.post("/api/samples/import", content=_csv(case, "JOB", 40).encode(),
                            headers={**h, "content-type": "text/csv"})
        failed = _finish(client, again.json()["status_url"], h)
        assert failed["status"] == "failed" and len(failed["error"]["problems"]) == 40
        assert failed["error"]["problems"][0] == {"line": 2, "field": "barcode",
                                                  "message": "duplicate barcode JOB-0000: already in gmc"}
        # The samples page hands a large upload to a job and shows its page.
        login(client, "lab")
        csrf = client.cookies.get("gmc_csrf")
        page = client.post("/samples/import", files={"file": ("batch.csv", _csv(case, "PAGE", 40), "text/csv")},
                           data={"csrf_token": csrf}, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/jobs/")
        job_id = page.headers["location"].rsplit("/", 1)[1]
        assert _finish(client, f"/api/jobs/{job_id}")["status"] == "succeeded"
        shown = client.get(page.headers["location"])
        assert "batch.csv" in shown.text and "imported 40" in shown.text
        assert _count(demo_database, "PAGE") == 40
