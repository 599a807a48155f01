"""A 1,000-participant release timed as a data-access approver runs it: a fresh `gmc research release decide
--approve` process (it builds in the foreground), every part, every genotype of the cohort.

    .venv/bin/python bench/research/release_time.py --world /tmp/gmc_bench/research_10k

The cohort is the world's 1,000 marked participants (seizure HP:0001250 itself observed, all consenting).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def gmc(world: Path, *args: str) -> str:
    """Runs gmc against the world; returns its standard output."""
    env = {**os.environ, "GMC_DATA_DIR": str(world), "GMC_DATABASE_URL": f"sqlite:///{world / 'gmc.db'}",
           "GMC_LOG_LEVEL": "WARNING"}
    done = subprocess.run([str(Path(sys.executable).with_name("gmc")), *args], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def main() -> None:
    """Saves the cohort, requests the release, then times the approval and build."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", type=Path, required=True)
    args = parser.parse_args()
    project = json.loads(gmc(args.world, "research", "project", "list", "--user", "bench-researcher", "--json"))[0]
    cohort = json.loads(gmc(args.world, "research", "cohort", "save", "--user", "bench-researcher", "--project",
                            project["project_id"], "--name", f"marked {time.time():.0f}", "--criteria",
                            str(args.world / "marked.json"), "--json"))
    release = json.loads(gmc(args.world, "research", "release", "request", "--user", "bench-researcher", "--cohort",
                             cohort["cohort_id"], "--purpose", "Timing a 1,000-participant release", "--genotypes",
                             "all", "--json"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    built = json.loads(gmc(args.world, "research", "release", "decide", release["release_id"], "--user",
                           "bench-approver", "--approve", "--note", "bench", "--json"))
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    folder = args.world / "research" / "releases" / built["release_id"]
    print(json.dumps({"release": built["release_id"], "participants": built["participants"],
                      "files": len(built["files"]), "bytes": sum(f["bytes"] for f in built["files"]),
                      "genotype_rows": next(f["rows"] for f in built["files"] if f["name"] == "genotypes.parquet"),
                      "wall_s": round(wall, 1), "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime
                                                               - before.ru_stime, 1),
                      "peak_rss_mb": round(after.ru_maxrss / 1024), "folder": str(folder)}, indent=1))


if __name__ == "__main__":
    main()
