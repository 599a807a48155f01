"""CPU cost of `gmc annotate` per output format on a generated 1 M-variant bgzipped VCF, and of a one-variant run.

Run from the repository root:  .venv/bin/python bench/annotation/writers.py [--runs 3] [--workdir /tmp/gmc_writers]

Writes under the work directory (never in the repo): the genome-wide VCF of bench/annotation/throughput.py
(Platinum NA12878 chr21 spread over chr1-22 and X, 1,045,810 records) bgzipped by htslib, and a one-record VCF
(CFTR F508del). Each `gmc annotate` is a fresh process, as a user runs it; its user+system CPU seconds and wall
seconds come from the kernel's accounting of the child (os.wait4). Also times a plain cyvcf2 pass over the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GMC = ROOT / ".venv" / "bin" / "gmc"


def run(args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gmc_writers"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    genome = args.workdir / "genome_1m.vcf.gz"
    if not genome.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        import pysam
        from throughput import synthetic_genome  # this folder (the script is run directly)

        plain = args.workdir / "genome_1m.plain.vcf.gz"
        print(f"generated {synthetic_genome(plain):,} records", file=sys.stderr)
        unpacked = args.workdir / "genome_1m.vcf"
        subprocess.run(f"gzip -dc {plain} > {unpacked}", shell=True, check=True)
        pysam.tabix_compress(str(unpacked), str(genome), force=True)
        unpacked.unlink()
        plain.unlink()
    one = args.workdir / "one.vcf"
    one.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr7\t117559590\t.\tATCT\tA\t50\tPASS\t.\n")
    plain_pass = [sys.executable, "-c", f"from cyvcf2 import VCF\nfor v in VCF('{genome}'): v.ALT"]
    jobs = [("plain cyvcf2 pass", plain_pass)]
    for suffix in ("parquet", "tsv", "vcf", "vcf.gz"):
        jobs.append((f"gmc annotate -> {suffix}", [str(GMC), "annotate", str(genome), "--out",
                                                   str(args.workdir / f"out.{suffix}")]))
    jobs.append(("gmc annotate, one variant -> tsv", [str(GMC), "annotate", str(one), "--out",
                                                       str(args.workdir / "one.tsv")]))
    print(f"load average at start: {os.getloadavg()}")
    # round-robin: on a shared machine each format's runs meet the same spread of neighbours' load
    results: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in jobs}
    for _ in range(args.runs):
        for label, command in jobs:
            results[label].append(run(command))
    for label, timings in results.items():
        cpu = ", ".join(f"{c:.2f}" for c, _ in timings)
        wall = ", ".join(f"{w:.2f}" for _, w in timings)
        print(f"{label}: CPU s {cpu} | wall s {wall}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
