"""Compaction merges datasets into one segment without changing any answer."""

from __future__ import annotations

from pathlib import Path

from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import StoreLayout
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_vcf


def _answers(store: VariantStore) -> list:
    return [
        store.sample_variants("HG003", region=("1", 1, 100_000_000)),
        store.gene_carriers(("2", 1, 243_000_000), qualifying=VariantFilter(max_cohort_af=0.2)),
        store.cohort_af(),
        store.samples(),
    ]


def test_compaction_keeps_answers_and_idempotency(tmp_path: Path, trio_vcf: Path, trio_store: VariantStore) -> None:
    # One dataset per sample, as a centre receiving genomes one by one would have.
    for sample in ("HG002", "HG003", "HG004"):
        ingest_vcf(tmp_path, trio_vcf, samples=[sample])
    layout = StoreLayout(tmp_path)
    store = VariantStore(tmp_path, DuckDBEngine())
    before = _answers(store)
    n_files = len(layout.files(layout.read_manifest(), "genotypes"))
    segment = compact(tmp_path)
    assert segment is not None and len(segment.dataset_ids) == 3
    manifest = layout.read_manifest()
    assert len(layout.files(manifest, "genotypes")) == n_files // 3 == 2
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())
    after = _answers(store)
    for a, b in zip(before, after, strict=True):
        assert a.equals(b)
    # The one-dataset-per-sample store answers the cohort questions like the joint trio file does.
    assert after[2].equals(_answers(trio_store)[2])
    # Re-ingesting a compacted file stores nothing; compacting again has nothing to do.
    assert not ingest_vcf(tmp_path, trio_vcf, samples=["HG003"]).created
    assert compact(tmp_path) is None
