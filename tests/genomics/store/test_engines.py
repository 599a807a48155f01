"""DuckDB and Spark give identical answers on the same store and the same SQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from gmc.genomics.store.compaction import merge_segments
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.spark_engine import SparkEngine, local_spark_session
from gmc.genomics.store.writer import ingest_vcf


@pytest.fixture(scope="module")
def two_dataset_root(tmp_path_factory: pytest.TempPathFactory, trio_vcf: Path, benchmarks_dir: Path) -> Path:
    """The GIAB trio (BCSQ column) and the Scout demo trio (no BCSQ; X, Y, MT) in one GRCh37 store."""
    root = tmp_path_factory.mktemp("two_datasets")
    ingest_vcf(root, trio_vcf, info_keys=("BCSQ",))
    ingest_vcf(root, benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")
    return root


@pytest.fixture(scope="module")
def spark_engine() -> Iterator[SparkEngine]:
    """One local Spark session for the module (slow to start)."""
    spark = local_spark_session(cores=2)
    engine = SparkEngine(spark)
    yield engine
    engine.close()
    spark.stop()


def _queries(store: VariantStore) -> list[pa.Table]:
    rare_pass = VariantFilter(pass_only=True, max_cohort_af=0.2, min_gq=20)
    return [
        store.sample_variants("ADM1059A2", genes={"g1": ("X", 1, 155_000_000), "g2": ("21", 1, 48_000_000)},
                              filters=VariantFilter(min_dp=10)),
        store.gene_carriers(("1", 1, 249_000_000), qualifying=rare_pass),
        store.variant_carriers("1", 65797, "T", "C"),
        # Every chromosome: sites files with and without the BCSQ column in one view.
        store.cohort_af(),
    ]


def test_duckdb_and_spark_answer_identically(two_dataset_root: Path, spark_engine: SparkEngine) -> None:
    duck = _queries(VariantStore(two_dataset_root, DuckDBEngine()))
    spark = _queries(VariantStore(two_dataset_root, spark_engine))
    for i, (a, b) in enumerate(zip(duck, spark, strict=True)):
        assert a.schema == b.schema, i
        assert a.equals(b), f"query {i} differs"
    # The answers are not trivially empty.
    assert all(t.num_rows > 0 for t in duck[:4])
    assert set(duck[3].column("chrom").to_pylist()) >= {"1", "2", "X", "21"}


def test_spark_agrees_after_segments_merge(segmented_root: Path, spark_engine: SparkEngine, tmp_path: Path) -> None:
    # A store whose segments were merged tier by tier: Spark reads the merged files like DuckDB does.
    root = tmp_path / "store"
    shutil.copytree(segmented_root, root)
    before = _queries(VariantStore(root, DuckDBEngine()))
    merges = 0
    while merge_segments(root, fanout=2, retention=0) is not None:
        merges += 1
    assert merges >= 3
    duck = _queries(VariantStore(root, DuckDBEngine()))
    spark = _queries(VariantStore(root, spark_engine))
    for i, (a, b, c) in enumerate(zip(before, duck, spark, strict=True)):
        assert a.num_rows > 0, i
        assert a.equals(b), f"query {i} changed with the merge"
        assert b.schema == c.schema and b.equals(c), f"query {i} differs on Spark"
