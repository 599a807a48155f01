"""Copies a generated store, rewriting each genotype file with the writer's own function (adds the sample index).

A store generated before the per-sample index holds the same calls: writing each genotype file again with
`_write_genotypes` gives what a fresh ingest writes (the genotype file byte for byte, plus its index), without
the 30 minutes of generating 10,000 genomes again. `--check` compares the Parquet files of two stores.

    .venv/bin/python bench/store/relayout.py --store /tmp/gmc_bench/store_10k --out /tmp/gmc_bench/store_10k_index
    .venv/bin/python bench/store/relayout.py --store /tmp/gmc_bench/store_10k_index --check /tmp/gmc_bench/store_10k
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmc.genomics.store.writer import _write_genotypes


def relayout(store: Path, out: Path) -> int:
    """Writes the copy and returns its size in bytes."""
    if out.exists():
        raise SystemExit(f"{out} exists; remove it first")
    # everything but the genotype files is unchanged
    shutil.copytree(store, out, ignore=lambda d, names: ["genotypes"] if Path(d).parent.name in (
        "datasets", "segments") else [])
    for path in sorted(store.glob("*/*/genotypes/*.parquet")):
        calls = pq.read_table(path)
        # the (key, sample) order the writer's staging tables have before _write_genotypes
        order = np.lexsort((calls.column("sample_idx").to_numpy(), calls.column("key").to_numpy()))
        if not (order == np.arange(len(order))).all():
            calls = calls.take(pa.array(order))
        _write_genotypes(calls, out / path.relative_to(store))
    return sum(f.stat().st_size for f in out.rglob("*") if f.is_file())


def check(store: Path, other: Path) -> None:
    """Raises unless every Parquet file of the second store is in the first with the same rows in the same order."""
    files = sorted(p.relative_to(other) for p in other.rglob("*.parquet"))
    for rel in files:
        a, b = pq.read_table(store / rel), pq.read_table(other / rel)
        assert a.equals(b), f"{rel} differs"
        ma, mb = pq.ParquetFile(store / rel).metadata, pq.ParquetFile(other / rel).metadata
        assert ma.num_row_groups == mb.num_row_groups, f"{rel}: row groups differ"
    print(f"{len(files)} files identical")


def main() -> None:
    """Relayout or check, as asked."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args()
    if args.check:
        check(args.store, args.check)
        return
    if not args.out:
        raise SystemExit("give --out or --check")
    start = time.perf_counter()
    size = relayout(args.store, args.out)
    print(f"{args.out}: {size:,} bytes in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
