"""Many users at once: a participant page (read) and a sample scan (write) from 1 and 50 concurrent clients.

For each engine (SQLite, a throwaway PostgreSQL cluster) it migrates a fresh database, loads the foundation demo
and one consented participant with enough collected samples, starts the production server exactly as
`gmc serve` runs it (one uvicorn process, the app factory), then for each concurrency level runs C client threads
for S seconds, each with its own API token:

- read:  GET /participants/{id} (the participant's HTML page: record, consents, samples, audited read);
- write: POST /api/samples/{barcode}/receive, each client scanning its own samples (a custody event, an audit
  event and the sample's new state in one transaction).

It prints, per run, requests, server errors (5xx), other refusals, throughput and p50/p99 latency, and after each
write run checks that every accepted scan is in the database (no lost writes). Last, it POSTs a 10 MB participant
CSV to /api/participants/import and polls /health every 0.2 s while the import runs. Usage:

    .venv/bin/python bench/load/bench_load.py --clients 1 50 --seconds 60
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PARTICIPANT = "PLOAD0001"


def _conftest():
    spec = importlib.util.spec_from_file_location("gmc_test_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are made
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, samples: int, clients: int) -> list[str]:
    """Demo users, one consented participant with a referral and `samples` collected samples; a token per client
    (the lab user) and, last, one of the recruiter for the import."""
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
        p = Participant(participant_id=PARTICIPANT, family_name="Load", given_name="Test", sex="unknown",
                        date_of_birth=date(1980, 1, 1), created_at=now, updated_at=now)
        s.add(p)
        s.flush()
        r = Referral(referral_id="RLOAD0001", participant_id=p.id, trust_id=trust.id, referring_clinician="Dr L",
                     referral_date=date(2026, 1, 1), programme_arm="rare_disease", clinical_indication="load test",
                     created_at=now)
        form = ConsentForm(code="LOAD", version="1", title="Load", choices=["taking_part"])
        s.add_all([r, form])
        s.flush()
        record_consent(s, actor=actor, participant=p, form=form, consented_on=date(2026, 1, 1),
                       given_by="participant", choices={"taking_part": True})
        user = s.execute(select(User).where(User.username == "lab")).scalar_one()
        lab = principal_for(s, user, auth_method="session")
        for i in range(samples):
            register_specimen(s, lab, NewSpecimen(f"LOAD-{i:06d}", "blood_edta", PARTICIPANT, trust.id, now,
                                                  "bench", referral_id="RLOAD0001"))
        tokens = [create_token(s, actor=actor, user=user, name=f"client {i}")[1] for i in range(clients)]
        recruiter = s.execute(select(User).where(User.username == "recruiter")).scalar_one()
        tokens.append(create_token(s, actor=actor, user=recruiter, name="importer")[1])
    db.dispose()
    return tokens


def _received(url: str) -> int:
    from sqlalchemy import func, select

    from gmc.db.core import Database
    from gmc.samples.models import Sample

    db = Database(url)
    with db.session() as s:
        n = s.execute(select(func.count()).select_from(Sample).where(Sample.state == "received")).scalar_one()
    db.dispose()
    return n


def _run(base: str, tokens: list[str], clients: int, seconds: float, kind: str,
         barcodes: list[str]) -> dict[str, object]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    accepted: list[str] = []
    dropped: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(k: int) -> None:
        mine = iter(barcodes[k::clients])
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[k]}"}, timeout=120) as c:
            while time.perf_counter() < deadline:
                code = None if kind == "read" else next(mine, None)
                if kind == "write" and code is None:
                    return
                t = time.perf_counter()
                try:
                    resp = c.get(f"/participants/{PARTICIPANT}") if kind == "read" else c.post(
                        f"/api/samples/{code}/receive")
                except httpx.TransportError:  # the connection dropped: counted, and the client carries on
                    with lock:
                        dropped.append(time.perf_counter() - t)
                    continue
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    statuses[resp.status_code] += 1
                    if kind == "write" and resp.status_code == 200:
                        accepted.append(code)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ordered = sorted(latencies) or [0.0]
    return {
        "kind": kind, "clients": clients, "seconds": round(wall, 1), "requests": len(latencies),
        "server_errors": sum(n for s, n in statuses.items() if s >= 500), "dropped_connections": len(dropped),
        "statuses": dict(sorted(statuses.items())), "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 1),
        "accepted": len(accepted),
    }


def _import_while_polling(base: str, token: str, megabytes: float, seconds: float) -> dict[str, object]:
    """POSTs a participant CSV of about `megabytes` MB and polls /health every 0.2 s meanwhile (up to `seconds`)."""
    rows = ["family_name,given_name,trust_code,date_of_birth,sex"]
    size, i = len(rows[0]), 0
    while size < megabytes * 1e6:
        i += 1
        row = f"Importfamily{i},Given{i % 997},RRK,{1940 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d},female"
        rows.append(row)
        size += len(row) + 1
    body = ("\n".join(rows) + "\n").encode()
    outcome: dict[str, object] = {}

    def post() -> None:
        t = time.perf_counter()
        try:
            auth = {"Authorization": f"Bearer {token}"}
            resp = httpx.post(f"{base}/api/participants/import", content=body, timeout=None,
                              headers={**auth, "content-type": "text/csv"})
            outcome.update(status=resp.status_code, accepted_seconds=round(time.perf_counter() - t, 2))
            if resp.status_code == 202:  # a background job: follow it to its end
                url = f"{base}{resp.json()['status_url']}"
                while (job := httpx.get(url, headers=auth, timeout=60).json())["status"] in ("queued", "running"):
                    outcome.update(job_progress=f"{job['phase']} {job['rows_done']}/{job['rows_total']}")
                    time.sleep(1)
                outcome.update(status=f"202 then {job['status']}", result=job["result"] or job["error"])
            outcome.update(import_seconds=round(time.perf_counter() - t, 1))
        except httpx.HTTPError as exc:
            outcome.update(status=type(exc).__name__)

    sender = threading.Thread(target=post, daemon=True)
    sender.start()
    health: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    while sender.is_alive() and time.perf_counter() < deadline:
        t = time.perf_counter()
        try:
            ok = httpx.get(f"{base}/health", timeout=30).status_code == 200
        except httpx.HTTPError:
            ok = False
        health.append(time.perf_counter() - t)
        failures += not ok
        time.sleep(0.2)
    sender.join(timeout=0)
    ordered = sorted(health) or [0.0]
    return {"kind": "import", "bytes": len(body), "rows": len(rows) - 1, "health_checks": len(health),
            "health_failures": failures, "health_p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "health_max_ms": round(ordered[-1] * 1000, 1), "import_status": outcome.get("status", "running"),
            "import_seconds": outcome.get("import_seconds"), "accepted_seconds": outcome.get("accepted_seconds"),
            "job_progress_at_end": outcome.get("job_progress")}


def bench_engine(engine: str, url: str, levels: list[int], seconds: float, samples: int,
                 import_mb: float = 0) -> list[dict[str, object]]:
    """Runs every level's read and write runs against one database; returns the rows."""
    from gmc.db.migrate import upgrade

    upgrade(url)
    tokens = _prepare(url, samples, max(levels))
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="gmc-load-")
    env = {**os.environ, "GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test", "GMC_LOG_LEVEL": "WARNING",
           "GMC_DATA_DIR": data_dir, "GMC_AUDIT_CHECKPOINT_FILE": f"{data_dir}/checkpoints.jsonl"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "gmc.web.app:create_app", "--port",
                             str(port), "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows: list[dict[str, object]] = []
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        barcodes = [f"LOAD-{i:06d}" for i in range(samples)]
        used = 0
        for clients in levels:
            rows.append({"engine": engine, **_run(base, tokens, clients, seconds, "read", [])})
            before = _received(url)
            row = _run(base, tokens, clients, seconds, "write", barcodes[used:])
            used += int(row["requests"]) + clients
            row["lost_writes"] = int(row["accepted"]) - (_received(url) - before)
            rows.append({"engine": engine, **row})
            print(json.dumps(rows[-2]), json.dumps(rows[-1]), sep="\n", flush=True)
        if import_mb:
            rows.append({"engine": engine, **_import_while_polling(base, tokens[-1], import_mb, seconds)})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still finishing the import: stop it
            proc.kill()
            proc.wait(timeout=30)
    return rows


def main() -> None:
    """Runs the benchmark on both engines and prints the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--import-mb", type=float, default=10,
                        help="then POST a participant CSV this large and poll /health meanwhile (0: skip)")
    args = parser.parse_args()
    started = datetime.now(UTC).isoformat(timespec="minutes")
    load = os.getloadavg()
    rows: list[dict[str, object]] = []
    if "sqlite" in args.engines:
        folder = Path(tempfile.mkdtemp(prefix="gmc-load-sqlite-"))
        rows += bench_engine("sqlite", f"sqlite:///{folder / 'gmc.db'}", args.clients, args.seconds, args.samples,
                             args.import_mb)
    if "postgresql" in args.engines:
        server = _conftest().PostgresServer()
        try:
            server.execute_autocommit("CREATE DATABASE gmc_load")
            rows += bench_engine("postgresql", server.url("gmc_load"), args.clients, args.seconds, args.samples,
                                 args.import_mb)
        finally:
            server.stop()
    print(json.dumps({"started": started, "load_before": [round(x, 1) for x in load],
                      "load_after": [round(x, 1) for x in os.getloadavg()], "cpus": os.cpu_count(),
                      "python": platform.python_version(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
