"""Streaming VCF ingest: the same store files as the whole-file path, on real single- and multi-sample VCFs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from gmc.genomics.store.layout import StoreError, StoreLayout
from gmc.genomics.store.streaming import chunk_rows, stream_ingest_vcf
from gmc.genomics.store.writer import _read_all, file_dataset_id, ingest_tables
from gmc.genomics.vcf import VcfFormatError, open_vcf
from gmc.settings import reset_settings_cache

#: Real files, in ingest order: one genome, then a 3-sample trio, a 189-sample cohort (read through htslib, not
#: the text path) and the GIAB trio with an INFO column kept: later files meet sites the store already has.
REAL = (
    (("rare", "background", "Pfeiffer_exome_GRCh37.nospike.vcf.gz"), ()),
    (("annotated", "scout_demo_643594_trio.clinical.GRCh37.vcf.gz"), ()),
    (("annotated", "cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz"), ()),
    (("annotated", "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"), ("BCSQ",)),
)


def _whole_file(root: Path, path: Path, info_keys: tuple[str, ...]):
    """The reference: the file read whole into memory, then stored by ingest_tables."""
    with open_vcf(path, info_keys=info_keys) as reader:
        names, build = list(reader.samples), reader.build
        sites, calls = _read_all(reader.batches(100_000), path)
    return ingest_tables(root, sites=sites, genotypes=calls, samples=names, dataset_id=file_dataset_id(path),
                         source=path.name, build=build)


def _tables(root: Path) -> dict[str, tuple]:
    """Every Parquet file of a store: its table and its row-group sizes."""
    out = {}
    for path in sorted(root.rglob("*.parquet")):
        meta = pq.ParquetFile(path).metadata
        out[str(path.relative_to(root))] = (pq.read_table(path),
                                            [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
    return out


def test_streamed_store_equals_whole_file_store(tmp_path: Path, benchmarks_dir: Path) -> None:
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    stages: list[tuple[str, int, int | None]] = []
    for parts, info_keys in REAL:
        path = benchmarks_dir.joinpath(*parts)
        expected = _whole_file(whole, path, info_keys)
        # chunks of 3,000 cells: the 189-sample file comes in 16-row chunks, the exome in 13 of 3,000 rows
        got = stream_ingest_vcf(streamed, path, info_keys=info_keys, cells=3_000, sort_memory="32MB",
                                progress=lambda *a: stages.append(a))
        assert got.created and got.entry == expected.entry
    assert StoreLayout(streamed).read_manifest() == StoreLayout(whole).read_manifest()
    a, b = _tables(whole), _tables(streamed)
    assert a.keys() == b.keys() and len(a) > 100
    for name, (table, groups) in a.items():
        assert b[name][0].equals(table), name
        assert b[name][1] == groups, name
    multi = [n for n in a if "calls_by_sample" in n]
    assert multi, "the multi-sample files have per-sample indexes"
    assert [s for s in stages if s[0] == "read"] and stages[-1][0] == "write" and stages[-1][1] == stages[-1][2]
    assert not (streamed / "_staging").exists()


def test_unsorted_file_gives_the_same_store(tmp_path: Path, benchmarks_dir: Path) -> None:
    # the records of a real trio in a shuffled order: chunks overlap in key range, the merge sorts them
    lines = gzip.open(benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz", "rt").readlines()
    header = [line for line in lines if line.startswith("#")]
    records = [line for line in lines if not line.startswith("#")]
    shuffled = tmp_path / "shuffled.vcf.gz"
    with gzip.open(shuffled, "wt") as fh:
        fh.writelines(header + records[1::2][::-1] + records[0::2])
    expected = _whole_file(tmp_path / "whole", shuffled, ())
    got = stream_ingest_vcf(tmp_path / "streamed", shuffled, cells=600)
    assert got.entry == expected.entry
    a, b = _tables(tmp_path / "whole"), _tables(tmp_path / "streamed")
    assert a.keys() == b.keys()
    assert all(b[name][0].equals(table) for name, (table, _) in a.items())


def test_sort_memory_too_small_is_a_clear_error(tmp_path: Path, benchmarks_dir: Path) -> None:
    trio = benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    with pytest.raises(StoreError, match="merging the sorted runs within 1MB failed"):
        stream_ingest_vcf(tmp_path, trio, sort_memory="1MB")
    assert not StoreLayout(tmp_path).exists() and not (tmp_path / "_staging").exists()


def test_chunk_holds_a_bounded_number_of_cells() -> None:
    assert chunk_rows(1) == 100_000
    assert chunk_rows(100) == 20_000
    assert chunk_rows(1_000) == 2_000
    assert chunk_rows(10_000_000) == 1


def _corrupt(src: Path, dst: Path, record: int) -> int:
    """Copies a VCF with its record number `record` given a REF that is not bases; returns that line's number."""
    lines = gzip.open(src, "rt").read().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first + record].split("\t")
    fields[3] = "XYZ"
    lines[first + record] = "\t".join(fields)
    with gzip.open(dst, "wt") as fh:
        fh.writelines(lines)
    return first + record + 1


