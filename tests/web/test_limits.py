"""Request bodies are limited per route: 1 MiB by default, GMC_MAX_IMPORT_BYTES for imports (413 past it)."""

from __future__ import annotations

import pytest

from gmc.settings import get_settings

pytestmark = pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)


def test_a_body_over_the_default_limit_is_refused(demo_client, bearer) -> None:
    headers = {**bearer(demo_client, "recruiter"), "content-type": "application/json"}
    big = b'{"family_name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    resp = demo_client.post("/api/participants", content=big, headers=headers)
    assert resp.status_code == 413


def test_an_import_takes_more_but_not_without_end(demo_client, bearer) -> None:
    headers = {**bearer(demo_client, "recruiter"), "content-type": "text/csv"}
    rows = "family_name,given_name,trust_code\n" + "Smith,Ann,NOPE\n" * 80_000  # about 1.2 MB
    resp = demo_client.post("/api/participants/import", content=rows.encode(), headers=headers)
    assert resp.status_code == 202  # taken (a background job, being large), not refused for its size
    job = demo_client.get(resp.json()["status_url"], headers=headers)
    while job.json()["status"] in ("queued", "running"):
        job = demo_client.get(resp.json()["status_url"], headers=headers)
    assert job.json()["status"] == "failed" and job.json()["error"]["field"] == "trust_code"  # read and checked
    limit = get_settings().max_import_bytes
    chunk = b"Smith,Ann,RRK\n" * 70_000  # about 1 MB

    def stream():  # no Content-Length: counted as it arrives
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    refused = demo_client.post("/api/participants/import", content=stream(), headers=headers)
    assert refused.status_code == 413
