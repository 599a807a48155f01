"""50 concurrent transitions on one sample through a real uvicorn server on PostgreSQL: none lost, none doubled."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.conftest import wait_until_serving

from gmc.audit.service import Actor
from gmc.auth.models import User
from gmc.auth.service import create_token
from gmc.samples.lifecycle import TRANSITIONS, SampleState, is_legal_path

WORKERS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(demo_db_url: str, tmp_path: Path):
    """A real uvicorn server (its own process, thread pool and connection pool) over the test database."""
    port = _free_port()
    env = {**os.environ, "GMC_DATABASE_URL": demo_db_url, "GMC_ENVIRONMENT": "test",
           "GMC_DATA_DIR": str(tmp_path / "data"), "GMC_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "live_app:create", "--app-dir",
                             str(Path(__file__).parent), "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, seconds=30, log=tmp_path / "server.log")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("demo_db_url", ["postgresql"], indirect=True)
def test_fifty_concurrent_transitions_keep_every_accepted_change(live_server, demo_database, kit) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s)
        sample = kit.collect(s, kit.principal(s, "lab"), case, "BLD-RACE-1")
        sample_id = sample.id
        # One token per scanning station, as 50 staff would have (a shared token serialises on its row).
        user = s.execute(select(User).where(User.username == "lab")).scalar_one()
        secrets = [create_token(s, actor=Actor.system("test"), user=user, name=f"station {i}")[1]
                   for i in range(WORKERS)]
    headers = {"Authorization": f"Bearer {secrets[0]}"}
    start = httpx.get(f"{live_server}/api/samples/BLD-RACE-1", headers=headers).json()

    # A worker that dies before the barrier breaks it for the rest (a failure, not a hang of the suite).
    barrier = threading.Barrier(WORKERS, timeout=60)
    outcomes: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        auth = {"Authorization": f"Bearer {secrets[seed]}"}
        with httpx.Client(base_url=live_server, headers=auth, timeout=60) as client:
            seen = client.get("/api/samples/BLD-RACE-1").json()
            # Every worker proposes a legal next step from what it saw (never destruction, so the race goes on).
            options = [s for s in seen["allowed_next"] if s != "destroyed"]
            target = rng.choice(options)
            barrier.wait()
            resp = client.post("/api/samples/BLD-RACE-1/transition",
                               json={"to_state": target, "expected_version": seen["version"]})
            with lock:
                outcomes.append((resp.status_code, target, resp.text))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = [code for code, _, _ in outcomes]
    assert len(outcomes) == WORKERS and set(statuses) <= {200, 409}, {c: t for c, _, t in outcomes if c not in (200, 409)}
    accepted = statuses.count(200)
    refused = [text for code, _, text in outcomes if code == 409]
    assert accepted >= 1 and refused, "50 simultaneous changes of one version must both succeed and conflict"
    assert all("changed" in t or "version" in t or "cannot go" in t or "already" in t for t in refused)

    final = httpx.get(f"{live_server}/api/samples/BLD-RACE-1", headers=headers).json()
    custody = httpx.get(f"{live_server}/api/samples/BLD-RACE-1/custody", headers=headers).json()
    steps = [e for e in custody if e["kind"] == "transition"]
    # Every accepted change is kept (one event and one version each), nothing refused left a trace.
    assert len(steps) == accepted and final["version"] == start["version"] + accepted
    path = [start["state"]] + [e["to_state"] for e in steps]
    assert all(e["from_state"] == prev for e, prev in zip(steps, path, strict=False))
    assert is_legal_path(path) and path[-1] == final["state"]
    assert all(SampleState(b) in TRANSITIONS[SampleState(a)] for a, b in zip(path, path[1:], strict=False))

    with demo_database.session() as s:
        from gmc.audit.chain import verify_chain
        from gmc.audit.repository import history

        audit = [e for e in history(s, entity_type="sample", entity_id=sample_id) if e.verb == "transition"]
        assert [e.summary["to"] for e in audit] == path[1:]
        assert verify_chain(s).ok
