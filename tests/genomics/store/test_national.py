"""The national store: built on Spark from two centres' real stores, with centre provenance on every row; a
withdrawn centre or participant is gone after the rebuild; a bad export changes nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import StoreError
from gmc.genomics.store.national import CentreExport, build_national, parse_centres, read_withdrawn
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.spark_engine import SparkEngine, local_spark_session
from gmc.genomics.store.writer import ingest_vcf

SCOUT_TRIO = ("annotated", "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local Spark session for the module."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    session = local_spark_session(cores=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def scout_store_root(tmp_path_factory: pytest.TempPathFactory, benchmarks_dir: Path) -> Path:
    """Centre B's own store: the Scout demo trio (X, Y, MT; no BCSQ)."""
    root = tmp_path_factory.mktemp("centre_b")
    ingest_vcf(root, benchmarks_dir.joinpath(*SCOUT_TRIO))
    return root


@pytest.fixture(scope="module")
def centres(trio_store_root: Path, scout_store_root: Path) -> list[CentreExport]:
    """Centre A exports the GIAB trio store by path, centre B the Scout trio store by file:// URI."""
    return [CentreExport("A", str(trio_store_root)), CentreExport("B", scout_store_root.as_uri())]


@pytest.fixture(scope="module")
def national_root(spark, centres, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The national store of both centres (built once; copy it before changing it) and the build's report."""
    out = tmp_path_factory.mktemp("national") / "store"
    return out, build_national(spark, centres, out, retention=0)


def _all_rows(root: Path, table: str) -> pa.Table:
    """Every row of one table in every Parquet file under the store (committed or not), read without gmc."""
    files = sorted(p for p in root.rglob("*.parquet") if p.is_file() and f"/{table}/" in str(p))
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def test_national_store_equals_one_store_of_both_centres(spark, centres, national_root,
                                                         two_dataset_root: Path) -> None:
    out, report = national_root
    assert report.per_centre["A"]["samples"] == 3 and report.per_centre["B"]["samples"] == 3
    national = VariantStore(out, DuckDBEngine())
    # the same genomes ingested into one store give the same cohort frequencies on every chromosome
    expected = VariantStore(two_dataset_root, DuckDBEngine()).cohort_af()
    assert expected.num_rows > 1000
    assert national.cohort_af().equals(expected)
    # and Spark reads the national store (folders of part files) exactly as DuckDB does
    engine = SparkEngine(spark)
    assert VariantStore(out, engine).cohort_af().equals(expected)
    carriers = national.gene_carriers(("1", 1, 249_000_000))
    assert carriers.equals(VariantStore(out, engine).gene_carriers(("1", 1, 249_000_000)))
    # a centre's sample keeps its calls under its national name
    trio = VariantStore(centres[0].uri, DuckDBEngine()).sample_variants("HG002", region=("2", 1, 243_000_000))
    mine = national.sample_variants("A:HG002", region=("2", 1, 243_000_000))
    assert mine.drop(["sample"]).equals(trio.drop(["sample"])) and trio.num_rows > 100
    # provenance on every row: calls carry their centre, sites every centre that saw them, samples theirs
    geno = _all_rows(out, "genotypes")
    assert geno.num_rows == report.genotypes
    assert pc.unique(geno.column("centre")).to_pylist() in (["A", "B"], ["B", "A"])
    sites = _all_rows(out, "sites")
    assert sites.column("centres").null_count == 0
    assert set(pc.unique(sites.column("centres")).to_pylist()) <= {"A", "B", "A,B"}
    samples = pq.read_table(next(out.rglob("samples.parquet")))
    assert sorted(samples.column("sample").to_pylist())[:2] == ["A:HG002", "A:HG003"]
    assert samples.column("centre").to_pylist() == [s.split(":")[0] for s in samples.column("sample").to_pylist()]


def test_withdrawals_are_gone_after_the_rebuild(spark, centres, national_root, tmp_path: Path,
                                                trio_store_root: Path) -> None:
    out = tmp_path / "national"
    shutil.copytree(national_root[0], out)
    first = national_root[1]
    # centre B withdraws: the rebuild holds only centre A, and B's rows are nowhere under the store
    second = build_national(spark, centres, out, withdrawn_centres=["B"], retention=0)
    assert second.withdrawn_rows_found == 0 and set(second.per_centre) == {"A"}
    assert not (out / "segments" / first.segment_id).exists()
    assert set(pc.unique(_all_rows(out, "genotypes").column("centre")).to_pylist()) == {"A"}
    assert VariantStore(out, DuckDBEngine()).cohort_af().equals(VariantStore(trio_store_root, DuckDBEngine()).cohort_af())
    # participant A:HG003 withdraws (listed in a file): their calls and the alleles only they carried are gone
    listed = tmp_path / "withdrawn.txt"
    listed.write_text("# withdrawn participants\nA:HG003\nA:NOSUCH\n")
    third = build_national(spark, centres, out, withdrawn_centres=["B"], withdrawn_samples=read_withdrawn(listed),
                           retention=0)
    assert third.withdrawn_not_found == 1 and third.per_centre["A"]["samples"] == 2
    trio = VariantStore(trio_store_root, DuckDBEngine()).gene_carriers(("2", 1, 243_000_000))
    by_key: dict[int, set[str]] = {}
    for key, sample in zip(trio.column("key").to_pylist(), trio.column("sample").to_pylist(), strict=True):
        by_key.setdefault(key, set()).add(sample)
    private = {k for k, s in by_key.items() if s == {"HG003"}}
    assert len(private) > 50
    national = VariantStore(out, DuckDBEngine())
    assert "A:HG003" not in national.samples().column("sample").to_pylist()
    assert not private & set(_all_rows(out, "sites").column("key").to_pylist())
    assert set(national.gene_carriers(("2", 1, 243_000_000)).column("sample").to_pylist()) == {"A:HG002", "A:HG004"}
    assert not (tmp_path / "national" / "_staging").exists()


def _manifest_bytes(out: Path) -> bytes:
    return (out / "manifest.json").read_bytes()


def test_a_bad_export_is_refused_by_name_and_changes_nothing(spark, centres, national_root, tmp_path: Path,
                                                             scout_store_root: Path) -> None:
    out = national_root[0]
    before = _manifest_bytes(out)
    segments = sorted(p.name for p in (out / "segments").iterdir())
    # another schema version: a genotypes file whose GQ is text
    other = tmp_path / "centre_b_v2"
    shutil.copytree(scout_store_root, other)
    victim = sorted(other.rglob("genotypes/chr1.parquet"))[0]
    table = pq.read_table(victim)
    pq.write_table(table.set_column(table.schema.get_field_index("gq"), "gq",
                                    pc.cast(table.column("gq"), pa.string())), victim)
    with pytest.raises(StoreError, match=rf"{victim}: centre B's export has gq as string.*schema version"):
        build_national(spark, [centres[0], CentreExport("B", str(other))], out, retention=0)
    # another manifest version
    manifest = json.loads((scout_store_root / "manifest.json").read_text())
    shutil.rmtree(other)
    shutil.copytree(scout_store_root, other)
    (other / "manifest.json").write_text(json.dumps({**manifest, "version": 2}))
    with pytest.raises(StoreError, match=rf"{other}/manifest.json: manifest version 2 is not 1"):
        build_national(spark, [centres[0], CentreExport("B", str(other))], out, retention=0)
    assert _manifest_bytes(out) == before
    assert sorted(p.name for p in (out / "segments").iterdir()) == segments
    # names given wrongly are refused before anything is read
    with pytest.raises(StoreError, match="not NAME=URI"):
        parse_centres(["A"])
    with pytest.raises(StoreError, match="centre A is named twice"):
        parse_centres(["A=/x", "A=/y"])
    with pytest.raises(StoreError, match="withdrawn centre C is not among"):
        build_national(spark, centres, out, withdrawn_centres=["C"])
