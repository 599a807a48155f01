"""Streaming ingest of a VCF (a joint-called cohort of thousands of samples, or one genome) in bounded memory.

The file is read in chunks of about CELLS_PER_CHUNK genotype cells (records x samples). Each chunk's calls and
sites are written at once as small key-sorted Parquet runs in the store's staging folder. Then DuckDB's external
sort (at most SORT_MEMORY, spilling to the staging folder) merges all the calls into one sorted stream, and all
the sites into another, and each stream is cut into the store's per-chromosome files row group by row group.
Nothing is published until every file is written: then one directory rename and the manifest, as for any
ingest. Peak memory is set by the chunk and the sort limit, not by the file (587 MB at 1,000 samples against
541 MB at 100: docs/bench/cohort-ingest.md). The files are the same tables, row for row, as ingest_tables
writes from the whole file in memory (tests/genomics/store/test_streaming.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmc.genomics.store.layout import (
    CHROM_SHIFT,
    CHROMOSOMES,
    GENOTYPES_SCHEMA,
    RECORD_QUAL_SCHEMA,
    SAMPLE_INDEX_SCHEMA,
    SAMPLES_SCHEMA,
    SITES_SCHEMA,
    DatasetEntry,
    StoreError,
    StoreLayout,
    _fsync_dir,
    record_qual_path,
    sample_index_path,
)
from gmc.genomics.store.writer import (
    _RECORD_COLUMNS,
    ROW_GROUP_SIZE,
    IngestResult,
    NewSiteFilter,
    _collect_retired,
    _filter,
    _keys_of,
    _primary,
    _recover,
    _write_parquet,
    _writer_lock,
    file_dataset_id,
    parquet_options,
    place_columns,
    retention_seconds,
)

#: Genotype cells (records x samples) read at a time: the reader's dense arrays are about 20 bytes a cell.
CELLS_PER_CHUNK = 2_000_000
#: Allele rows per chunk at most (a single genome's chunk: the reader's own batch size).
MAX_CHUNK_ROWS = 100_000
#: DuckDB's memory limit for sorting a chromosome's runs; past it the sort spills to the staging folder.
SORT_MEMORY = "256MB"
#: Rows per batch streamed out of a sort into the store's files.
STREAM_ROWS = ROW_GROUP_SIZE

#: Called as progress(stage, done, total): ("read", line, None) per chunk, ("write", chromosomes, of) per chromosome.
Progress = Callable[[str, int, int | None], None]
#: annotate(sites) -> annotation columns of those sites, one row each (as the ingest's annotator returns).
Annotate = Callable[[pa.Table], pa.Table]

def chunk_rows(n_samples: int, cells: int = CELLS_PER_CHUNK) -> int:
    """Allele rows per chunk for a file of n_samples: the chunk holds about `cells` genotype cells."""
    return max(1, min(MAX_CHUNK_ROWS, cells // max(1, n_samples)))


def stream_ingest_vcf(
    root: Path | str,
    path: Path | str,
    *,
    samples: list[str] | None = None,
    store_names: Callable[[str], str] | None = None,
    info_keys: tuple[str, ...] = (),
    build: str | None = None,
    dataset_id: str | None = None,
    annotate: Annotate | None = None,
    cells: int = CELLS_PER_CHUNK,
    sort_memory: str = SORT_MEMORY,
    progress: Progress | None = None,
    retention: float | None = None,
) -> IngestResult:
    """Stores one VCF (all its samples or the given ones) chunk by chunk; all or nothing, the same file twice
    stores nothing new. store_names maps a VCF sample to its name in the store (default: the VCF's own).

    A bad record raises VcfFormatError naming its line, and leaves the store as it was. The store's writer lock
    is held throughout (another ingest waits; queries do not).
    """
    from gmc.genomics.vcf import open_vcf  # the VCF reader is the genomics feature's; imported late

    path = Path(path)
    if dataset_id is None:
        dataset_id = file_dataset_id(path)
        if samples is not None:
            dataset_id = hashlib.sha256(f"{dataset_id}\t{','.join(samples)}".encode()).hexdigest()[:20]
    layout = StoreLayout(root)
    known = layout.read_manifest().dataset(dataset_id)
    if known is not None:
        return IngestResult(dataset_id=dataset_id, created=False, entry=known)
    with open_vcf(path, samples=samples, info_keys=info_keys, build=build) as reader:
        vcf_samples, source_build = list(reader.samples), reader.build
        names = [store_names(s) for s in vcf_samples] if store_names else vcf_samples
        if len(set(names)) != len(names):
            dupes = sorted(s for s, n in Counter(names).items() if n > 1)
            raise StoreError(f"dataset {path.name}: duplicate sample name(s) {', '.join(dupes)}")
        with _writer_lock(layout):
            manifest = layout.read_manifest()
            existing = manifest.dataset(dataset_id)
            if existing is not None:
                return IngestResult(dataset_id=dataset_id, created=False, entry=existing)
            _recover(layout, manifest)
            _collect_retired(layout, manifest, retention=retention_seconds(retention), now=time.time())
            held = {d.build for d in manifest.datasets if d.build}
            if held and source_build not in held:
                raise StoreError(f"dataset {path.name} is {source_build} but the store holds {', '.join(held)}")
            taken = manifest.sample_index()
            clash = [s for s in names if s in taken]
            if clash:
                raise StoreError(f"dataset {path.name}: sample(s) {', '.join(clash[:5])} are already in the store "
                                 "from another dataset")
            staged = layout.staging_dir / f"{dataset_id}-{uuid.uuid4().hex[:8]}"
            try:
                spill = _Spill(staged / "_spill", first_idx=manifest.n_samples,
                               site_filter=NewSiteFilter(root) if annotate is not None else None, annotate=annotate)
                for batch in reader.batches(chunk_rows(len(vcf_samples), cells)):
                    spill.add(batch)
                    if progress is not None:
                        progress("read", int(batch.line[-1]) if len(batch) else 0, None)
                if not spill.rows:
                    raise StoreError(f"{path.name}: no variant records")
                entry = _publishable(layout, manifest, spill, staged, names, dataset_id, path.name, source_build,
                                     sort_memory, progress)
                target = layout.dataset_dir(dataset_id)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Commit: one rename, then the manifest; a crash between them leaves an unlisted directory that
                # readers never see and the next ingest removes.
                os.replace(staged, target)
                _fsync_dir(target.parent)
                manifest.datasets.append(entry)
                layout.write_manifest(manifest)
            finally:
                shutil.rmtree(layout.staging_dir, ignore_errors=True)
    return IngestResult(dataset_id=dataset_id, created=True, entry=entry)


class _Spill:
    """A file's chunks as key-sorted Parquet runs, one per chunk: calls (non-reference, on the store's chromosomes)
    and sites, each row tagged with its row number in the file (seq) so the merge keeps file order on ties."""

    def __init__(self, folder: Path, *, first_idx: int, site_filter: NewSiteFilter | None,
                 annotate: Annotate | None) -> None:
        self.folder = folder
        self.first_idx = first_idx
        self.site_filter = site_filter
        self.annotate = annotate
        self.rows = 0
        self.chunks = 0
        #: Non-primary contigs' allele rows, in the order first seen (as the manifest lists them).
        self.skipped: Counter[str] = Counter()
        #: Sites columns in the order first seen, with their type (None while only ever all-null).
        self.site_columns: dict[str, pa.DataType | None] = {}
        #: Columns of the sites runs (a column all-null in a chunk is not spilled with it).
        self.spilled: set[str] = set()

    def add(self, batch: Any) -> None:
        """Spills one reader batch (a VariantBatch)."""
        sites = batch.sites_table()
        n = len(sites)
        seq = np.arange(self.rows, self.rows + n, dtype=np.int64)
        primary = _primary(sites.column("chrom"))
        if not primary.all():
            self.skipped.update(sites.column("chrom").filter(pa.array(~primary)).to_pylist())
        if self.site_filter is not None:
            keys, new = self.site_filter.mark(sites)
            sites = self._annotated(sites, new)
        else:
            keys = np.full(n, -1, dtype=np.int64)
            keys[primary] = _keys_of(_filter(sites, primary))
        for name in sites.column_names:
            if name == "line":
                continue
            kind = sites.schema.field(name).type
            if self.site_columns.get(name) is None:
                self.site_columns[name] = None if pa.types.is_null(kind) else kind
        rows, cols = np.nonzero(batch.gt > 0)
        call_keys = keys[rows]
        keep = call_keys >= 0
        rows, cols, call_keys = rows[keep], cols[keep], call_keys[keep]
        take = pa.array(rows)
        calls = pa.table({
            "key": pa.array(call_keys, pa.int64()),
            "sample_idx": pa.array(cols + self.first_idx, pa.int32()),
            "gt": pa.array(batch.gt[rows, cols], pa.int8()),
            "ploidy": pa.array(batch.ploidy[rows, cols], pa.int8()),
            "gq": pa.array(batch.gq[rows, cols], pa.int16()),
            "dp": pa.array(batch.dp[rows, cols], pa.int32()),
            "ad_ref": pa.array(batch.ad_ref[rows, cols], pa.int32()),
            "ad_alt": pa.array(batch.ad_alt[rows, cols], pa.int32()),
            "qual": pc.cast(sites.column("qual"), pa.float32()).take(take),
            "filter": pc.cast(sites.column("filter"), pa.string()).take(take),
            "seq": pa.array(seq[rows], pa.int64()),
        })
        # the sites of the store's chromosomes, without record columns or all-null ones (the merge types them)
        keep_cols = [c for c in sites.column_names if c not in _RECORD_COLUMNS and not pa.types.is_null(
            sites.schema.field(c).type)]
        site_rows = _filter(sites.select(keep_cols), primary)
        site_rows = site_rows.append_column("key", pa.array(keys[primary], pa.int64()))
        site_rows = site_rows.append_column("seq", pa.array(seq[primary], pa.int64()))
        self._write("calls", calls)
        self._write("sites", site_rows)
        self.rows += n
        self.chunks += 1

    def _annotated(self, sites: pa.Table, new: np.ndarray) -> pa.Table:
        """The sites with the annotation columns of those new to the store (null elsewhere)."""
        rows = np.flatnonzero(new)
        if not len(rows):
            return sites
        from gmc.genomics.vcf import SV_COLUMNS  # what annotation reads of a structural allele

        query = sites.select(["chrom", "pos", "ref", "alt", *(c for c in SV_COLUMNS if c in sites.column_names)])
        annotated = self.annotate(query if len(rows) == len(sites) else query.take(pa.array(rows)))
        if len(annotated) != len(rows):
            raise ValueError(f"annotation returned {len(annotated)} rows for {len(rows)} sites")
        return place_columns(sites, annotated, rows, [c for c in annotated.column_names if c not in sites.column_names])

    def _write(self, table_name: str, table: pa.Table) -> None:
        """Writes one chunk's table as a key-sorted run (so in chromosome order)."""
        if not len(table):
            return
        order = np.argsort(table.column("key").to_numpy(), kind="stable")
        if table_name == "sites":
            self.spilled.update(table.column_names)
        run = self.folder / table_name / f"{self.chunks:07d}.parquet"
        run.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.take(pa.array(order)), run, compression="zstd", compression_level=1)

    def runs(self, table_name: str) -> str | None:
        """The glob of a table's runs as DuckDB reads it, None when there are none."""
        folder = self.folder / table_name
        return _sql_text(str(folder / "*.parquet")) if folder.is_dir() else None


