"""Measures gene-carrier query latency on a generated store with DuckDB or Spark.

    .venv/bin/python bench/store/query_latency.py --store /tmp/gmc_bench/store_1k --engine duckdb --genes 200
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from generate_cohort import coding_exons

from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantFilter, VariantStore


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    """Runs gene-carrier queries for random MANE genes and prints latency percentiles as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--genes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if args.engine == "spark":
        from gmc.genomics.store.spark_engine import SparkEngine, local_spark_session

        engine = SparkEngine(local_spark_session(cores=2))
    else:
        engine = DuckDBEngine(threads=2)
    store = VariantStore(args.store, engine)
    _, _, _, genes = coding_exons()
    genes = random.Random(args.seed).sample(genes, args.genes)
    rare = VariantFilter(pass_only=True, max_cohort_af=0.01)
    report: dict[str, object] = {"store": str(args.store), "engine": args.engine,
                                 "samples": store.manifest().n_samples, "genes": args.genes}
    for label, qualifying in (("all_carriers", None), ("rare_pass_carriers", rare)):
        # Two warm-up queries: first-query costs (Spark planning, file footers) are reported apart.
        t = time.perf_counter()
        store.gene_carriers(genes[0][1:], qualifying=qualifying)
        first = time.perf_counter() - t
        store.gene_carriers(genes[1][1:], qualifying=qualifying)
        times, rows = [], []
        for _name, chrom, start, end in genes:
            t = time.perf_counter()
            answer = store.gene_carriers((chrom, start, end), qualifying=qualifying)
            times.append(time.perf_counter() - t)
            rows.append(answer.num_rows)
        report[label] = {
            "first_query_ms": round(first * 1000, 1),
            "p50_ms": round(percentile(times, 50) * 1000, 1),
            "p95_ms": round(percentile(times, 95) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
            "mean_rows": round(statistics.mean(rows), 1),
            "max_rows": max(rows),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
