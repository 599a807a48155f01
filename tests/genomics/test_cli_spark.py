"""`gmc spark submit national-build|cohort-af`, in-process and through spark-submit, on real centre stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gmc.genomics.cli_spark import spark_app
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.writer import ingest_vcf
from gmc.settings import reset_settings_cache

runner = CliRunner()
SCOUT_TRIO = ("annotated", "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")


@pytest.fixture(autouse=True)
def _no_spark_left() -> None:
    """Each run opens its session from the settings: one left by another module would be reused."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _run(args, url, data_dir):
    reset_settings_cache()
    try:
        return runner.invoke(spark_app, [str(a) for a in args], env={
            "GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test", "GMC_DATA_DIR": str(data_dir),
            "GMC_SPARK_MASTER": "local[1]", "GMC_SPARK_REMOTE": "", "GMC_COHORT_MIN_COUNT": "2"})
    finally:
        reset_settings_cache()


def test_national_build_then_cohort_af_jobs(demo_database, giab_trio: Path, benchmarks_dir: Path,
                                            tmp_path: Path) -> None:
    from gmc.audit.models import AuditEvent

    a, b = tmp_path / "centre_a", tmp_path / "centre_b"
    ingest_vcf(a, giab_trio)
    ingest_vcf(b, benchmarks_dir.joinpath(*SCOUT_TRIO))
    national = tmp_path / "national"
    url, data = demo_database.url, tmp_path / "data"
    built = _run(["submit", "national-build", "--centre", f"north={a}", "--centre", f"south={b.as_uri()}",
                  "--out", national], url, data)
    assert built.exit_code == 0, built.output
    report = json.loads(built.stdout)
    assert report["per_centre"]["north"]["samples"] == 3 and report["samples"] == 6
    assert VariantStore(national, DuckDBEngine()).samples().num_rows == 6

    out = tmp_path / "af"
    af = _run(["submit", "cohort-af", "--store", national, "--region", "1:1-249000000", "--out", out], url, data)
    assert af.exit_code == 0, af.output
    written = pq.read_table(out).sort_by("key")
    expected = VariantStore(national, DuckDBEngine()).cohort_af(region=("1", 1, 249_000_000))
    assert written.num_rows == expected.num_rows == json.loads(af.stdout)["sites"] > 1000
    # an allele seen once is withheld (GMC_COHORT_MIN_COUNT=2); every other count is the store's own
    single = pc.equal(expected.column("ac"), 1)
    assert written.column("suppressed").to_pylist() == single.to_pylist()
    assert pc.sum(single).as_py() == json.loads(af.stdout)["suppressed"] > 0
    kept = pc.invert(single)
    assert written.filter(kept).column("ac").equals(expected.filter(kept).column("ac").cast(pa.int64()))
    assert written.filter(single).column("ac").null_count == pc.sum(single).as_py()

    again = _run(["submit", "cohort-af", "--store", national, "--out", out], url, data)
    assert again.exit_code == 1 and "exists already" in again.output
    bad = _run(["submit", "national-build", "--centre", "north", "--out", national], url, data)
    assert bad.exit_code == 1 and "not NAME=URI" in bad.output
    with demo_database.transaction() as session:
        jobs = [e.summary.get("job") for e in session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "variant_store")) if e.summary]
    assert "national-build" in jobs and "cohort-af" in jobs


# the job's database is only its audit trail, checked on both engines above: one engine here spares a JVM start
@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_spark_submit_runs_the_same_job(giab_trio: Path, tmp_path: Path, demo_db_url: str) -> None:
    import pyspark

    from gmc.genomics.store import submit

    store = tmp_path / "centre"
    ingest_vcf(store, giab_trio)
    out = tmp_path / "af"
    env = {**os.environ, "GMC_DATABASE_URL": demo_db_url, "GMC_ENVIRONMENT": "test", "GMC_DATA_DIR": str(tmp_path),
           "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    done = subprocess.run([str(spark_submit), "--master", "local[1]", "--driver-memory", "1g", submit.__file__,
                           "cohort-af", "--store", str(store), "--region", "2:1-243000000", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = VariantStore(store, DuckDBEngine()).cohort_af(region=("2", 1, 243_000_000))
    assert json.loads(done.stdout)["sites"] == pq.read_table(out).num_rows == expected.num_rows > 0
