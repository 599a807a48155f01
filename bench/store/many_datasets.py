"""Genome-by-genome ingestion: N single-sample datasets, query latency before and after compaction.

    cd bench/store && ../../.venv/bin/python many_datasets.py --genomes 200 --out /tmp/gmc_bench/store_single
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from generate_cohort import coding_exons, make_batch_calls, make_sites
from query_latency import percentile

from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.writer import ingest_tables


def latency(root: Path, genes: list, label: str) -> dict[str, float]:
    """p50/p95 of gene-carrier queries on a fresh DuckDB engine."""
    store = VariantStore(root, DuckDBEngine(threads=2))
    store.gene_carriers(genes[0][1:])
    times = []
    for _name, chrom, start, end in genes[1:]:
        t = time.perf_counter()
        store.gene_carriers((chrom, start, end))
        times.append(time.perf_counter() - t)
    return {f"{label}_p50_ms": round(percentile(times, 50) * 1000, 1),
            f"{label}_p95_ms": round(percentile(times, 95) * 1000, 1)}


def main() -> None:
    """Ingests genomes one by one, then compacts, and prints timings as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--genomes", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    rng = np.random.default_rng(args.seed)
    sites, af = make_sites(1_200_000, rng)
    calls = make_batch_calls(af, args.genomes, rng)
    sample_col = calls.column("sample").to_numpy()
    ingest_s = []
    for i in range(args.genomes):
        mine = calls.filter(pa.array(sample_col == i))
        rows = mine.column("row").to_numpy()
        # Each genome arrives as its own VCF: only its own sites, rows renumbered.
        own_sites = sites.take(pa.array(rows))
        mine = mine.set_column(0, "row", pa.array(np.arange(len(rows), dtype=np.int64)))
        mine = mine.set_column(1, "sample", pa.array(np.zeros(len(rows), dtype=np.int32)))
        t = time.perf_counter()
        ingest_tables(args.out, sites=own_sites, genotypes=mine, samples=[f"S{i:05d}"],
                      dataset_id=f"single-{args.seed}-{i:05d}", build="GRCh38")
        ingest_s.append(time.perf_counter() - t)
    genes = random.Random(11).sample(coding_exons()[3], 101)
    report: dict[str, object] = {"genomes": args.genomes,
                                 "ingest_first10_mean_s": round(float(np.mean(ingest_s[:10])), 2),
                                 "ingest_last10_mean_s": round(float(np.mean(ingest_s[-10:])), 2)}
    size_before = sum(p.stat().st_size for p in args.out.rglob("*.parquet"))
    report.update(latency(args.out, genes, "uncompacted"))
    t = time.perf_counter()
    compact(args.out)
    report["compact_s"] = round(time.perf_counter() - t, 1)
    size_after = sum(p.stat().st_size for p in args.out.rglob("*.parquet"))
    report.update(latency(args.out, genes, "compacted"))
    report["bytes_per_genome_uncompacted"] = round(size_before / args.genomes)
    report["bytes_per_genome_compacted"] = round(size_after / args.genomes)
    report["calls_per_genome"] = round(len(calls) / args.genomes)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