class _GroupWriter:
    """Streams sorted batches into one store file in row groups of ROW_GROUP_SIZE (as a whole-table write)."""

    def __init__(self, path: Path, schema: pa.Schema, *, repeated_keys: bool = False,
                 column_encoding: dict[str, str] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = schema
        self._writer = pq.ParquetWriter(path, schema, **parquet_options(
            schema, repeated_keys=repeated_keys, column_encoding=column_encoding))
        self._pending: list[pa.Table] = []
        self._held = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Adds rows; full row groups go to the file."""
        if not len(table):
            return
        self._pending.append(table.cast(self.schema))
        self._held += len(table)
        self.rows += len(table)
        if self._held >= ROW_GROUP_SIZE:
            held = pa.concat_tables(self._pending)
            full = (len(held) // ROW_GROUP_SIZE) * ROW_GROUP_SIZE
            for start in range(0, full, ROW_GROUP_SIZE):
                self._writer.write_table(held.slice(start, ROW_GROUP_SIZE), row_group_size=ROW_GROUP_SIZE)
            rest = held.slice(full)
            self._pending, self._held = ([rest] if len(rest) else []), len(rest)

    def close(self) -> int:
        """Writes the last group and closes the file; returns the rows written."""
        if self._held:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=ROW_GROUP_SIZE)
        self._writer.close()
        return self.rows


def _publishable(layout: StoreLayout, manifest: Any, spill: _Spill, staged: Path, samples: Sequence[str],
                 dataset_id: str, source: str, build: str, sort_memory: str,
                 progress: Progress | None) -> DatasetEntry:
    """Merges the spilled runs into the dataset's files in `staged`; returns its manifest entry.

    One sorted stream of the calls and one of the sites, each cut into chromosome files as it passes (keys
    sort by chromosome first); DuckDB sorts within sort_memory and spills past it.
    """
    tmp = staged / "_sort"
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": sort_memory, "threads": 1, "temp_directory": str(tmp)})
    con.execute("SET enable_progress_bar = false")  # its bar would print into the command's output
    called = staged / "_called.parquet"
    try:
        calls = _merge_calls(con, spill.runs("calls"), staged, called, progress)
        n_new = _merge_sites(con, spill, called, staged, layout.files(manifest, "sites"), source or dataset_id)
    except duckdb.Error as exc:  # out of memory below the sort limit, or the staging disk full
        raise StoreError(f"dataset {source or dataset_id}: merging the sorted runs within {sort_memory} failed "
                         f"({str(exc).splitlines()[0]})") from exc
    finally:
        con.close()
    shutil.rmtree(staged / "_spill", ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    called.unlink(missing_ok=True)
    _write_parquet(pa.table({
        "sample_idx": pa.array(range(spill.first_idx, spill.first_idx + len(samples)), pa.int32()),
        "sample": pa.array(list(samples), pa.string()),
        "dataset_id": pa.array([dataset_id] * len(samples), pa.string()),
    }, schema=SAMPLES_SCHEMA), staged / "samples.parquet")
    return DatasetEntry(dataset_id=dataset_id, source=source, samples=list(samples), first_sample_idx=spill.first_idx,
                        chroms=[c for c in CHROMOSOMES if c in calls], n_new_sites=n_new,
                        n_genotypes=sum(calls.values()), build=build, skipped_contigs=dict(spill.skipped))


def _by_chromosome(table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """A key-sorted table cut into its chromosomes' slices: (chromosome code, slice)."""
    codes = table.column("key").to_numpy() >> CHROM_SHIFT
    cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    for start, end in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(codes)]]), strict=True):
        if end > start:
            yield int(codes[start]), table.slice(int(start), int(end - start))


