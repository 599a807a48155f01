"""Genotype files of many samples are sorted by sample block, so one sample's calls can be pruned, same answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import SAMPLE_BLOCK, StoreLayout, genotype_order
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_tables

TRIO_MEMBERS = ("HG002", "HG003", "HG004")


def test_genotype_order_on_a_hand_made_example() -> None:
    keys = np.array([30, 10, 20, 10, 30, 20])
    samples = np.array([150, 150, 5, 5, 5, 99])
    order = genotype_order(keys, samples)
    # block 0 (samples 5, 99) by key then sample, then block 1 (sample 150) by key
    assert list(zip(keys[order], samples[order], strict=True)) == [
        (10, 5), (20, 5), (20, 99), (30, 5), (10, 150), (30, 150)]
    # one block: plain (key, sample) order
    one = genotype_order(np.array([3, 1, 2, 1]), np.array([7, 8, 7, 7]))
    assert one.tolist() == [3, 1, 2, 0]  # key 1: sample 7 (row 3) before sample 8 (row 1)


def test_file_is_in_block_order_and_one_sample_prunes_most_row_groups(cohort_root: Path) -> None:
    layout = StoreLayout(cohort_root)
    path = layout.files(layout.read_manifest(), "genotypes", ["1"])[0]
    table = pq.read_table(path, columns=["key", "sample_idx"])
    keys, samples = table.column("key").to_numpy(), table.column("sample_idx").to_numpy()
    blocks = samples // SAMPLE_BLOCK
    assert sorted(set(blocks.tolist())) == [0, 1, 2]
    # non-decreasing (block, key, sample), written out without genotype_order
    triples = list(zip(blocks.tolist(), keys.tolist(), samples.tolist(), strict=True))
    assert all(a < b for a, b in zip(triples, triples[1:], strict=False))
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.names.index("sample_idx")
    ranges = [(meta.row_group(i).column(column).statistics.min, meta.row_group(i).column(column).statistics.max)
              for i in range(meta.num_row_groups)]
    assert meta.num_row_groups >= 6
    touching = [r for r in ranges if r[0] <= 150 <= r[1]]
    # sample 150's block holds 100 of 210 samples: its statistics rule out the other blocks' row groups
    assert 0 < len(touching) <= meta.num_row_groups // 2 + 1


def test_block_ordered_store_answers_like_the_trio(cohort_root: Path, trio_store: VariantStore) -> None:
    store = VariantStore(cohort_root, DuckDBEngine())
    region = ("1", 1, 249_000_000)
    rare = VariantFilter(pass_only=True, min_gq=20)
    for sample in ("C000", "C151", "C209"):
        member = TRIO_MEMBERS[int(sample[1:]) % 3]
        mine = store.sample_variants(sample, region=region, filters=rare).drop_columns(["sample"])
        theirs = trio_store.sample_variants(member, region=region, filters=rare).drop_columns(["sample"])
        assert mine.num_rows > 1000
        assert mine.equals(theirs)
    # 70 copies of each trio member: every carrier count is 70 times the trio's
    gene = ("2", 1, 243_000_000)
    ours = store.gene_carriers(gene)
    trio = trio_store.gene_carriers(gene)
    assert ours.num_rows == 70 * trio.num_rows
    assert ours.column("sample").to_pylist() == sorted(ours.column("sample").to_pylist())


def test_compaction_across_block_boundaries_keeps_answers(
    tmp_path: Path, trio_tables: tuple[pa.Table, pa.Table], cohort_calls: Callable[[pa.Table, list[str]], pa.Table]
) -> None:
    sites, calls = trio_tables
    chr2 = sites.filter(pc.equal(sites.column("chrom"), "2"))
    rows = pc.index_in(calls.column("row"), value_set=pa.array(
        np.flatnonzero(pc.equal(sites.column("chrom"), "2").to_numpy(zero_copy_only=False))))
    calls2 = calls.set_column(calls.schema.get_field_index("row"), "row", rows.cast(pa.int64()))
    calls2 = calls2.filter(pc.is_valid(calls2.column("row")))
    # two datasets of 80: samples 0-79 and 80-159, so block 0 (0-99) spans both datasets
    for first in (0, 80):
        names = [f"D{i:03d}" for i in range(first, first + 80)]
        ingest_tables(tmp_path, sites=chr2, genotypes=cohort_calls(calls2, names), samples=names, build="GRCh37")
    store = VariantStore(tmp_path, DuckDBEngine())
    before = [store.sample_variants("D085"), store.gene_carriers(("2", 1, 100_000_000)), store.cohort_af()]
    assert compact(tmp_path) is not None
    layout = StoreLayout(tmp_path)
    path = layout.files(layout.read_manifest(), "genotypes")[0]
    samples = pq.read_table(path, columns=["sample_idx"]).column("sample_idx").to_numpy()
    blocks = samples // SAMPLE_BLOCK
    assert (np.diff(blocks) >= 0).all() and set(blocks.tolist()) == {0, 1}
    after = [store.sample_variants("D085"), store.gene_carriers(("2", 1, 100_000_000)), store.cohort_af()]
    for a, b in zip(before, after, strict=True):
        assert a.num_rows > 0 and a.equals(b)
