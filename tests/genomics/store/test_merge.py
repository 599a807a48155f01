"""Size-tiered merging of segments: fewer files, the same answers from every query, retired files kept a while."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gmc.genomics.repository import carrier_calls, variant_page, variant_table
from gmc.genomics.service import VariantQuery
from gmc.genomics.store.compaction import merge_segments, plan_merge, segment_bytes
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.export import export_tsv, export_vcf
from gmc.genomics.store.layout import StoreLayout, sample_index_path
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_vcf

#: One sample of each dataset of the segmented store: trio member, Scout demo, Pfeiffer, the 189-sample cohort.
PICKS = ("HG003", "ADM1059A2", "manuel", "100920-100920")


def _answers(store: VariantStore, root: Path, out: Path) -> list:
    """Every query function's answer on the store (engine queries, exports, the web page's reads)."""
    rare_pass = VariantFilter(pass_only=True, max_cohort_af=0.2, min_gq=20)
    answers: list = [
        store.sample_variants("HG003", region=("1", 1, 100_000_000)),
        store.sample_variants("ADM1059A2", genes={"g1": ("X", 1, 155_000_000), "g2": ("21", 1, 48_000_000)},
                              filters=VariantFilter(min_dp=10)),
        store.sample_variants("manuel"),
        store.sample_variants("100920-100920", region=("1", 1, 249_000_000)),
        store.gene_carriers(("1", 1, 249_000_000), qualifying=rare_pass),
        store.gene_carriers(("2", 1, 243_000_000)),
        store.variant_carriers("1", 65797, "T", "C"),
        store.cohort_af(),
        store.cohort_af(region=("1", 1, 249_000_000), filters=VariantFilter(pass_only=True)),
        store.sites(region=("1", 1, 5_000_000)),
        store.samples(),
    ]
    out.mkdir(parents=True, exist_ok=True)
    export_tsv(answers[7], out / "af.tsv")
    export_vcf(answers[5], out / "carriers.vcf", build="GRCh37")
    answers += [(out / "af.tsv").read_text(), (out / "carriers.vcf").read_text()]
    answers += [
        variant_page(root, "HG003", query=VariantQuery(genotype="het"), spans=None, sort="gq", limit=40, offset=10),
        variant_page(root, "ADM1059A2", query=VariantQuery(pass_only=True), spans=None, sort="qual", descending=True,
                     limit=30),
        variant_page(root, "100920-100920", query=VariantQuery(min_gq=10), spans=[("1", 1, 100_000_000)],
                     sort="position", limit=25, offset=5),
        variant_table(root, "manuel", query=VariantQuery(), spans=None),
        carrier_calls(root, [("1", 1, 249_000_000)], query=VariantQuery(genotype="het"), samples=list(PICKS)),
    ]
    return answers


def _same(before: list, after: list) -> None:
    assert len(before) == len(after)
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        if isinstance(a, pa.Table):
            assert a.num_rows > 0, i
            assert a.schema == b.schema and a.equals(b), f"answer {i} differs"
        else:
            assert a, i
            assert a == b, f"answer {i} differs"


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_plan_merge_takes_the_smallest_run_of_one_tier() -> None:
    assert plan_merge([100, 90, 110, 5000], 3) == slice(0, 3)
    assert plan_merge([5000, 100, 90, 110], 3) == slice(1, 4)
    # two full tiers: the small one first (cheapest), and only adjacent segments
    assert plan_merge([1000, 900, 1100, 10, 12, 11], 3) == slice(3, 6)
    assert plan_merge([10, 1000, 12, 11], 3) is None
    # within a factor of the fanout, not more
    assert plan_merge([100, 300, 250], 3) == slice(0, 3)
    assert plan_merge([100, 301, 250], 3) is None
    assert plan_merge([100, 100], 3) is None
    assert plan_merge([], 2) is None


def test_merged_segments_answer_alike_and_retire_the_replaced(segmented_root: Path, tmp_path: Path,
                                                              trio_vcf: Path, benchmarks_dir: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(segmented_root, root)
    layout = StoreLayout(root)
    old = layout.read_manifest()
    assert len(old.segments) == 6 and not any(d.segment == "" for d in old.datasets)
    store = VariantStore(root, DuckDBEngine())
    reader = store.pinned()
    before = _answers(store, root, tmp_path / "before")
    t0 = time.time()
    merged = []
    while (segment := merge_segments(root, fanout=2, retention=3600, now=t0)) is not None:
        merged.append(segment)
    manifest = layout.read_manifest()
    # fanout 2: each merge turns two segments into one; merged segments were merged again (a deeper tier)
    assert len(merged) >= 3 and len(manifest.segments) == 6 - len(merged)
    assert max(len(g.dataset_ids) for g in manifest.segments) >= 3
    assert plan_merge([segment_bytes(layout, g.segment_id) for g in manifest.segments], 2) is None
    # every dataset is in the segment that lists it, in the manifest's dataset order
    assert [i for g in manifest.segments for i in g.dataset_ids] == [d.dataset_id for d in manifest.datasets]
    for g in manifest.segments:
        assert {d.dataset_id for d in manifest.datasets if d.segment == g.segment_id} == set(g.dataset_ids)
        # samples keep their store-wide indexes
        samples = pq.read_table(layout.segment_dir(g.segment_id) / "samples.parquet")
        want = [(d.first_sample_idx + i, s) for d in manifest.datasets if d.segment == g.segment_id
                for i, s in enumerate(d.samples)]
        assert list(zip(samples.column("sample_idx").to_pylist(), samples.column("sample").to_pylist(),
                        strict=True)) == want
    for path in layout.files(manifest, "genotypes"):
        calls = pq.read_table(path, columns=["key", "sample_idx"])
        pairs = np.stack([calls.column("key").to_numpy(), calls.column("sample_idx").to_numpy()], axis=1)
        assert (np.lexsort((pairs[:, 1], pairs[:, 0])) == np.arange(len(pairs))).all()  # (key, sample_idx) order
        if sample_index_path(path).exists():
            index = pq.read_table(sample_index_path(path))
            full = pq.read_table(path)
            assert full.take(index.column("row")).column("sample_idx").equals(index.column("sample_idx"))
            assert full.take(index.column("row")).column("gq").equals(index.column("gq"))
    keys = pa.concat_tables(pq.read_table(f, columns=["key"]) for f in layout.files(manifest, "sites"))
    assert len(np.unique(keys.column("key").to_numpy())) == keys.num_rows
    assert any(sample_index_path(f).exists() for f in layout.files(manifest, "genotypes"))
    _same(before, _answers(store, root, tmp_path / "after"))

    # The replaced segments (the six and the intermediate ones) are retired and still serve the old reader.
    assert len(manifest.retired) == 2 * len(merged)
    live = {g.segment_id for g in manifest.segments}
    assert {r.path for r in manifest.retired} >= {f"segments/{g.segment_id}" for g in old.segments
                                                   if g.segment_id not in live}
    assert {r.path for r in manifest.retired}.isdisjoint(f"segments/{i}" for i in live)
    assert all(layout.retired_dir(r).is_dir() for r in manifest.retired)
    assert all(any(f"/{g.segment_id}/" in f for g in old.segments) for f in layout.files(reader.manifest(), "genotypes"))
    _same(before[:11], _answers(reader, root, tmp_path / "reader")[:11])

    # Re-ingesting any merged dataset stores nothing, and touches no file.
    files = _files(root)
    for member in ("HG002", "HG003", "HG004"):
        assert not ingest_vcf(root, trio_vcf, samples=[member], info_keys=("BCSQ",)).created
    for parts in (("annotated", "scout_demo_643594_trio.clinical.GRCh37.vcf.gz"),
                  ("rare", "background", "Pfeiffer_exome_GRCh37.nospike.vcf.gz"),
                  ("annotated", "cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz")):
        assert not ingest_vcf(root, benchmarks_dir.joinpath(*parts)).created
    assert _files(root) == files

    # Inside the window a writer keeps them; after it, the next writer removes them and drops them from the manifest.
    assert merge_segments(root, fanout=2, retention=3600, now=t0 + 3599) is None
    assert len(layout.read_manifest().retired) == 2 * len(merged)
    assert merge_segments(root, fanout=2, retention=3600, now=t0 + 3600) is None
    assert layout.read_manifest().retired == []
    assert sorted(p.name for p in (root / "segments").iterdir()) == sorted(g.segment_id for g in manifest.segments)
    _same(before, _answers(store, root, tmp_path / "collected"))


def test_killed_merge_is_invisible_and_recovered(segmented_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(segmented_root, root)
    layout = StoreLayout(root)
    store = VariantStore(root, DuckDBEngine())
    before = _answers(store, root, tmp_path / "before")[:11]
    committed = layout.manifest_path.read_text()

    def killed(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # the writer dies with one chromosome of the merged segment in staging

    with pytest.raises(KeyboardInterrupt):
        merge_segments(root, fanout=2, retention=0, progress=killed)
    assert any(layout.staging_dir.rglob("*.parquet"))
    assert layout.manifest_path.read_text() == committed
    _same(before, _answers(store, root, tmp_path / "killed")[:11])
    segment = merge_segments(root, fanout=2, retention=0)
    assert segment is not None and not layout.staging_dir.exists()
    # retention 0: the two replaced segments went at once
    assert layout.read_manifest().retired == [] and len(list((root / "segments").iterdir())) == 5
    _same(before, _answers(store, root, tmp_path / "after")[:11])


def test_compact_if_due_merges_a_full_tier_after_compacting(
    tmp_path: Path, trio_vcf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gmc.genomics import service
    from gmc.settings import reset_settings_cache

    monkeypatch.setenv("GMC_STORE_MERGE_FANOUT", "2")
    reset_settings_cache()
    try:
        root = service.store_root("GRCh37", tmp_path)
        ingest_vcf(root, trio_vcf, samples=["HG003"])
        [first] = service.compact_if_due(["GRCh37"], store_base=tmp_path, threshold=1)
        assert first["datasets"] == 1 and first["merged"] == []  # one segment: no tier is full
        ingest_vcf(root, trio_vcf, samples=["HG004"])
        [second] = service.compact_if_due(["GRCh37"], store_base=tmp_path, threshold=1)
    finally:
        monkeypatch.delenv("GMC_STORE_MERGE_FANOUT")
        reset_settings_cache()
    assert second["datasets"] == 1 and [m["datasets"] for m in second["merged"]] == [2]
    manifest = StoreLayout(root).read_manifest()
    assert [g.segment_id for g in manifest.segments] == [second["merged"][0]["segment"]]
    assert service.merge_store("GRCh37", tmp_path, fanout=2) == []