class _ChromosomeCalls:
    """One chromosome's genotype file written from the sorted stream, with (for several samples) its per-sample
    index and QUAL runs, as _write_genotypes writes them from the whole table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, out: Path, code: int, stats: tuple[int, int, int, int],
                 called: _GroupWriter) -> None:
        n, distinct_keys, low, high = stats
        self.con, self.out, self.code, self.called = con, out, code, called
        # the whole-table writer's rule: delta-encode keys when most rows repeat the key before them
        self.genotypes = _GroupWriter(out, GENOTYPES_SCHEMA, repeated_keys=n > 1 and (n - distinct_keys) > 0.5 * n)
        self.several = low != high
        self.index = self.qual_runs = None
        if self.several:
            self.index = _GroupWriter(sample_index_path(out).with_suffix(".unsorted"), SAMPLE_INDEX_SCHEMA)
            self.qual_runs = _GroupWriter(record_qual_path(out), RECORD_QUAL_SCHEMA,
                                          column_encoding={"first_row": "DELTA_BINARY_PACKED"})
        self.last: tuple[int, int] | None = None  # (key, sample_idx) of the last row written
        self.last_qual: tuple[int, float] | None = None  # (key, QUAL) of the last row written
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Adds the next sorted rows; a repeated allele's later calls for one sample are dropped (first kept)."""
        keys = table.column("key").to_numpy()
        samples = table.column("sample_idx").to_numpy()
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (samples[1:] != samples[:-1])
        new_key = np.ones(len(keys), dtype=bool)
        new_key[1:] = keys[1:] != keys[:-1]
        if self.last is not None:
            first[0] = (int(keys[0]), int(samples[0])) != self.last
            new_key[0] = int(keys[0]) != self.last[0]
        table = _filter(table, first)
        keys, new_key = keys[first], new_key[first]
        if not len(table):
            return
        self.last = (int(keys[-1]), int(table.column("sample_idx")[-1].as_py()))
        self.genotypes.write(table)
        self.called.write(pa.table({"key": pa.array(keys[new_key], pa.int64())}))
        if self.several:
            rows = np.arange(self.rows, self.rows + len(table), dtype=np.int64)
            self.index.write(pa.table({
                "sample_idx": table.column("sample_idx"), "row": pa.array(rows, pa.int32()),
                "chrom_code": pa.array(np.full(len(table), self.code, dtype=np.int8), pa.int8()),
                **{name: table.column(name) for name in ("gt", "ploidy", "gq", "filter")}}))
            qual = table.column("qual")
            values = pc.fill_null(qual, np.nan).to_numpy(zero_copy_only=False)
            before_key = np.concatenate([[self.last_qual[0] if self.last_qual else -1], keys[:-1]])
            before = np.concatenate([[self.last_qual[1] if self.last_qual else np.nan], values[:-1]])
            same = (values == before) | (np.isnan(values) & np.isnan(before))
            start = (keys != before_key) | ~same
            if self.last_qual is None:
                start[0] = True
            at = np.flatnonzero(start)
            self.qual_runs.write(pa.table({"first_row": pa.array(rows[at], pa.int32()),
                                           "qual": qual.take(pa.array(at))}))
            self.last_qual = (int(keys[-1]), float(values[-1]))
        self.rows += len(table)

    def close(self) -> int:
        """Closes the files (sorting the per-sample index by sample, then row); returns the rows written."""
        self.genotypes.close()
        if self.several:
            self.qual_runs.close()
            unsorted = self.index.path
            self.index.close()
            ordered = _GroupWriter(sample_index_path(self.out), SAMPLE_INDEX_SCHEMA,
                                   column_encoding={"row": "DELTA_BINARY_PACKED"})
            # a cursor of its own: the calls' stream is still open on the connection
            for batch in _sorted(self.con.cursor(), f"SELECT * FROM read_parquet({_sql_text(str(unsorted))}) "
                                           "ORDER BY sample_idx, row"):
                ordered.write(pa.Table.from_batches([batch]))
            ordered.close()
            unsorted.unlink()
        return self.rows


