"""All-or-nothing, idempotent ingestion of a dataset (a VCF or its Arrow tables) into the variant store."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmc.genomics.store.layout import (
    CHROM_CODE,
    CHROM_SHIFT,
    CHROMOSOMES,
    GENOTYPES_SCHEMA,
    RECORD_QUAL_SCHEMA,
    SAMPLE_INDEX_SCHEMA,
    SAMPLES_SCHEMA,
    SITES_SCHEMA,
    DatasetEntry,
    Manifest,
    RetiredEntry,
    StoreError,
    StoreLayout,
    _fsync_dir,
    record_qual_path,
    sample_index_path,
    variant_keys,
)

#: Rows per Parquet row group: small enough that a gene's key range touches one or two groups per file.
ROW_GROUP_SIZE = 65_536
#: Site columns that describe one record of one dataset, not the site: kept with the calls or dropped.
_RECORD_COLUMNS = ("qual", "filter", "line")
_REQUIRED_SITE_COLUMNS = ("chrom", "pos", "ref", "alt")
_REQUIRED_CALL_COLUMNS = ("sample", "gt")
#: Threads writing a dataset's per-chromosome files at once (independent files: the output is the same).
WRITER_THREADS = 2


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: the dataset id, and whether it was new."""

    dataset_id: str
    created: bool
    entry: DatasetEntry


def file_dataset_id(path: Path | str) -> str:
    """The dataset id of a file: the first 20 hex digits of its SHA-256, so a re-ingest is recognised."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def tables_dataset_id(sites: pa.Table, genotypes: pa.Table, samples: Sequence[str]) -> str:
    """The dataset id of in-memory tables: a hash of their content."""
    digest = hashlib.sha256()
    for table in (sites, genotypes):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    digest.update("\t".join(samples).encode())
    return digest.hexdigest()[:20]


@contextmanager
def _writer_lock(layout: StoreLayout) -> Iterator[None]:
    """Serialises writers on one store (an ingest reads the existing sites to append only new ones)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def store_writer_lock(root: Path | str) -> AbstractContextManager[None]:
    """Holds a store's writer lock: no ingest, compaction or clean-up changes it meanwhile (for backups)."""
    return _writer_lock(StoreLayout(root))


def _recover(layout: StoreLayout, manifest: Manifest) -> None:
    """Removes what a killed writer left behind: staging dirs and renamed but uncommitted datasets or segments.

    Retired directories are kept: readers of an older manifest may still use them until _collect_retired.
    """
    if layout.staging_dir.exists():
        shutil.rmtree(layout.staging_dir)
    retired = {layout.retired_dir(r) for r in manifest.retired}
    datasets_dir = layout.root / "datasets"
    if datasets_dir.exists():
        # A compacted dataset's own directory no longer retired is a leftover too (a writer killed while
        # removing it after its retention ran out).
        own = {d.dataset_id for d in manifest.datasets if not d.segment}
        for child in datasets_dir.iterdir():
            if child.name not in own and child not in retired:
                shutil.rmtree(child)
    segments_dir = layout.root / "segments"
    if segments_dir.exists():
        committed = {g.segment_id for g in manifest.segments}
        for child in segments_dir.iterdir():
            if child.name not in committed and child not in retired:
                shutil.rmtree(child)


def retention_seconds(value: float | None = None) -> float:
    """The retention window of replaced files: the value given, else GMC_STORE_RETENTION_SECONDS."""
    if value is None:
        from gmc.settings import get_settings

        value = get_settings().store_retention_seconds
    if value < 0:
        raise StoreError(f"retention of replaced store files is {value} s; it must be 0 or more")
    return float(value)


def _retire(manifest: Manifest, paths: Sequence[Path], layout: StoreLayout, now: float) -> None:
    """Lists replaced directories as retired at now (the caller writes the manifest)."""
    for path in paths:
        manifest.retired.append(RetiredEntry(path=path.relative_to(layout.root).as_posix(), retired_at=now))