def test_bad_line_is_named_and_the_store_is_unchanged(tmp_path: Path, benchmarks_dir: Path) -> None:
    root = tmp_path / "store"
    stream_ingest_vcf(root, benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}
    bad = tmp_path / "cohort.vcf.gz"
    # late in the file: earlier chunks have been spilled by the time the reader meets it
    line = _corrupt(benchmarks_dir / "annotated" / "cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz", bad, 100)
    with pytest.raises(VcfFormatError, match=f"cohort.vcf.gz line {line}: REF 'XYZ'"):
        stream_ingest_vcf(root, bad, cells=2_000)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before


def test_sample_already_stored_is_refused(tmp_path: Path, benchmarks_dir: Path) -> None:
    trio = benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    stream_ingest_vcf(tmp_path, trio, samples=["HG002"])
    with pytest.raises(StoreError, match="HG002 are already in the store"):
        stream_ingest_vcf(tmp_path, trio)
    assert len(StoreLayout(tmp_path).read_manifest().datasets) == 1


def test_cli_ingest_cohort_streams_annotates_and_audits(demo_database, benchmarks_dir: Path, tmp_path: Path) -> None:
    from sqlalchemy import select

    from gmc.audit.models import AuditEvent
    from gmc.genomics.cli_genomes import variants_app
    from gmc.genomics.store.duckdb_engine import DuckDBEngine
    from gmc.genomics.store.queries import VariantStore

    cohort = benchmarks_dir / "annotated" / "cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz"
    store = tmp_path / "stores"
    env = {"GMC_DATABASE_URL": demo_database.url, "GMC_ENVIRONMENT": "test", "GMC_DATA_DIR": str(tmp_path / "d")}
    reset_settings_cache()
    try:
        first = CliRunner().invoke(variants_app, ["ingest-cohort", str(cohort), "--store", str(store)], env=env)
        again = CliRunner().invoke(variants_app, ["ingest-cohort", str(cohort), "--store", str(store)], env=env)
        bad = tmp_path / "bad.vcf.gz"
        line = _corrupt(cohort, bad, 5)
        refused = CliRunner().invoke(variants_app, ["ingest-cohort", str(bad), "--store", str(store)], env=env)
    finally:
        reset_settings_cache()
    assert first.exit_code == 0, first.output
    assert "189 samples" in first.stdout and "stored;" in first.stdout
    assert again.exit_code == 0 and "already stored" in again.stdout
    assert refused.exit_code == 1 and f"bad.vcf.gz line {line}" in refused.output
    assert "Nothing was stored" in refused.output
    manifest = StoreLayout(store / "GRCh37").read_manifest()
    (entry,) = manifest.datasets
    # pseudonymous store names: file hash and VCF column, never the bare sample id
    assert len(entry.samples) == 189 and all(":" in s for s in entry.samples)
    sites = pq.read_table(sorted((store / "GRCh37").rglob("sites/chr*.parquet"))[0])
    # annotated as the case ingest annotates: every new site has a consequence and an impact
    assert {"gene", "consequence", "impact"} <= set(sites.column_names)
    assert sites.column("impact").null_count == 0 and sites.column("consequence").null_count == 0
    af = VariantStore(store / "GRCh37", DuckDBEngine()).cohort_af().to_pylist()
    assert af and all(r["an"] <= 2 * 189 for r in af)
    with demo_database.transaction() as session:
        jobs = [e.summary.get("job") for e in session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "variant_store")) if e.summary]
    assert jobs == ["ingest-cohort"]  # the re-run stored nothing and so records nothing