def _merge_calls(con: duckdb.DuckDBPyConnection, runs: str | None, staged: Path, called: Path,
                 progress: Progress | None) -> dict[str, int]:
    """Writes every chromosome's genotype files from one sorted stream of the calls, and the distinct called keys
    to `called`; returns the rows of each chromosome written."""
    if runs is None:
        return {}
    source = f"read_parquet({runs})"
    stats = {int(code): tuple(int(v) for v in rest) for code, *rest in con.sql(
        f"SELECT key >> {CHROM_SHIFT} AS code, count(*), count(DISTINCT key), min(sample_idx), max(sample_idx) "
        f"FROM (SELECT DISTINCT key, sample_idx FROM {source}) GROUP BY code").fetchall()}
    if progress is not None:
        progress("write", 0, len(stats))  # the bar shows while DuckDB sorts, before the first file is done
    keys_out = _GroupWriter(called, pa.schema([("key", pa.int64())]))
    written: dict[str, int] = {}
    current: _ChromosomeCalls | None = None
    for batch in _sorted(con, f"SELECT {', '.join(GENOTYPES_SCHEMA.names)} FROM {source} "
                              "ORDER BY key, sample_idx, seq"):
        for code, part in _by_chromosome(pa.Table.from_batches([batch])):
            if current is None or current.code != code:
                if current is not None:
                    written[CHROMOSOMES[current.code - 1]] = current.close()
                    if progress is not None:
                        progress("write", len(written), len(stats))
                chrom = CHROMOSOMES[code - 1]
                current = _ChromosomeCalls(con, staged / "genotypes" / f"chr{chrom}.parquet", code, stats[code],
                                           keys_out)
            current.write(part)
    if current is not None:
        written[CHROMOSOMES[current.code - 1]] = current.close()
        if progress is not None:
            progress("write", len(written), len(stats))
    keys_out.close()
    return written


