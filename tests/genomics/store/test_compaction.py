"""Compaction merges datasets into one segment without changing any answer, and keeps replaced files a while."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import RetiredEntry, StoreError, StoreLayout
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_vcf
from gmc.settings import reset_settings_cache

TRIO_MEMBERS = ("HG002", "HG003", "HG004")


def _answers(store: VariantStore) -> list:
    return [
        store.sample_variants("HG003", region=("1", 1, 100_000_000)),
        store.gene_carriers(("2", 1, 243_000_000), qualifying=VariantFilter(max_cohort_af=0.2)),
        store.cohort_af(),
        store.samples(),
    ]


def _same(before: list, after: list) -> None:
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert a.num_rows > 0, i
        assert a.equals(b), i


def test_compaction_keeps_answers_and_idempotency(tmp_path: Path, trio_vcf: Path, trio_store: VariantStore) -> None:
    # One dataset per sample, as a centre receiving genomes one by one would have.
    for sample in TRIO_MEMBERS:
        ingest_vcf(tmp_path, trio_vcf, samples=[sample])
    layout = StoreLayout(tmp_path)
    store = VariantStore(tmp_path, DuckDBEngine())
    before = _answers(store)
    n_files = len(layout.files(layout.read_manifest(), "genotypes"))
    # Retention 0: the datasets' own directories go at once, as before retention existed.
    segment = compact(tmp_path, retention=0)
    assert segment is not None and len(segment.dataset_ids) == 3
    manifest = layout.read_manifest()
    assert len(layout.files(manifest, "genotypes")) == n_files // 3 == 2
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())
    assert manifest.retired == []
    after = _answers(store)
    _same(before, after)
    # The one-dataset-per-sample store answers the cohort questions like the joint trio file does.
    assert after[2].equals(_answers(trio_store)[2])
    # Re-ingesting a compacted file stores nothing; compacting again has nothing to do.
    assert not ingest_vcf(tmp_path, trio_vcf, samples=["HG003"]).created
    assert compact(tmp_path) is None


def test_reader_of_the_previous_manifest_keeps_its_files_for_the_retention_window(
    tmp_path: Path, trio_vcf: Path, benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sample in TRIO_MEMBERS:
        ingest_vcf(tmp_path, trio_vcf, samples=[sample])
    layout = StoreLayout(tmp_path)
    reader = VariantStore(tmp_path, DuckDBEngine()).pinned()  # a reader that loaded the manifest, then compaction
    before = _answers(reader)
    dataset_dirs = {f"datasets/{d.dataset_id}" for d in reader.manifest().datasets}
    t0 = time.time()
    segment = compact(tmp_path, retention=3600, now=t0)
    assert segment is not None
    manifest = layout.read_manifest()
    assert {r.path for r in manifest.retired} == dataset_dirs
    assert {r.retired_at for r in manifest.retired} == {t0}
    assert all((tmp_path / p).is_dir() for p in dataset_dirs)
    # the reader still lists the datasets' own files, and they still answer the same
    assert all("/datasets/" in f for f in layout.files(reader.manifest(), "genotypes"))
    _same(before, _answers(reader))
    _same(before, _answers(VariantStore(tmp_path, DuckDBEngine())))

    # A later ingest inside the window (its _recover and its collection) leaves the retired directories alone.
    monkeypatch.setenv("GMC_STORE_RETENTION_SECONDS", "3600")
    reset_settings_cache()
    assert ingest_vcf(tmp_path, benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz").created
    assert {r.path for r in layout.read_manifest().retired} == dataset_dirs
    _same(before, _answers(reader))
    # One second before the window ends, a writer still keeps them.
    assert compact(tmp_path, min_datasets=5, retention=3600, now=t0 + 3599) is None
    assert all((tmp_path / p).is_dir() for p in dataset_dirs)

    # Once the window is over, the next writer (here an ingest, GMC_STORE_RETENTION_SECONDS=0) removes them.
    monkeypatch.setenv("GMC_STORE_RETENTION_SECONDS", "0")
    reset_settings_cache()
    try:
        assert ingest_vcf(tmp_path, benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh37.nospike.vcf.gz"
                          ).created
    finally:
        monkeypatch.delenv("GMC_STORE_RETENTION_SECONDS")
        reset_settings_cache()
    manifest = layout.read_manifest()
    assert manifest.retired == []
    assert not any((tmp_path / p).exists() for p in dataset_dirs)
    assert len(manifest.datasets) == 5 and len(manifest.segments) == 1
    now = VariantStore(tmp_path, DuckDBEngine())
    assert now.sample_variants("HG003", region=("1", 1, 100_000_000)).equals(before[0])


def test_old_manifest_without_retired_loads_and_bad_retired_paths_are_refused(
    tmp_path: Path, trio_vcf: Path
) -> None:
    import json

    ingest_vcf(tmp_path, trio_vcf, samples=["HG002"])
    layout = StoreLayout(tmp_path)
    raw = json.loads(layout.manifest_path.read_text())
    assert raw["retired"] == []
    del raw["retired"]  # a manifest written before retirement existed
    layout.manifest_path.write_text(json.dumps(raw))
    assert layout.read_manifest().retired == []
    assert compact(tmp_path, min_datasets=1, retention=3600) is not None
    assert len(layout.read_manifest().retired) == 1
    with pytest.raises(StoreError, match="not datasets/<id>"):
        layout.retired_dir(RetiredEntry(path="../elsewhere", retired_at=0.0))
    with pytest.raises(StoreError, match="not datasets/<id>"):
        layout.retired_dir(RetiredEntry(path="manifest.json", retired_at=0.0))


def test_killed_compaction_is_invisible_and_recovered(tmp_path: Path, trio_vcf: Path) -> None:
    layout = StoreLayout(tmp_path)
    for sample in TRIO_MEMBERS[:2]:
        ingest_vcf(tmp_path, trio_vcf, samples=[sample])
    t0 = time.time()
    assert compact(tmp_path, retention=3600, now=t0) is not None
    retired = [layout.retired_dir(r) for r in layout.read_manifest().retired]
    ingest_vcf(tmp_path, trio_vcf, samples=[TRIO_MEMBERS[2]])
    store = VariantStore(tmp_path, DuckDBEngine())
    before = _answers(store)
    committed = layout.manifest_path.read_text()

    def killed(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # the writer dies with chromosome 1 written in staging

    with pytest.raises(KeyboardInterrupt):
        compact(tmp_path, min_datasets=1, retention=3600, now=t0 + 10, progress=killed)
    assert any(layout.staging_dir.rglob("*.parquet"))
    # What a kill between the rename and the manifest leaves: a segment directory no manifest lists.
    orphan = layout.segment_dir("seg-0000deadbeef0000")
    (orphan / "genotypes").mkdir(parents=True)
    (orphan / "genotypes" / "chr1.parquet").write_bytes(b"PAR1 half")
    assert layout.manifest_path.read_text() == committed
    for path in layout.files(layout.read_manifest(), "genotypes") + layout.files(layout.read_manifest(), "sites"):
        pq.read_table(path)
    _same(before, _answers(store))

    segment = compact(tmp_path, min_datasets=1, retention=3600, now=t0 + 20)
    assert segment is not None and segment.dataset_ids == [layout.read_manifest().datasets[2].dataset_id]
    assert not layout.staging_dir.exists() and not orphan.exists()
    # the first compaction's retired directories survived the recovery: their window is not over
    assert all(p.is_dir() for p in retired)
    assert len(layout.read_manifest().retired) == 3
    _same(before, _answers(store))
