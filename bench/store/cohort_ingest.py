"""Peak memory and time of ingesting a joint-called cohort VCF of 1, 100 and 1,000 samples (#28 part 6).

The cohorts are built from the real Pfeiffer exome in ../shared (GRCh37, 37,708 records): every record's CHROM,
POS, REF, ALT, QUAL, FILTER and INFO are the real ones, and sample 1 is the real genotype column. The other samples'
genotypes are generated (seeded): a per-site alternate allele frequency from Beta(0.5, 4) and Hardy-Weinberg
genotypes, 1 % missing. So the files grow with the samples while the sites stay fixed.

Each ingest runs in a fresh process, as a user runs it; the parent reads that process's peak RSS (wait4) and
wall time. `--whole` also measures the whole-file path (the file read into memory, then ingest_tables) for contrast.
The generated files and stores live under --work (default a new folder in /tmp) and are deleted at the end.

    .venv/bin/python bench/store/cohort_ingest.py [--samples 1 100 1000] [--whole] [--annotate]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("GMC_SHARED", Path(__file__).resolve().parents[3] / "shared"))
SOURCE = SHARED / "benchmarks" / "rare" / "background" / "Pfeiffer_exome_GRCh37.nospike.vcf.gz"

#: A few cell texts per genotype class (GT:AD:DP:GQ), so depths and qualities vary between calls.
_CELLS = {
    0: ["0/0:30,0:30:90", "0/0:22,0:22:66", "0/0:41,0:41:99", "0/0:12,0:12:36"],
    1: ["0/1:15,14:29:99", "0/1:9,11:20:87", "0/1:21,18:39:99", "0/1:6,5:11:42"],
    2: ["1/1:0,28:28:84", "1/1:0,17:17:51", "1/1:1,33:34:99", "1/1:0,9:9:27"],
    -1: ["./.:.:.:."],
}


def _real_cell(fields: list[str]) -> str:
    """The real sample's call as GT:AD:DP:GQ."""
    fmt = dict(zip(fields[8].split(":"), fields[9].split(":"), strict=False))
    gq = fmt.get("GQ", ".")
    gq = str(round(float(gq))) if gq not in (".", "") else "."
    return f"{fmt.get('GT', './.')}:{fmt.get('AD', '.')}:{fmt.get('DP', '.')}:{gq}"


def generate(out: Path, n_samples: int, seed: int = 28) -> int:
    """Writes a cohort VCF of n_samples; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    vocab = np.array([c for k in (0, 1, 2, -1) for c in _CELLS[k]], dtype=object)
    # where each class's texts start in vocab, indexed by genotype + 1 (missing, hom-ref, het, hom-alt)
    offsets = np.array([12, 0, 4, 8])
    with gzip.open(SOURCE, "rt") as src, gzip.open(out, "wt", compresslevel=1) as dst:
        for line in src:
            if line.startswith("##FORMAT"):
                continue
            if line.startswith("##"):
                dst.write(line)
                continue
            if line.startswith("#CHROM"):
                dst.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                          '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
                          '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
                          '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n')
                names = "\t".join(f"S{i:04d}" for i in range(1, n_samples + 1))
                dst.write("\t".join(line.rstrip("\n").split("\t")[:9]) + f"\t{names}\n")
                break
        for line in src:
            fields = line.rstrip("\n").split("\t")
            others = n_samples - 1
            cells = [_real_cell(fields)]
            if others:
                af = rng.beta(0.5, 4.0)
                u = rng.random(others)
                gt = np.where(u < af * af, 2, np.where(u < af * af + 2 * af * (1 - af), 1, 0))
                gt = np.where(rng.random(others) < 0.01, -1, gt)
                pick = rng.integers(0, 4, others)
                index = offsets[gt + 1] + np.where(gt == -1, 0, pick)
                cells += list(vocab[index])
            dst.write("\t".join(fields[:8]) + "\tGT:AD:DP:GQ\t" + "\t".join(cells) + "\n")
    return out.stat().st_size


_RUN = """
import sys, time
from pathlib import Path
path, store, mode, annotate = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
if mode == "stream":
    from gmc.genomics.store.streaming import stream_ingest_vcf
    ann = None
    if annotate:
        from gmc.genomics.ingest import annotator
        ann = annotator("GRCh37")
    entry = stream_ingest_vcf(store, path, annotate=ann).entry
else:
    from gmc.genomics.store.writer import _read_all, file_dataset_id, ingest_tables
    from gmc.genomics.vcf import open_vcf
    with open_vcf(path) as reader:
        names, build = list(reader.samples), reader.build
        sites, calls = _read_all(reader.batches(100_000), path)
    entry = ingest_tables(store, sites=sites, genotypes=calls, samples=names, dataset_id=file_dataset_id(path),
                          source=path.name, build=build).entry
print(entry.n_genotypes, entry.n_new_sites)
"""


def measure(vcf: Path, store: Path, mode: str, annotate: bool) -> dict:
    """Runs one ingest in a fresh process; its wall time, peak RSS and what it stored."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _RUN, str(vcf), str(store), mode, "1" if annotate else "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{mode} ingest of {vcf.name} failed (status {status})")
    calls, sites = (int(v) for v in out.strip().splitlines()[-1].split())
    store_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    return {"mode": mode, "seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "user_cpu_s": round(usage.ru_utime, 1), "calls": calls, "sites": sites, "store_mb": round(store_bytes / 1e6, 1)}


def main() -> None:
    """Generates each cohort, ingests it (streamed, and whole with --whole), prints the figures, cleans up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--whole", action="store_true", help="Also measure the whole-file path.")
    parser.add_argument("--annotate", action="store_true", help="Annotate new sites while streaming.")
    parser.add_argument("--work", type=Path, default=None, help="Scratch folder (default: a new one in /tmp).")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="gmc-cohort-bench-"))
    load = os.getloadavg()[0]
    rows = []
    try:
        for n in args.samples:
            vcf = work / f"cohort_{n}.vcf.gz"
            size = generate(vcf, n)
            for mode in ("stream", "whole") if args.whole else ("stream",):
                store = work / f"store_{n}_{mode}"
                row = {"samples": n, "file_mb": round(size / 1e6, 1), "load": round(os.getloadavg()[0], 1),
                       **measure(vcf, store, mode, args.annotate)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                shutil.rmtree(store)
            vcf.unlink()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    comparable = "comparable" if load < 3 else f"NOT comparable (load {load:.1f} >= 3 at the start)"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; times {comparable}")
    print("| samples | file MB | path | wall s | user CPU s | peak RSS MB | calls stored | load |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['samples']:,} | {r['file_mb']} | {r['mode']} | {r['seconds']} | {r['user_cpu_s']} | "
              f"{r['peak_rss_mb']:,} | {r['calls']:,} | {r['load']} |")


if __name__ == "__main__":
    main()