def _collect_retired(layout: StoreLayout, manifest: Manifest, *, retention: float, now: float) -> int:
    """Removes retired directories older than the retention window (writer lock held); returns how many."""
    due = [r for r in manifest.retired if now - r.retired_at >= retention]
    if not due:
        return 0
    paths = [layout.retired_dir(r) for r in due]
    manifest.retired = [r for r in manifest.retired if now - r.retired_at < retention]
    # Manifest first: a crash before the removal leaves unlisted directories, which _recover removes.
    layout.write_manifest(manifest)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return len(due)


def _require(table: pa.Table, columns: Sequence[str], what: str) -> None:
    """Raises StoreError naming the missing column."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise StoreError(f"{what} table lacks column(s) {', '.join(missing)}")


def _write_genotypes(calls: pa.Table, path: Path) -> None:
    """Writes one chromosome's genotype file (rows in (key, sample) order) and, for several samples, its index."""
    _write_parquet(calls, path)
    samples = calls.column("sample_idx").to_numpy()
    if not len(samples) or samples.min() == samples.max():
        # one sample's file is its own index (a single genome's dataset): nothing to add
        return
    # stable: a sample's rows keep the file's key order, so (sample_idx, row) is also (sample_idx, key)
    order = np.argsort(samples, kind="stable")
    take = pa.array(order)
    code = CHROM_CODE[path.stem.removeprefix("chr")]
    index = pa.table(
        {
            "sample_idx": pa.array(samples[order], pa.int32()),
            "row": pa.array(order, pa.int32()),
            "chrom_code": pa.array(np.full(len(order), code, dtype=np.int8), pa.int8()),
            **{name: calls.column(name).take(take) for name in ("gt", "ploidy", "gq", "filter")},
        },
        schema=SAMPLE_INDEX_SCHEMA,
    )
    # row numbers rise within a sample: deltas of a few bits instead of 32
    _write_parquet(index, sample_index_path(path), column_encoding={"row": "DELTA_BINARY_PACKED"})
    keys = calls.column("key").to_numpy()
    qual = calls.column("qual")
    values = pc.fill_null(qual, np.nan).to_numpy(zero_copy_only=False)
    same = (values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1]))
    starts = np.concatenate([[0], np.flatnonzero((keys[1:] != keys[:-1]) | ~same) + 1]) if len(keys) else keys
    runs = pa.table({"first_row": pa.array(starts, pa.int32()), "qual": qual.take(pa.array(starts))},
                    schema=RECORD_QUAL_SCHEMA)
    _write_parquet(runs, record_qual_path(path), column_encoding={"first_row": "DELTA_BINARY_PACKED"})


