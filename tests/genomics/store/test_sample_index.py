"""Each genotype file gets a per-sample index (row numbers and call columns by sample); answers are unchanged."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmc.genomics.repository import variant_page
from gmc.genomics.service import VariantQuery
from gmc.genomics.store.compaction import compact
from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.layout import CHROM_CODE, StoreLayout, record_qual_path, sample_index_path
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.genomics.store.writer import ingest_tables, ingest_vcf

TRIO_MEMBERS = ("HG002", "HG003", "HG004")
#: C151 of the made-up cohort carries this member's calls (151 % 3 == 1)
MEMBER_OF_C151 = "HG003"


def _check_index(genotypes_file: str) -> pa.Table:
    """Asserts the index points at the genotype file's own rows, and returns it."""
    calls = pq.read_table(genotypes_file)
    index = pq.read_table(sample_index_path(genotypes_file))
    assert index.num_rows == calls.num_rows
    rows = index.column("row").to_numpy()
    assert sorted(rows.tolist()) == list(range(calls.num_rows))
    picked = calls.take(pa.array(rows))
    for name in ("sample_idx", "gt", "ploidy", "gq", "filter"):
        assert picked.column(name).equals(index.column(name)), name
    assert set(index.column("chrom_code").to_pylist()) == {CHROM_CODE[Path(genotypes_file).stem[3:]]}
    # (sample, row) order: a sample's rows are contiguous and in the file's key order
    pairs = list(zip(index.column("sample_idx").to_pylist(), rows.tolist(), strict=True))
    assert pairs == sorted(pairs)
    # QUAL runs: every row's QUAL is that of the last run starting at or before it
    runs = pq.read_table(record_qual_path(genotypes_file))
    first = runs.column("first_row").to_numpy()
    assert first[0] == 0 and (np.diff(first) > 0).all() and len(first) < calls.num_rows
    run_of_row = np.searchsorted(first, np.arange(calls.num_rows), side="right") - 1
    assert runs.column("qual").take(pa.array(run_of_row)).equals(calls.column("qual"))
    return index


def test_index_points_at_the_calls_and_one_sample_prunes_row_groups(cohort_root: Path) -> None:
    layout = StoreLayout(cohort_root)
    path = layout.files(layout.read_manifest(), "genotypes", ["1"])[0]
    # the genotype file itself keeps (key, sample) order for gene queries
    table = pq.read_table(path, columns=["key", "sample_idx"])
    pairs = list(zip(table.column("key").to_pylist(), table.column("sample_idx").to_pylist(), strict=True))
    assert pairs == sorted(pairs)
    _check_index(path)
    meta = pq.ParquetFile(sample_index_path(path)).metadata
    column = meta.schema.names.index("sample_idx")
    ranges = [(meta.row_group(i).column(column).statistics.min, meta.row_group(i).column(column).statistics.max)
              for i in range(meta.num_row_groups)]
    assert meta.num_row_groups >= 6
    # one of 210 samples: its row-group statistics rule out all but one or two groups
    assert 1 <= len([r for r in ranges if r[0] <= 151 <= r[1]]) <= 2


def test_cohort_store_answers_like_the_trio(cohort_root: Path, trio_store: VariantStore) -> None:
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
    assert store.gene_carriers(gene).num_rows == 70 * trio_store.gene_carriers(gene).num_rows


def test_page_without_an_index_and_by_qual_reads_the_calls_alike(cohort_root: Path, tmp_path: Path) -> None:
    # a store written before the index existed: the same pages from the genotype files alone
    bare = tmp_path / "bare"
    shutil.copytree(cohort_root, bare)
    for index_dir in bare.rglob("calls_by_sample"):
        shutil.rmtree(index_dir)
    queries = [
        (VariantQuery(genotype="het", min_gq=30), None, "gq", True, 40),
        (VariantQuery(pass_only=True), [("2", 1, 100_000_000), ("1", 5_000_000, 60_000_000)], "position", False, 7),
        (VariantQuery(genotype="hom"), None, "qual", True, 0),
    ]
    for query, spans, sort, descending, offset in queries:
        with_index = variant_page(cohort_root, "C100", query=query, spans=spans, sort=sort,
                                  descending=descending, limit=30, offset=offset)
        without = variant_page(bare, "C100", query=query, spans=spans, sort=sort, descending=descending,
                               limit=30, offset=offset)
        assert with_index == without
        assert with_index["total"] > 30 and len(with_index["rows"]) == 30


def test_compaction_rebuilds_the_index(
    tmp_path: Path, trio_tables: tuple[pa.Table, pa.Table], cohort_calls: Callable[[pa.Table, list[str]], pa.Table]
) -> None:
    sites, calls = trio_tables
    on_chr2 = np.flatnonzero(pc.equal(sites.column("chrom"), "2").to_numpy(zero_copy_only=False))
    rows = pc.index_in(calls.column("row"), value_set=pa.array(on_chr2))
    calls2 = calls.set_column(calls.schema.get_field_index("row"), "row", rows.cast(pa.int64()))
    calls2 = calls2.filter(pc.is_valid(calls2.column("row")))
    chr2 = sites.take(pa.array(on_chr2))
    for first in (0, 80):
        names = [f"D{i:03d}" for i in range(first, first + 80)]
        ingest_tables(tmp_path, sites=chr2, genotypes=cohort_calls(calls2, names), samples=names, build="GRCh37")
    store = VariantStore(tmp_path, DuckDBEngine())
    query = VariantQuery(genotype="het")
    before = [store.sample_variants("D085"), store.gene_carriers(("2", 1, 100_000_000)),
              variant_page(tmp_path, "D085", query=query, spans=None, sort="gq", limit=20, offset=5)]
    assert compact(tmp_path) is not None
    layout = StoreLayout(tmp_path)
    [path] = layout.files(layout.read_manifest(), "genotypes")
    assert "segments" in path
    index = _check_index(path)
    assert index.column("sample_idx").to_numpy().max() == 159
    after = [store.sample_variants("D085"), store.gene_carriers(("2", 1, 100_000_000)),
             variant_page(tmp_path, "D085", query=query, spans=None, sort="gq", limit=20, offset=5)]
    assert before[0].num_rows > 0 and before[0].equals(after[0])
    assert before[1].num_rows > 0 and before[1].equals(after[1])
    assert len(before[2]["rows"]) == 20 and before[2] == after[2]


def test_single_sample_dataset_has_no_index_and_pages_alike(
    tmp_path: Path, trio_vcf: Path, cohort_root: Path
) -> None:
    ingest_vcf(tmp_path, trio_vcf, samples=[MEMBER_OF_C151])
    assert not list(tmp_path.rglob("calls_by_sample"))
    query = VariantQuery(genotype="het", min_gq=20)
    alone = variant_page(tmp_path, MEMBER_OF_C151, query=query, spans=None, sort="gq", descending=True, limit=40,
                         offset=30)
    in_cohort = variant_page(cohort_root, "C151", query=query, spans=None, sort="gq", descending=True, limit=40,
                             offset=30)
    assert alone["total"] > 70 and alone == in_cohort
