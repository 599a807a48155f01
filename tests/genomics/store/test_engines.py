"""DuckDB and Spark give identical answers on the same store and the same SQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gmc.genomics.store.compaction import merge_segments
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.spark_engine import SparkEngine, local_spark_session


@pytest.fixture(scope="module")
def spark_engine() -> Iterator[SparkEngine]:
    """One local Spark session for the module (slow to start)."""
    spark = local_spark_session(cores=2)
    engine = SparkEngine(spark)
    yield engine
    engine.close()
    spark.stop()


def test_duckdb_and_spark_answer_identically(two_dataset_root: Path, spark_engine: SparkEngine,
                                             engine_queries) -> None:
    duck = engine_queries(VariantStore(two_dataset_root, DuckDBEngine()))
    spark = engine_queries(VariantStore(two_dataset_root, spark_engine))
    for i, (a, b) in enumerate(zip(duck, spark, strict=True)):
        assert a.schema == b.schema, i
        assert a.equals(b), f"query {i} differs"
    # The answers are not trivially empty.
    assert all(t.num_rows > 0 for t in duck)
    assert set(duck[3].column("chrom").to_pylist()) >= {"1", "2", "X", "21"}


def test_spark_agrees_after_segments_merge(segmented_root: Path, spark_engine: SparkEngine, tmp_path: Path,
                                          engine_queries) -> None:
    # A store whose segments were merged tier by tier: Spark reads the merged files like DuckDB does.
    root = tmp_path / "store"
    shutil.copytree(segmented_root, root)
    before = engine_queries(VariantStore(root, DuckDBEngine()))
    merges = 0
    while merge_segments(root, fanout=2, retention=0) is not None:
        merges += 1
    assert merges >= 3
    duck = engine_queries(VariantStore(root, DuckDBEngine()))
    spark = engine_queries(VariantStore(root, spark_engine))
    for i, (a, b, c) in enumerate(zip(before, duck, spark, strict=True)):
        assert a.num_rows > 0, i
        assert a.equals(b), f"query {i} changed with the merge"
        assert b.schema == c.schema and b.equals(c), f"query {i} differs on Spark"