def _write_parquet(table: pa.Table, path: Path, column_encoding: dict[str, str] | None = None) -> None:
    """Writes one sorted table with compression and encodings chosen for small, prunable files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # What delta encoding gains from is a key equal to the one before it: count those (a hash-based distinct
    # count of a genome's keys cost 40 % of the writing).
    repeated = False
    if "key" in table.column_names:
        keys = table.column("key").to_numpy()
        repeated = len(keys) > 1 and np.count_nonzero(keys[1:] == keys[:-1]) > 0.5 * len(keys)
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE,
                   **parquet_options(table.schema, repeated_keys=repeated, column_encoding=column_encoding))


def parquet_options(schema: pa.Schema, *, repeated_keys: bool,
                    column_encoding: dict[str, str] | None = None) -> dict[str, Any]:
    """The Parquet writer options of every store file (pyarrow's write_table and ParquetWriter take them).

    repeated_keys: more than half the rows repeat the key of the row before (a multi-sample file's carriers).
    """
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    # Keys repeat across a batch's carriers (delta encoding stores a repeat in ~0 bits); unique keys
    # hold 30 random hash bits that deltas cannot shrink, where plain + zstd is smaller (4.5 vs 5.3 B/row).
    encoding: dict[str, str] = {}
    if "key" in schema.names:
        encoding["key"] = "DELTA_BINARY_PACKED" if repeated_keys else "PLAIN"
    encoding.update(column_encoding or {})
    return {
        "compression": "zstd",
        "compression_level": 3,
        "use_dictionary": strings,
        "column_encoding": encoding,
        # Readers prune row groups on keys, positions and samples; min/max of free text (HGVS, alleles)
        # cost 15 % of the writing and prune nothing.
        "write_statistics": [f.name for f in schema if f.name not in strings or f.name in _PRUNED_STRINGS],
    }


#: String columns whose row-group statistics are kept (sorted by position, so a gene's rows cluster).
_PRUNED_STRINGS = frozenset({"chrom", "gene", "hgnc_id"})


def _existing_sites(layout: StoreLayout, manifest: Manifest, chrom: str) -> pa.Table:
    """Key, ref and alt of every committed site on a chromosome."""
    files = layout.files(manifest, "sites", [chrom])
    if not files:
        return pa.table({"key": pa.array([], pa.int64()), "ref": pa.array([], pa.string()),
                         "alt": pa.array([], pa.string())})
    return pa.concat_tables([pq.read_table(f, columns=["key", "ref", "alt"]) for f in files])


def filter_new_sites(root: Path | str, sites: pa.Table) -> pa.Table:
    """The rows of a sites table (chrom, pos, ref, alt, ...) not yet in the store: annotate only these."""
    _require(sites, _REQUIRED_SITE_COLUMNS, "sites")
    _, new = NewSiteFilter(root).mark(sites)
    return _filter(sites, new)


class NewSiteFilter:
    """filter_new_sites for a file taken batch by batch: each chromosome's committed keys are read once."""

    def __init__(self, root: Path | str) -> None:
        self.layout = StoreLayout(root)
        self.manifest = self.layout.read_manifest()
        self._known: dict[str, pa.ChunkedArray] = {}

    def mark(self, sites: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """Each row's variant key (-1 off the primary contigs) and whether it is a site new to the store."""
        primary = _primary(sites.column("chrom"))
        keys = np.full(len(primary), -1, dtype=np.int64)
        on_primary = _filter(sites, primary)
        keys[primary] = _keys_of(on_primary)
        new = primary.copy()
        if not self.manifest.datasets and not self.manifest.segments:
            return keys, new  # an empty store knows no site
        known = np.zeros(int(primary.sum()), dtype=bool)
        for c in pc.unique(on_primary.column("chrom")).to_pylist():
            existing = self._known.get(c)
            if existing is None:
                existing = self._known[c] = _existing_sites(self.layout, self.manifest, c).column("key")
            known |= pc.is_in(pa.array(keys[primary]), value_set=existing).to_numpy(zero_copy_only=False)
        new[primary] = ~known
        return keys, new


def place_columns(sites: pa.Table, annotated: pa.Table, rows: np.ndarray, columns: Sequence[str]) -> pa.Table:
    """The sites table with `columns` of `annotated` appended: its row i at sites row rows[i], null elsewhere."""
    if len(rows) == len(sites) and (not len(rows) or bool(np.all(rows == np.arange(len(rows))))):
        # every site annotated, in order (a first file in a fresh store): the columns fit as they are
        for name in columns:
            sites = sites.append_column(name, annotated.column(name))
        return sites
    positions = np.full(len(sites), -1, dtype=np.int64)
    positions[rows] = np.arange(len(rows), dtype=np.int64)
    hit = positions >= 0
    index = pa.array(np.where(hit, positions, 0), pa.int64(), mask=~hit)
    for name in columns:
        sites = sites.append_column(name, annotated.column(name).take(index))
    return sites


def _primary(chrom: pa.ChunkedArray) -> np.ndarray:
    """True for rows on a chromosome the store keeps (an Arrow set lookup, not a Python test per row)."""
    found = pc.is_in(chrom, value_set=pa.array(CHROMOSOMES, pa.string()))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _keys_of(sites: pa.Table) -> np.ndarray:
    """Variant keys of a sites table's rows.

    A symbolic allele (<DEL>, <CNV> ...) is one event per end: two deletions from one position that end apart
    are different sites, so its end joins the allele the key hashes.
    """
    alt = sites.column("alt")
    if "sv_end" in sites.column_names:
        symbolic = pc.fill_null(pc.and_(pc.starts_with(alt, "<"), pc.is_valid(sites.column("sv_end"))), False)
        with_end = pc.binary_join_element_wise(alt, pc.cast(sites.column("sv_end"), pa.string()), ":END=")
        alt = pc.if_else(symbolic, with_end, alt)
    return variant_keys(
        sites.column("chrom"),
        sites.column("pos").to_numpy(zero_copy_only=False),
        sites.column("ref"),
        alt,
    )


def _call_column(calls: pa.Table, name: str, dtype: pa.DataType, n: int) -> pa.Array:
    """A genotype column cast to the store type, or all -1 / null when the input lacks it."""
    if name in calls.column_names:
        return pc.cast(calls.column(name), dtype).combine_chunks()
    if name == "qual":
        return pa.nulls(n, dtype)
    if name == "filter":
        return pa.array(["PASS"] * n, dtype)
    return pa.array(np.full(n, -1), dtype)


def ingest_tables(
    root: Path | str,
    *,
    sites: pa.Table,
    genotypes: pa.Table,
    samples: Sequence[str],
    dataset_id: str | None = None,
    source: str = "",
    build: str = "",
    keys: np.ndarray | None = None,
    retention: float | None = None,
) -> IngestResult:
    """Stores one dataset given as contract tables (sites by row; long calls with row and sample); idempotent.

    keys are the sites' variant keys (-1 off the primary contigs) when the caller has them already
    (NewSiteFilter.mark), so a genome's 5 M alleles are not hashed a second time. retention (seconds,
    default GMC_STORE_RETENTION_SECONDS) is how old retired directories must be for this ingest to remove them.
    """
    layout = StoreLayout(root)
    _require(sites, _REQUIRED_SITE_COLUMNS, "sites")
    _require(genotypes, _REQUIRED_CALL_COLUMNS, "genotypes")
    row_col = next((c for c in ("row", "row_index", "row_idx") if c in genotypes.column_names), None)
    if row_col is None:
        raise StoreError("genotypes table lacks a row column (row, row_index or row_idx) pointing into sites")
    if len(set(samples)) != len(samples):
        dupes = sorted(s for s, n in Counter(samples).items() if n > 1)
        raise StoreError(f"dataset {source or dataset_id}: duplicate sample name(s) {', '.join(dupes)}")
    dataset_id = dataset_id or tables_dataset_id(sites, genotypes, samples)

    with _writer_lock(layout):
        manifest = layout.read_manifest()
        existing = manifest.dataset(dataset_id)
        if existing is not None:
            return IngestResult(dataset_id=dataset_id, created=False, entry=existing)
        _recover(layout, manifest)
        _collect_retired(layout, manifest, retention=retention_seconds(retention), now=time.time())
        builds = {d.build for d in manifest.datasets if d.build}
        if build and builds and build not in builds:
            raise StoreError(f"dataset {source or dataset_id} is {build} but the store holds {', '.join(builds)}")
        taken = manifest.sample_index()
        clash = [s for s in samples if s in taken]
        if clash:
            raise StoreError(
                f"dataset {source or dataset_id}: sample(s) {', '.join(clash[:5])} are already in the store "
                "from another dataset"
            )
        first_idx = manifest.n_samples
        entry, staged = _stage(layout, manifest, sites, genotypes, row_col, list(samples), dataset_id, source,
                               build, first_idx, keys)
        # Commit: one directory rename, then the manifest; a crash between the two leaves an
        # unlisted directory that readers never see and the next ingest removes.
        target = layout.dataset_dir(dataset_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        _fsync_dir(target.parent)
        manifest.datasets.append(entry)
        layout.write_manifest(manifest)
        shutil.rmtree(layout.staging_dir, ignore_errors=True)
    return IngestResult(dataset_id=dataset_id, created=True, entry=entry)


def _stage(
    layout: StoreLayout,
    manifest: Manifest,
    sites: pa.Table,
    calls: pa.Table,
    row_col: str,
    samples: list[str],
    dataset_id: str,
    source: str,
    build: str,
    first_idx: int,
    given_keys: np.ndarray | None = None,
) -> tuple[DatasetEntry, Path]:
    """Writes the dataset's files into a fresh staging directory and returns its manifest entry."""
    staged = layout.staging_dir / f"{dataset_id}-{uuid.uuid4().hex[:8]}"
    staged.mkdir(parents=True)

    primary = _primary(sites.column("chrom"))
    skipped = dict(Counter(sites.column("chrom").filter(pa.array(~primary)).to_pylist()))
    prim_sites = _filter(sites, primary)
    if given_keys is not None and len(given_keys) == len(primary) and np.array_equal(given_keys >= 0, primary):
        keys = np.asarray(given_keys, dtype=np.int64)
    else:
        keys = np.full(len(primary), -1, dtype=np.int64)
        keys[primary] = _keys_of(prim_sites)

    # Calls: resolve row -> key and sample -> store-wide index; drop calls on skipped contigs.
    rows = calls.column(row_col).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(keys)):
        raise StoreError(f"dataset {source or dataset_id}: genotype row index outside the sites table")
    sample_col = calls.column("sample")
    if pa.types.is_integer(sample_col.type):
        local = sample_col.to_numpy(zero_copy_only=False).astype(np.int64)
        if len(local) and (local.min() < 0 or local.max() >= len(samples)):
            raise StoreError(f"dataset {source or dataset_id}: genotype sample index outside the sample list")
    else:
        lookup = {s: i for i, s in enumerate(samples)}
        names = sample_col.to_pylist()
        unknown = sorted({s for s in names if s not in lookup})
        if unknown:
            raise StoreError(f"dataset {source or dataset_id}: genotype sample(s) {unknown[:5]} not in samples")
        local = np.fromiter((lookup[s] for s in names), dtype=np.int64, count=len(names))
    call_keys = keys[rows] if len(rows) else np.zeros(0, dtype=np.int64)
    keep = call_keys >= 0
    # Hom-ref and missing calls carry no information in a sparse store.
    gt = calls.column("gt").to_numpy(zero_copy_only=False).astype(np.int8)
    keep &= gt > 0

    n = len(calls)
    call_qual = _take(_call_column(sites, "qual", pa.float32(), len(sites)), rows)
    call_filter = _take(_call_column(sites, "filter", pa.string(), len(sites)), rows)
    genos = _filter(pa.table(
        {
            "key": pa.array(call_keys, pa.int64()),
            "sample_idx": pa.array(local + first_idx, pa.int32()),
            "gt": pa.array(gt, pa.int8()),
            "ploidy": _call_column(calls, "ploidy", pa.int8(), n),
            "gq": _call_column(calls, "gq", pa.int16(), n),
            "dp": _call_column(calls, "dp", pa.int32(), n),
            "ad_ref": _call_column(calls, "ad_ref", pa.int32(), n),
            "ad_alt": _call_column(calls, "ad_alt", pa.int32(), n),
            "qual": call_qual,
            "filter": call_filter,
        },
        schema=GENOTYPES_SCHEMA,
    ), keep)
    order = np.lexsort((genos.column("sample_idx").to_numpy(), genos.column("key").to_numpy()))
    genos = _take(genos, order)
    # The same allele twice for one sample (duplicate records in the VCF): keep the first call.
    gk = genos.column("key").to_numpy()
    gs = genos.column("sample_idx").to_numpy()
    first = np.ones(len(gk), dtype=bool)
    first[1:] = (gk[1:] != gk[:-1]) | (gs[1:] != gs[:-1])
    genos = _filter(genos, first)

    # Sites: one row per key, core columns plus any annotation columns; record-level ones go.
    extra = [c for c in sites.column_names if c not in SITES_SCHEMA.names and c not in _RECORD_COLUMNS]
    site_table = prim_sites.select(list(_REQUIRED_SITE_COLUMNS) + extra)
    for name in extra:
        # An annotation absent from every row arrives as Arrow null type, which Spark cannot read back.
        if pa.types.is_null(site_table.schema.field(name).type):
            i = site_table.schema.get_field_index(name)
            site_table = site_table.set_column(i, name, pc.cast(site_table.column(name), pa.string()))
    site_table = site_table.add_column(0, "key", pa.array(keys[primary], pa.int64()))
    site_table = site_table.set_column(
        site_table.schema.get_field_index("pos"), "pos", pc.cast(site_table.column("pos"), pa.int32())
    )
    site_table = _take(site_table, np.argsort(keys[primary], kind="stable"))
    sk = site_table.column("key").to_numpy()
    uniq = np.ones(len(sk), dtype=bool)
    uniq[1:] = sk[1:] != sk[:-1]
    _check_collisions(site_table, sk, uniq, source or dataset_id)
    site_table = _filter(site_table, uniq)
    # gk is sorted by key already: its distinct keys are the first of each run (np.unique would sort again)
    new_key = np.ones(len(gk), dtype=bool)
    new_key[1:] = gk[1:] != gk[:-1]
    called = gk[new_key]

    chroms_out: list[str] = []
    writes: list[tuple[Any, pa.Table, Path]] = []
    n_new = 0
    # Both tables are sorted by key, whose top bits are the chromosome code: each chromosome is one
    # contiguous run, cut by zero-copy slices instead of filtering the whole table once per chromosome.
    codes = np.arange(1, len(CHROMOSOMES) + 2, dtype=np.int64)
    geno_at = np.searchsorted(genos.column("key").to_numpy() >> CHROM_SHIFT, codes, side="left")
    site_at = np.searchsorted(site_table.column("key").to_numpy() >> CHROM_SHIFT, codes, side="left")
    called_at = np.searchsorted(called >> CHROM_SHIFT, codes, side="left")
    for code, chrom in enumerate(CHROMOSOMES, start=1):
        g = genos.slice(int(geno_at[code - 1]), int(geno_at[code] - geno_at[code - 1]))
        if len(g) == 0:
            continue
        chroms_out.append(chrom)
        s = site_table.slice(int(site_at[code - 1]), int(site_at[code] - site_at[code - 1]))
        # only this chromosome's called keys: a value set of the whole genome's keys per chromosome is slow
        called_here = pa.array(called[called_at[code - 1]:called_at[code]], pa.int64())
        s = _filter(s, pc.is_in(s.column("key"), value_set=called_here))
        old = _existing_sites(layout, manifest, chrom)
        _check_store_collisions(s, old, source or dataset_id)
        if len(old):
            s = _filter(s, pc.invert(pc.is_in(s.column("key"), value_set=old.column("key"))))
        if len(s):
            writes.append((_write_parquet, s, staged / "sites" / f"chr{chrom}.parquet"))
            n_new += len(s)
        writes.append((_write_genotypes, g, staged / "genotypes" / f"chr{chrom}.parquet"))
    # Parquet encoding and zstd run outside the GIL: the chromosomes' files are written by two threads
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        for done in [pool.submit(write, table, path) for write, table, path in writes]:
            done.result()
    sample_table = pa.table(
        {
            "sample_idx": pa.array(range(first_idx, first_idx + len(samples)), pa.int32()),
            "sample": pa.array(samples, pa.string()),
            "dataset_id": pa.array([dataset_id] * len(samples), pa.string()),
        },
        schema=SAMPLES_SCHEMA,
    )
    _write_parquet(sample_table, staged / "samples.parquet")
    entry = DatasetEntry(
        dataset_id=dataset_id,
        source=source,
        samples=samples,
        first_sample_idx=first_idx,
        chroms=chroms_out,
        n_new_sites=n_new,
        n_genotypes=len(genos),
        build=build,
        skipped_contigs=skipped,
    )
    return entry, staged


def _filter(table: pa.Table, mask: np.ndarray | pa.Array) -> pa.Table:
    """table.filter(mask), skipped when every row is kept (the usual case: a copy of every column saved)."""
    keep_all = bool(mask.all()) if isinstance(mask, np.ndarray) else pc.all(mask).as_py() and not mask.null_count
    if keep_all and len(mask) == len(table):
        return table
    return table.filter(mask if isinstance(mask, pa.Array) else pa.array(mask))


def _take(values: pa.Array | pa.Table, index: np.ndarray) -> pa.Array | pa.Table:
    """values.take(index), skipped when index is 0..n-1 over all of values (a sorted VCF's calls and sites)."""
    if len(index) == len(values) and (not len(index) or (index[0] == 0 and bool(np.all(np.diff(index) == 1)))):
        return values
    return values.take(pa.array(index))


def _check_collisions(sites: pa.Table, keys: np.ndarray, first: np.ndarray, label: str) -> None:
    """Two different alleles sharing a key (a 30-bit hash clash at one position) would merge calls."""
    dup = np.flatnonzero(~first)
    if not len(dup):
        return
    ref = sites.column("ref").to_pylist()
    alt = sites.column("alt").to_pylist()
    for i in dup:
        if (ref[i], alt[i]) != (ref[i - 1], alt[i - 1]):
            chrom = sites.column("chrom")[int(i)].as_py()
            pos = sites.column("pos")[int(i)].as_py()
            raise StoreError(f"dataset {label}: variant key collision at {chrom}:{pos} ({ref[i - 1]}>{alt[i - 1]} "
                             f"vs {ref[i]}>{alt[i]})")


def _check_store_collisions(new: pa.Table, old: pa.Table, label: str) -> None:
    """Raises when a new site's key is already used by different alleles in the store."""
    if not len(old) or not len(new):
        return
    joined = new.select(["key", "chrom", "pos", "ref", "alt"]).join(
        old.rename_columns(["key", "old_ref", "old_alt"]), "key", join_type="inner"
    )
    bad = pc.or_(pc.not_equal(joined.column("ref"), joined.column("old_ref")),
                 pc.not_equal(joined.column("alt"), joined.column("old_alt")))
    if pc.any(bad).as_py():
        row = joined.filter(bad).slice(0, 1).to_pylist()[0]
        raise StoreError(f"dataset {label}: variant key collision at {row['chrom']}:{row['pos']} with a stored site")


def ingest_vcf(
    root: Path | str,
    path: Path | str,
    *,
    samples: list[str] | None = None,
    info_keys: tuple[str, ...] = (),
    build: str | None = None,
) -> IngestResult:
    """Stores one VCF (all its samples or the given ones) in bounded memory; the same file twice stores nothing new.

    The file streams through in chunks (see streaming.stream_ingest_vcf): a cohort of thousands of samples costs
    the memory one genome does, and the files are those ingest_tables writes from the whole file.
    """
    from gmc.genomics.store.streaming import stream_ingest_vcf

    return stream_ingest_vcf(root, path, samples=samples, info_keys=info_keys, build=build)


def _read_all(batches: Iterator[Any], path: Path) -> tuple[pa.Table, pa.Table]:
    """Concatenates a reader's batches, shifting each batch's row indexes to whole-file rows (a file whole in
    memory, as ingest_tables takes it: the reference the streaming ingest is checked against)."""
    site_parts: list[pa.Table] = []
    call_parts: list[pa.Table] = []
    offset = 0
    for batch in batches:
        sites, calls = batch.to_arrow()
        rows = pc.add(pc.cast(calls.column("row"), pa.int64()), offset)
        call_parts.append(calls.set_column(calls.schema.get_field_index("row"), "row", rows))
        site_parts.append(sites)
        offset += len(sites)
    if not site_parts:
        raise StoreError(f"{path.name}: no variant records")
    return (pa.concat_tables(site_parts, promote_options="default"),
            pa.concat_tables(call_parts, promote_options="default"))
