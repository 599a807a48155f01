"""Ingestion stores every non-reference call once, is idempotent and all-or-nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import StoreError, StoreLayout
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.writer import file_dataset_id, ingest_tables, ingest_vcf


def _store_files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.parquet")}


def test_trio_calls_all_stored_once(trio_store_root: Path, trio_raw: list[dict]) -> None:
    layout = StoreLayout(trio_store_root)
    manifest = layout.read_manifest()
    assert [d.samples for d in manifest.datasets] == [["HG002", "HG003", "HG004"]]
    assert manifest.datasets[0].build == "GRCh37"
    stored = pa.concat_tables(pq.read_table(f) for f in layout.files(manifest, "genotypes"))
    # The raw text may hold the same allele twice after trimming; the store keeps it once per sample.
    expected = {(r["sample"], r["chrom"], r["pos"], r["ref"], r["alt"]) for r in trio_raw}
    assert stored.num_rows == len(expected)
    sites = pa.concat_tables(pq.read_table(f) for f in layout.files(manifest, "sites"))
    assert len(set(sites.column("key").to_pylist())) == sites.num_rows
    assert {(r["chrom"], r["pos"], r["ref"], r["alt"]) for r in trio_raw} == set(
        zip(*(sites.column(c).to_pylist() for c in ("chrom", "pos", "ref", "alt")), strict=True)
    )
    assert "BCSQ" in sites.column_names


def test_same_file_twice_stores_nothing_new(tmp_path: Path, pfeiffer_vcf: Path) -> None:
    first = ingest_vcf(tmp_path, pfeiffer_vcf)
    before = _store_files(tmp_path)
    second = ingest_vcf(tmp_path, pfeiffer_vcf)
    assert first.created and not second.created
    assert second.dataset_id == first.dataset_id == file_dataset_id(pfeiffer_vcf)
    assert _store_files(tmp_path) == before
    assert len(StoreLayout(tmp_path).read_manifest().datasets) == 1


def test_second_dataset_appends_only_new_sites(tmp_path: Path) -> None:
    sites = pa.table({"chrom": ["1", "1", "2"], "pos": [100, 200, 300], "ref": ["A", "C", "G"],
                      "alt": ["G", "T", "A"], "filter": ["PASS"] * 3})
    calls = pa.table({"row": [0, 1, 2], "sample": ["a", "a", "a"], "gt": pa.array([1, 2, 1], pa.int8())})
    ingest_tables(tmp_path, sites=sites, genotypes=calls, samples=["a"], source="one")
    calls_b = pa.table({"row": [0, 2], "sample": ["b", "b"], "gt": pa.array([1, 1], pa.int8())})
    sites_b = pa.concat_tables([sites, pa.table({"chrom": ["2"], "pos": [400], "ref": ["T"], "alt": ["C"],
                                                  "filter": ["PASS"]})])
    calls_b = pa.concat_tables([calls_b, pa.table({"row": [3], "sample": ["b"], "gt": pa.array([2], pa.int8())})])
    result = ingest_tables(tmp_path, sites=sites_b, genotypes=calls_b, samples=["b"], source="two")
    assert result.entry.n_new_sites == 1
    assert result.entry.first_sample_idx == 1
    store = VariantStore(tmp_path, DuckDBEngine())
    af = store.cohort_af(region=("1", 1, 1000)).to_pylist()
    # Hand count: chr1:100 a het + b het = 2 of 4 alleles; chr1:200 a hom = 2 of 4.
    assert [(r["pos"], r["ac"], r["an"], r["af"]) for r in af] == [(100, 2, 4, 0.5), (200, 2, 4, 0.5)]


def test_bad_input_is_named(tmp_path: Path) -> None:
    sites = pa.table({"chrom": ["1"], "pos": [100], "ref": ["A"], "alt": ["G"]})
    with pytest.raises(StoreError, match="lacks column.*gt"):
        ingest_tables(tmp_path, sites=sites, genotypes=pa.table({"row": [0], "sample": ["a"]}), samples=["a"])
    calls = pa.table({"row": [0], "sample": ["zed"], "gt": pa.array([1], pa.int8())})
    with pytest.raises(StoreError, match="zed"):
        ingest_tables(tmp_path, sites=sites, genotypes=calls, samples=["a"])
    ok = pa.table({"row": [0], "sample": ["a"], "gt": pa.array([1], pa.int8())})
    ingest_tables(tmp_path, sites=sites, genotypes=ok, samples=["a"], source="first")
    other = pa.table({"row": [0], "sample": ["a"], "gt": pa.array([2], pa.int8())})
    with pytest.raises(StoreError, match="already in the store"):
        ingest_tables(tmp_path, sites=sites, genotypes=other, samples=["a"], source="second")


def test_crash_leftovers_are_invisible_and_cleaned(tmp_path: Path, pfeiffer_vcf: Path) -> None:
    layout = StoreLayout(tmp_path)
    # What a kill leaves: a half-written staging dir, and a renamed dataset the manifest never listed.
    (layout.staging_dir / "deadbeef-1234").mkdir(parents=True)
    (layout.staging_dir / "deadbeef-1234" / "junk.parquet").write_bytes(b"PAR1 half")
    orphan = layout.dataset_dir(file_dataset_id(pfeiffer_vcf))
    (orphan / "genotypes").mkdir(parents=True)
    (orphan / "genotypes" / "chr1.parquet").write_bytes(b"PAR1 half")
    assert layout.files(layout.read_manifest(), "genotypes") == []
    result = ingest_vcf(tmp_path, pfeiffer_vcf)
    assert result.created
    assert not layout.staging_dir.exists()
    pq.read_table(layout.genotypes_file(result.dataset_id, "1"))  # the half file was replaced


def test_killed_ingest_leaves_nothing_and_reruns(tmp_path: Path, pfeiffer_vcf: Path) -> None:
    code = ("import sys; from gmc.genomics.store.writer import ingest_vcf; "
            "ingest_vcf(sys.argv[1], sys.argv[2])")
    root = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), str(pfeiffer_vcf)])
    layout = StoreLayout(root)
    # Kill the writer as soon as it has written part of its files into staging.
    deadline = time.monotonic() + 60
    seen_partial = False
    while proc.poll() is None and time.monotonic() < deadline:
        if layout.staging_dir.exists() and any(layout.staging_dir.rglob("*.parquet")):
            seen_partial = True
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert seen_partial
    manifest = layout.read_manifest()
    # Either the whole dataset is committed or none of it is visible to readers.
    assert len(manifest.datasets) in (0, 1)
    for path in layout.files(manifest, "genotypes") + layout.files(manifest, "sites"):
        pq.read_table(path)
    result = ingest_vcf(root, pfeiffer_vcf)
    assert result.created == (len(manifest.datasets) == 0)
    assert len(layout.read_manifest().datasets) == 1
    assert not layout.staging_dir.exists()
    store = VariantStore(root, DuckDBEngine())
    assert store.sample_variants("manuel").num_rows == result.entry.n_genotypes


def test_filter_new_sites_keeps_only_unknown_alleles(trio_store_root: Path, trio_raw: list[dict]) -> None:
    from gmc.genomics.store.writer import filter_new_sites

    known = trio_raw[0]
    sites = pa.table({"chrom": [known["chrom"], known["chrom"], "GL000225.1"],
                      "pos": [known["pos"], known["pos"], 5],
                      "ref": [known["ref"], known["ref"], "A"],
                      "alt": [known["alt"], "N" + known["alt"], "C"]})
    new = filter_new_sites(trio_store_root, sites)
    assert new.column("alt").to_pylist() == ["N" + known["alt"]]


def test_other_contigs_are_counted_not_stored(tmp_path: Path, benchmarks_dir: Path) -> None:
    import gzip
    from collections import Counter

    path = benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh37.nospike.vcf.gz"
    expected: Counter = Counter()
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if not line.startswith("#"):
                f = line.split("\t", 5)
                if f[0] not in {str(i) for i in range(1, 23)} | {"X", "Y", "MT"}:
                    expected[f[0]] += len(f[4].split(","))
    result = ingest_vcf(tmp_path, path)
    assert result.entry.skipped_contigs == dict(expected)
    assert expected["GL000225.1"] == 115
