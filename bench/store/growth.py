"""Growth of the variant store over a fixed slice of the genome: build, bytes per genome and query latency on
DuckDB and on a Spark standalone cluster of one or two workers, at 1,000 / 10,000 / 100,000 generated genomes.

The slice is the coding exons of one chromosome (default 17); sites and Hardy-Weinberg genotypes come from
generate_cohort.py's spectrum (about 28,000 alternative alleles per whole exome, so the slice's share of them).

    cd bench/store
    ../../.venv/bin/python growth.py build --genomes 1000 --out /tmp/gmc_growth/g1k
    ../../.venv/bin/python growth.py query --store /tmp/gmc_growth/g1k --engine duckdb
    ../../.venv/bin/python growth.py query --store /tmp/gmc_growth/g1k --engine spark --workers 2

Each `query` is one fresh process (as a user runs it): it reports the session start, the first query and then
median and p95 of each kind over the genes (warm, as a web process or a job that holds its session sees them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from generate_cohort import coding_exons, make_batch_calls, make_sites

from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_tables


def build(args: argparse.Namespace) -> dict:
    """Generates the cohort batch by batch through the real ingest, then compacts it into one segment."""
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    sites, af = make_sites(args.sites, rng, only={args.chrom})
    calls = 0
    for b in range(args.genomes // args.batch):
        batch = make_batch_calls(af, args.batch, rng)
        names = [f"G{b * args.batch + i:06d}" for i in range(args.batch)]
        result = ingest_tables(args.out, sites=sites, genotypes=batch, samples=names,
                               dataset_id=f"growth-{args.seed}-{b:04d}", source=f"batch {b}", build="GRCh38")
        calls += result.entry.n_genotypes
        print(f"batch {b}: {result.entry.n_genotypes} calls, {time.perf_counter() - t0:.1f}s", flush=True)
        if (b + 1) % args.compact_every == 0:
            # a segment per compact_every batches, as GMC_COMPACT_AFTER would make: one compaction never holds
            # the whole cohort's calls of a chromosome in memory
            compact(args.out, min_datasets=1, retention=0)
    ingest_s = time.perf_counter() - t0
    compact(args.out, min_datasets=1, retention=0)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    segments = len(json.loads((args.out / "manifest.json").read_text())["segments"])
    summary = {"genomes": args.genomes, "chromosome": args.chrom, "segments": segments, "sites": len(sites), "calls": calls,
               "calls_per_genome": round(calls / args.genomes, 1), "bytes": size,
               "bytes_per_genome": round(size / args.genomes), "ingest_seconds": round(ingest_s, 1),
               "build_seconds": round(time.perf_counter() - t0, 1), "load": os.getloadavg()}
    (args.out / "growth_build.json").write_text(json.dumps(summary, indent=1))
    return summary


def _genes(chrom: str, n: int, seed: int) -> list[tuple[str, str, int, int]]:
    """n MANE genes of the slice's chromosome, drawn with a fixed seed."""
    genes = [g for g in coding_exons()[3] if g[1] == chrom]
    return random.Random(seed).sample(genes, min(n, len(genes)))


def _timed(fn) -> tuple[float, int]:  # noqa: ANN001
    t = time.perf_counter()
    answer = fn()
    return time.perf_counter() - t, answer.num_rows


def query(args: argparse.Namespace) -> dict:
    """Carrier, cohort-frequency and region latency in this fresh process on one engine."""
    t0 = time.perf_counter()
    cluster = None
    if args.engine == "spark":
        from gmc.genomics.store.spark_engine import SparkEngine
        from gmc.genomics.store.standalone import StandaloneCluster
        from gmc.settings import reset_settings_cache

        cluster = StandaloneCluster(Path(tempfile.mkdtemp(prefix="gmc_growth_cluster_")), workers=args.workers,
                                    memory=args.worker_memory)
        t0 = time.perf_counter()  # the session and gene list, not the cluster
        # the settings a user gives
        os.environ["GMC_SPARK_MASTER"] = cluster.url
        os.environ["GMC_SPARK_CONF"] = StandaloneCluster.driver_conf(args.executor_memory, args.workers)
        reset_settings_cache()
        engine = SparkEngine()
    else:
        engine = DuckDBEngine(threads=2)
    try:
        store = VariantStore(args.store, engine)
        summary = json.loads((args.store / "growth_build.json").read_text())
        chrom = summary["chromosome"]
        genes = _genes(chrom, args.genes, args.seed)
        started = time.perf_counter() - t0
        rare = VariantFilter(pass_only=True, max_cohort_af=0.01)
        kinds = {
            "carrier": lambda g: store.gene_carriers((g[1], g[2], g[3]), qualifying=rare),
            "cohort_af": lambda g: store.cohort_af(region=(g[1], g[2], g[3])),
            # every call of a 5 Mb window starting at the gene
            "region": lambda g: store.gene_carriers((g[1], g[2], g[2] + 5_000_000)),
        }
        report: dict = {"store": str(args.store), "engine": args.engine, "workers": args.workers if cluster else 0,
                        "genomes": summary["genomes"], "setup_s": round(started, 2), "genes": len(genes)}
        for kind, run in ((k, kinds[k]) for k in args.kinds.split(",")):
            first, _ = _timed(lambda run=run: run(genes[0]))
            times, rows = [], []
            for gene in genes[1:]:
                seconds, n = _timed(lambda run=run, gene=gene: run(gene))
                times.append(seconds)
                rows.append(n)
            times.sort()
            report[kind] = {"first_ms": round(first * 1000), "median_ms": round(statistics.median(times) * 1000),
                            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))] * 1000),
                            "median_rows": statistics.median(rows)}
        report["load"] = os.getloadavg()
        return report
    finally:
        if cluster is not None:
            engine.spark.stop()
            cluster.stop()


def main() -> None:
    """build or query; prints a JSON summary."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--genomes", type=int, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--chrom", default="17")
    b.add_argument("--sites", type=int, default=60_000)
    b.add_argument("--batch", type=int, default=1000)
    b.add_argument("--seed", type=int, default=7)
    b.add_argument("--compact-every", type=int, default=10, help="Batches per segment.")
    q = sub.add_parser("query")
    q.add_argument("--store", type=Path, required=True)
    q.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    q.add_argument("--workers", type=int, default=2)
    q.add_argument("--worker-memory", default="1g")
    q.add_argument("--executor-memory", default="512m")
    q.add_argument("--genes", type=int, default=21)
    q.add_argument("--seed", type=int, default=11)
    q.add_argument("--kinds", default="carrier,cohort_af,region", help="Which query kinds, comma-separated.")
    args = parser.parse_args()
    print(json.dumps(build(args) if args.command == "build" else query(args), indent=1))


if __name__ == "__main__":
    main()
