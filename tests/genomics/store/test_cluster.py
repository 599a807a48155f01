"""A real standalone Spark cluster (a master and two workers on loopback, each its own JVM) and a Spark Connect
server, both reached through the settings, answer the store's queries exactly as DuckDB does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gmc.genomics.repository import carrier_calls
from gmc.genomics.service import VariantQuery
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import StoreError
from gmc.genomics.store.queries import VariantStore, engine_from_settings
from gmc.genomics.store.spark_engine import SparkEngine, SparkUnavailable
from gmc.genomics.store.standalone import free_port
from gmc.settings import reset_settings_cache


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the settings read again, undone afterwards."""
    from pyspark.sql import SparkSession

    # a session left by another module would be reused by getOrCreate whatever the master says
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    reset_settings_cache()
    yield monkeypatch
    monkeypatch.undo()
    reset_settings_cache()


def _carrier_questions(root: Path, engine: object | None) -> list[list[dict]]:
    """The genome page's carrier query (repository.carrier_calls) over all samples, unfiltered and filtered."""
    samples = VariantStore(root, DuckDBEngine()).samples().column("sample").to_pylist()
    return [
        carrier_calls(root, [("1", 1, 249_000_000)], query=VariantQuery(), samples=samples, engine=engine),
        carrier_calls(root, [("2", 1, 243_000_000), ("X", 1, 155_000_000)],
                      query=VariantQuery(pass_only=True, min_gq=30, genotype="het"), samples=samples[:4],
                      engine=engine),
    ]


def _same(duck: list, other: list) -> None:
    for i, (a, b) in enumerate(zip(duck, other, strict=True)):
        if hasattr(a, "schema"):
            assert a.schema == b.schema and a.equals(b), f"query {i} differs"
            assert a.num_rows > 0, f"query {i} is empty"
        else:
            assert a == b, f"carrier query {i} differs"
            assert a, f"carrier query {i} is empty"


def test_standalone_cluster_answers_like_duckdb(two_dataset_root: Path, spark_cluster, settings_env,
                                                engine_queries) -> None:
    duck = engine_queries(VariantStore(two_dataset_root, DuckDBEngine()))
    duck_carriers = _carrier_questions(two_dataset_root, DuckDBEngine())
    settings_env.setenv("GMC_VARIANT_ENGINE", "spark")
    settings_env.setenv("GMC_SPARK_MASTER", spark_cluster.url)
    settings_env.setenv("GMC_SPARK_CONF", spark_cluster.driver_conf())
    reset_settings_cache()
    engine = engine_from_settings()
    assert isinstance(engine, SparkEngine)
    try:
        assert engine.spark.sparkContext.master == spark_cluster.url
        _same(duck, engine_queries(VariantStore(two_dataset_root)))
        # engine=None: the carrier query takes the engine from GMC_VARIANT_ENGINE, as the genome page does
        _same(duck_carriers, _carrier_questions(two_dataset_root, None))
        # the application ran on both workers: one core from each
        apps = spark_cluster.status()["activeapps"]
        assert [a["cores"] for a in apps] == [2]
        # the store named by URI (file://) answers the same
        _same(duck[3:4], [VariantStore(two_dataset_root.as_uri()).cohort_af()])
    finally:
        engine.spark.stop()


def test_spark_connect_server_answers_like_duckdb(two_dataset_root: Path, spark_cluster, settings_env,
                                                  engine_queries) -> None:
    duck = engine_queries(VariantStore(two_dataset_root, DuckDBEngine()))
    remote = spark_cluster.start_connect_server()
    try:
        settings_env.setenv("GMC_VARIANT_ENGINE", "spark")
        settings_env.setenv("GMC_SPARK_MASTER", "spark://127.0.0.1:1")  # unused: the remote wins
        settings_env.setenv("GMC_SPARK_REMOTE", remote)
        reset_settings_cache()
        engine = engine_from_settings()
        try:
            assert type(engine.spark).__module__.startswith("pyspark.sql.connect")
            _same(duck, engine_queries(VariantStore(two_dataset_root)))
            _same(_carrier_questions(two_dataset_root, DuckDBEngine()), _carrier_questions(two_dataset_root, None))
        finally:
            engine.spark.stop()
    finally:
        spark_cluster.stop_connect_server()
        # PySpark marks the whole process as Connect-only once a Connect session exists: later classic sessions
        # (other test modules) must not inherit that
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def test_unreachable_master_or_server_names_the_setting(settings_env) -> None:
    settings_env.setenv("GMC_VARIANT_ENGINE", "spark")
    settings_env.setenv("GMC_SPARK_MASTER", f"spark://127.0.0.1:{free_port()}")
    reset_settings_cache()
    with pytest.raises(SparkUnavailable, match="GMC_SPARK_MASTER spark://127.0.0.1:.* is unreachable"):
        engine_from_settings()
    settings_env.setenv("GMC_SPARK_REMOTE", f"sc://127.0.0.1:{free_port()}")
    reset_settings_cache()
    with pytest.raises(SparkUnavailable, match="GMC_SPARK_REMOTE sc://127.0.0.1:.* is unreachable"):
        engine_from_settings()
    settings_env.setenv("GMC_SPARK_REMOTE", "http://127.0.0.1:15002")
    reset_settings_cache()
    with pytest.raises(SparkUnavailable, match="GMC_SPARK_REMOTE .* is not sc://host:port"):
        engine_from_settings()


def test_unreadable_store_uri_is_a_clear_error(settings_env, two_dataset_root: Path) -> None:
    from gmc.genomics.service import store_root

    settings_env.setenv("GMC_STORE_URI", "nosuchfs://bucket/gmc")
    reset_settings_cache()
    root = store_root("GRCh37")
    assert root == "nosuchfs://bucket/gmc/GRCh37"
    with pytest.raises(StoreError, match=r"nosuchfs://bucket/gmc/GRCh37 \(GMC_STORE_URI\) cannot be opened"):
        VariantStore(root, DuckDBEngine()).manifest()
    # a URI on this machine is a plain folder to every reader; writes to any other store are refused by name
    settings_env.setenv("GMC_STORE_URI", two_dataset_root.parent.as_uri())
    reset_settings_cache()
    assert store_root(two_dataset_root.name) == two_dataset_root
    from gmc.genomics.store.layout import StoreLayout

    with pytest.raises(StoreError, match="s3a://bucket/gmc/GRCh38 is not a local folder"):
        _ = StoreLayout("s3a://bucket/gmc/GRCh38").root
    # DuckDB reads local stores only, and says which setting to change
    from gmc.genomics.store.engine import View
    from gmc.genomics.store.layout import SITES_SCHEMA

    with pytest.raises(StoreError, match="GMC_VARIANT_ENGINE=spark"):
        DuckDBEngine().run("SELECT * FROM sites", {"sites": View(["s3a://bucket/x/chr1.parquet"], SITES_SCHEMA)})
