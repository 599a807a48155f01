"""Fresh `gmc interpret rare` processes of two source trees on the same spiked cases: CPU, peak RSS, equal output.

    .venv/bin/python bench/rare/fresh_compare.py --before /tmp/base/src --after src --cases 6 --work /tmp/fresh

Spikes `--cases` development cases (seeded shuffle of ../shared's phenopackets) into the background exome as the
benchmark does, then runs each case once per tree (before, then after) as its own process, with PYTHONPATH set to
the tree, and prints one JSON line per case: CPU (user + system) and peak RSS of each, and whether the RESULT.json
`genes` are identical. The first process builds the on-disk indexes; leave its case out of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from gmc.interpretation.rare.spike import load_background, prepare_case

SHARED = Path(os.environ.get("GMC_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "benchmarks" / "rare"


def main() -> None:
    """Prints one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="src directory of the first tree")
    parser.add_argument("--after", required=True, help="src directory of the second tree")
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--limit", default="100")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    background = load_background(SHARED / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
    paths = sorted((SHARED / "phenopackets").glob("*.json"))
    random.Random(7).shuffle(paths)
    cases = []
    for path in paths:
        try:
            cases.append(prepare_case(path, background, args.work, seed=1))
        except Exception as exc:  # noqa: BLE001 - a case the spiking refuses is skipped, as the benchmark does
            print(f"skipped {path.name}: {exc}", file=sys.stderr)
        if len(cases) == args.cases:
            break
    for case in cases:
        row: dict[str, object] = {"case": case.phenopacket_path.name.split(".")[0]}
        genes = {}
        for label, src in (("before", args.before), ("after", args.after)):
            out = args.work / f"{row['case']}.{label}.json"
            command = [sys.executable, "-m", "gmc.cli", "interpret", "rare", "--phenopacket",
                       str(case.phenopacket_path), "--vcf", str(case.vcf_path), "--out", str(out),
                       "--limit", args.limit]
            started = time.perf_counter()
            process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(Path(src).resolve())},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(process.pid, 0)
            if status:
                raise SystemExit(f"{label} failed on {row['case']}: {process.stderr.read().decode()[-800:]}")
            genes[label] = json.loads(out.read_text())["genes"]
            row[f"{label}_cpu"] = round(usage.ru_utime + usage.ru_stime, 2)
            row[f"{label}_rss_mb"] = round(usage.ru_maxrss / 1024)
            row[f"{label}_wall"] = round(time.perf_counter() - started, 1)
        row["equal"] = genes["before"] == genes["after"]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
