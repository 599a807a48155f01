"""Cohort-count latency as a researcher gets it: a fresh `gmc serve` over a generated research world
(bench/research/generate_world.py), then POST /api/research/cohorts/count with varied criteria.

    .venv/bin/python bench/research/count_latency.py --world /tmp/gmc_bench/research_10k --queries 60

Reports the first request (ontology and transcript models loaded on first use) apart from the rest, and p50/p95/max
over the rest; every query touches the variant store (a gene with qualifying genotypes) or the phenotypes. Beside the
wall time it reports the server process's CPU time per request (from /proc), the better guide on a loaded machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

SEIZURE = "HP:0001250"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(values: list[float]) -> float:
    """The 95th percentile by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def genes(refdata: Path) -> list[str]:
    """MANE genes (the store's sites lie on their exons)."""
    with gzip.open(refdata / "grch38" / "mane_select.genepred.tsv.gz", "rt") as fh:
        next(fh)
        return sorted({line.split("\t")[10] for line in fh})


def queries(n: int, seed: int, refdata: Path, terms: list[str]) -> list[dict]:
    """Varied criteria: gene carriers alone and with phenotype, arm, sex and age filters; HPO subtrees; cancers."""
    rng = random.Random(seed)
    pool = genes(refdata)
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append({"genes": [rng.choice(pool)]})
        elif kind == 1:
            out.append({"hpo_terms": [SEIZURE], "genes": [rng.choice(pool)],
                        "qualifying": {"impacts": ["HIGH", "MODERATE", "LOW"], "max_population_af": 0.01}})
        elif kind == 2:
            out.append({"hpo_terms": [rng.choice(terms)], "programme_arms": ["rare_disease"],
                        "sexes": [rng.choice(["female", "male"])], "age_bands": ["0-4", "5-17"]})
        else:
            out.append({"cancer_types": [rng.choice(["BREAST", "BRCA", "COADREAD", "LUNG", "PRAD"])],
                        "genes": [rng.choice(pool)], "qualifying": {"impacts": [], "clinvar": "no"}})
    return out


def main() -> None:
    """Starts the server, runs the queries, prints JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--refdata", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "refdata")
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "GMC_DATA_DIR": str(args.world), "GMC_DATABASE_URL": f"sqlite:///{args.world / 'gmc.db'}",
           "GMC_REFDATA": str(args.refdata), "GMC_LOG_LEVEL": "WARNING"}
    gmc = Path(sys.executable).with_name("gmc")
    server = subprocess.Popen([str(gmc), "serve", "--port", str(port)], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = httpx.Client(base_url=base, timeout=120)
        token = client.post("/api/auth/token", data={"username": "bench-researcher",
                                                     "password": "bench-researcher-quartz-meadow"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        from gmc.phenotype.ontology import get_ontology

        terms = sorted(get_ontology().descendants("HP:0000707"))[:200]  # nervous system terms
        times, cpu, counts = [], [], []
        for criteria in queries(args.queries + 1, args.seed, args.refdata, terms):
            c, t = cpu_seconds(server.pid), time.perf_counter()
            response = client.post("/api/research/cohorts/count", json={"criteria": criteria}, headers=headers)
            times.append(time.perf_counter() - t)
            cpu.append(cpu_seconds(server.pid) - c)
            response.raise_for_status()
            counts.append(response.json()["count"])
        rest, rest_cpu = times[1:], cpu[1:]
        report = {"world": str(args.world), "queries": len(rest), "first_request_s": round(times[0], 3),
                  "p50_s": round(statistics.median(rest), 3), "p95_s": round(p95(rest), 3),
                  "max_s": round(max(rest), 3), "cpu_p50_s": round(statistics.median(rest_cpu), 3),
                  "cpu_p95_s": round(p95(rest_cpu), 3), "cpu_max_s": round(max(rest_cpu), 3),
                  "load_at_end": [round(x, 1) for x in os.getloadavg()], "counts": counts[:12]}
        print(json.dumps(report, indent=1))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