def _merge_sites(con: duckdb.DuckDBPyConnection, spill: _Spill, called: Path, staged: Path, stored: list[str],
                 label: str) -> int:
    """Writes every chromosome's new sites (the first record of each allele, with calls, not yet in the store)
    from one sorted stream; returns how many. Two alleles sharing a key, in the file or with the store, raise
    StoreError."""
    runs = spill.runs("sites")
    if runs is None or not called.exists():
        return 0
    extra = [c for c in spill.site_columns if c not in SITES_SCHEMA.names and c not in _RECORD_COLUMNS]
    schema = pa.schema([*SITES_SCHEMA, *((c, spill.site_columns[c] or pa.string()) for c in extra)])
    # a column no chunk spilled (all null in the file) comes back null, typed as the whole-file path types it
    select = ", ".join(["s.key", "s.chrom", "s.pos", "s.ref", "s.alt",
                        *(f's."{c}"' if c in spill.spilled else f'NULL AS "{c}"' for c in extra)])
    stored_sql = (f"(SELECT key, ref AS old_ref, alt AS old_alt FROM read_parquet({_sql_list(stored)}))"
                  if stored else "(SELECT NULL::BIGINT AS key, NULL AS old_ref, NULL AS old_alt WHERE FALSE)")
    sql = (f"SELECT {select}, (c.key IS NOT NULL) AS called, o.old_ref, o.old_alt "
           f"FROM read_parquet({runs}, union_by_name = true) s "
           f"LEFT JOIN read_parquet({_sql_text(str(called))}) c ON c.key = s.key "
           f"LEFT JOIN {stored_sql} o ON o.key = s.key ORDER BY s.key, s.seq")
    writer: _GroupWriter | None = None  # the current chromosome's (the stream passes each once)
    code_now = new_sites = 0
    last: tuple[int, str, str] | None = None
    for batch in _sorted(con, sql):
        table = pa.Table.from_batches([batch])
        keys = table.column("key").to_numpy()
        ref = table.column("ref").to_pylist()
        alt = table.column("alt").to_pylist()
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        if last is not None:
            first[0] = int(keys[0]) != last[0]
        for i in np.flatnonzero(~first):
            prev = (ref[i - 1], alt[i - 1]) if i else (last[1], last[2])
            if (ref[i], alt[i]) != prev:
                where = f"{table.column('chrom')[int(i)].as_py()}:{table.column('pos')[int(i)].as_py()}"
                raise StoreError(f"dataset {label}: variant key collision at {where} ({prev[0]}>{prev[1]} "
                                 f"vs {ref[i]}>{alt[i]})")
        last = (int(keys[-1]), ref[-1], alt[-1])
        table = _filter(table, first & table.column("called").to_numpy(zero_copy_only=False))
        old_ref = table.column("old_ref")
        in_store = old_ref.is_valid().to_numpy(zero_copy_only=False)
        if in_store.any():
            clash = pc.or_(pc.not_equal(table.column("ref"), old_ref),
                           pc.not_equal(table.column("alt"), table.column("old_alt")))
            if pc.any(clash).as_py():
                row = table.filter(clash).slice(0, 1).to_pylist()[0]
                raise StoreError(f"dataset {label}: variant key collision at {row['chrom']}:{row['pos']} with a "
                                 "stored site")
            table = _filter(table, ~in_store)
        if not len(table):
            continue
        for code, part in _by_chromosome(table.select(schema.names)):
            if code != code_now:
                new_sites += writer.close() if writer is not None else 0
                writer, code_now = _GroupWriter(staged / "sites" / f"chr{CHROMOSOMES[code - 1]}.parquet", schema), code
            writer.write(part)
    return new_sites + (writer.close() if writer is not None else 0)


def _sorted(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The result of a query as a stream of Arrow record batches (DuckDB 2 renamed fetch_record_batch)."""
    relation = con.sql(sql)
    if hasattr(relation, "to_arrow_reader"):
        return relation.to_arrow_reader(STREAM_ROWS)
    return relation.fetch_arrow_reader(STREAM_ROWS)


def _sql_text(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def _sql_list(paths: Sequence[str]) -> str:
    """A DuckDB list literal of file paths."""
    return "[" + ", ".join(_sql_text(p) for p in paths) + "]"
