"""The store's Spark jobs: what `gmc spark submit JOB` (or spark-submit with submit.py) runs on the cluster.

national-build builds (and so compacts: one segment per build) the national store from the centres' exports;
cohort-af writes the cohort allele frequencies of the whole store or a region from the executors, with counts
below GMC_COHORT_MIN_COUNT withheld.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gmc.genomics.store.layout import StoreError
from gmc.genomics.store.national import build_national, parse_centres, read_withdrawn
from gmc.genomics.store.queries import Span, VariantStore
from gmc.genomics.store.spark_engine import SparkEngine


def national_build_job(spark: Any, *, centres: Sequence[str], out: Path, withdraw_centres: Sequence[str] = (),
                       withdrawn_file: Path | None = None, partitions: int | None = None) -> dict[str, Any]:
    """Builds the national store from --centre NAME=URI exports; returns the build report."""
    from dataclasses import asdict

    exports = parse_centres(centres)
    withdrawn = read_withdrawn(withdrawn_file) if withdrawn_file is not None else []
    report = build_national(spark, exports, out, withdrawn_centres=withdraw_centres, withdrawn_samples=withdrawn,
                            partitions=partitions)
    return asdict(report)


def cohort_af_job(spark: Any, *, store: Path | str, out: Path, region: Span | None, min_count: int) -> dict[str, Any]:
    """Writes the cohort allele frequencies (one Parquet folder) from the executors; counts of 1..min_count-1 are
    withheld (null, suppressed true) since they could point at one person. The folder appears whole or not at all."""
    from pyspark.sql import functions as F

    started = time.monotonic()
    if out.exists():
        raise StoreError(f"{out} exists already; give a new output folder")
    engine = SparkEngine(spark)
    sql, views = VariantStore(store, engine).cohort_af_query(region=region)
    frame = engine.frame(sql, views)
    small = (F.col("ac") > 0) & (F.col("ac") < F.lit(int(min_count)))
    frame = frame.withColumn("suppressed", small)
    for column in ("ac", "af", "n_het", "n_hom"):
        frame = frame.withColumn(column, F.when(small, F.lit(None)).otherwise(F.col(column)))
    staging = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        frame.write.mode("error").parquet(str(staging))
        written = spark.read.parquet(str(staging))
        counts = written.agg(F.count("*").alias("sites"), F.sum(F.col("suppressed").cast("int")).alias("withheld"))
        row = counts.collect()[0]
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"out": str(out), "sites": int(row["sites"]), "suppressed": int(row["withheld"] or 0),
            "min_count": int(min_count), "seconds": round(time.monotonic() - started, 2)}
