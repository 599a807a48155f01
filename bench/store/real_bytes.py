"""Bytes stored per call and per genome when real VCFs are ingested into an empty store.

    .venv/bin/python bench/store/real_bytes.py --out /tmp/gmc_bench/real VCF...
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from gmc.genomics.store.writer import ingest_vcf

#: Non-reference variants in one whole genome (the commonly quoted 4-5 million).
VARIANTS_PER_GENOME = 4_500_000


def main() -> None:
    """Ingests each VCF into its own store and prints sizes as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("vcfs", type=Path, nargs="+")
    args = parser.parse_args()
    rows = []
    for vcf in args.vcfs:
        root = args.out / vcf.name.split(".")[0]
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        result = ingest_vcf(root, vcf)
        seconds = time.perf_counter() - t
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        calls = result.entry.n_genotypes
        rows.append({
            "vcf": vcf.name,
            "samples": len(result.entry.samples),
            "calls": calls,
            "sites": result.entry.n_new_sites,
            "parquet_bytes": size,
            "bytes_per_call": round(size / calls, 2),
            "vcf_gz_bytes": vcf.stat().st_size,
            "ingest_seconds": round(seconds, 2),
            "extrapolated_mb_per_genome": round(size / calls * VARIANTS_PER_GENOME / 1e6, 1),
        })
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
