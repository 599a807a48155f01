"""Scan-to-update throughput and latency on PostgreSQL through a real uvicorn server.

Starts a throwaway PostgreSQL cluster (the test suite's helper), migrates it, loads the foundation demo,
registers N collected samples, then C concurrent scanning stations (one API token each) scan every
sample in: POST /api/samples/{barcode}/receive. Prints throughput and latency percentiles as JSON.

    .venv/bin/python bench/samples/bench_scan.py --samples 2000 --stations 8
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _conftest():
    spec = importlib.util.spec_from_file_location("gmc_test_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, n: int, stations: int) -> list[str]:
    """Loads users, one consented participant with a referral, n collected samples; returns station tokens."""
    from sqlalchemy import select

    from gmc.audit.service import Actor
    from gmc.auth.models import User
    from gmc.auth.service import create_token, principal_for
    from gmc.db.core import Database
    from gmc.demo.service import DEMO_LOADERS, DemoSummary
    from gmc.organisations.models import Trust
    from gmc.registry.consent import record_consent
    from gmc.registry.models import ConsentForm, Participant, Referral
    from gmc.samples.service import NewSpecimen, register_specimen

    db = Database(url)
    actor = Actor.system("bench")
    with db.transaction() as s:
        for loader in DEMO_LOADERS:
            loader(s, actor, DemoSummary())
    with db.transaction() as s:
        now = datetime.now(UTC)
        trust = s.execute(select(Trust).where(Trust.code == "RRK")).scalar_one()
        p = Participant(participant_id="PBENCH001", family_name="Bench", given_name="Mark", sex="unknown",
                        created_at=now, updated_at=now)
        s.add(p)
        s.flush()
        r = Referral(referral_id="RBENCH001", participant_id=p.id, trust_id=trust.id, referring_clinician="Dr B",
                     referral_date=date(2026, 1, 1), programme_arm="rare_disease", clinical_indication="bench",
                     created_at=now)
        form = ConsentForm(code="BENCH", version="1", title="Bench", choices=["taking_part"])
        s.add_all([r, form])
        s.flush()
        record_consent(s, actor=actor, participant=p, form=form, consented_on=date(2026, 1, 1),
                       given_by="participant", choices={"taking_part": True})
        user = s.execute(select(User).where(User.username == "lab")).scalar_one()
        lab = principal_for(s, user, auth_method="session")
        for i in range(n):
            register_specimen(s, lab, NewSpecimen(f"BENCH-{i:06d}", "blood_edta", "PBENCH001", trust.id, now,
                                                  "bench", referral_id="RBENCH001"))
        tokens = [create_token(s, actor=actor, user=user, name=f"station {i}")[1] for i in range(stations)]
    db.dispose()
    return tokens


def main() -> None:
    """Runs the benchmark and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--stations", type=int, default=8)
    args = parser.parse_args()
    conftest = _conftest()
    server = conftest.PostgresServer()
    proc = None
    try:
        server.execute_autocommit("CREATE DATABASE gmc_bench")
        url = server.url("gmc_bench")
        from gmc.db.migrate import upgrade

        upgrade(url)
        tokens = _prepare(url, args.samples, args.stations)
        port = _free_port()
        env = {**os.environ, "GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test", "GMC_LOG_LEVEL": "WARNING",
               "GMC_DATA_DIR": tempfile.mkdtemp(prefix="gmc-bench-")}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "gmc.web.app:create_app", "--port",
                                 str(port), "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        barcodes = [f"BENCH-{i:06d}" for i in range(args.samples)]
        latencies: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()

        def station(k: int) -> None:
            mine = barcodes[k::args.stations]
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[k]}"}, timeout=60) as c:
                for code in mine:
                    t = time.perf_counter()
                    resp = c.post(f"/api/samples/{code}/receive")
                    dt = time.perf_counter() - t
                    with lock:
                        latencies.append(dt)
                        if resp.status_code != 200:
                            errors.append(resp.status_code)

        start = time.perf_counter()
        threads = [threading.Thread(target=station, args=(k,)) for k in range(args.stations)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        ordered = sorted(latencies)
        print(json.dumps({
            "samples": args.samples, "stations": args.stations, "errors": len(errors),
            "wall_seconds": round(wall, 2), "scans_per_second": round(len(latencies) / wall, 1),
            "latency_ms": {"median": round(statistics.median(ordered) * 1000, 1),
                           "p95": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
                           "p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
                           "max": round(ordered[-1] * 1000, 1)},
        }, indent=2))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        server.stop()


if __name__ == "__main__":
    main()
