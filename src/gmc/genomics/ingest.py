"""Parse and build for a case's VCF: read every record first, then QC and annotate, ready for the store."""

from __future__ import annotations

import gc
import hashlib
import mmap
import multiprocessing
import os
import pickle
import shutil
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmc.genomics.qc import QcThresholds, sample_qc, trio_qc
from gmc.genomics.store.layout import CHROMOSOMES
from gmc.genomics.store.writer import NewSiteFilter, filter_new_sites, place_columns
from gmc.genomics.vcf import (
    SV_COLUMNS,
    TextSpec,
    VcfFormatError,
    VcfReader,
    VcfRecordError,
    open_vcf,
    string_objects,
    text_arrow_batch,
    text_block,
)

#: Annotation columns kept in the store's sites table (the rest of the annotation table is recomputable).
STORED_ANNOTATION = (
    "gene", "hgnc_id", "transcript", "consequence", "impact", "hgvs_c", "hgvs_p", "clinvar",
    "clinvar_significance", "clinvar_stars", "pli", "loeuf", "gnomad_af", "hgvs_note",
)

#: Alleles annotated at a time (see annotator): whole-genome arrays cost page faults, slices do not.
ANNOTATION_SLICE = 500_000

#: Processes annotating a file's slices while it is read (see NewSiteAnnotation); 0 annotates in-process.
ANNOTATION_WORKERS = min(2, os.cpu_count() or 1) if "fork" in multiprocessing.get_all_start_methods() else 0

#: Files at least this large (bytes on disk) have their text blocks parsed by the workers too.
PARALLEL_READ_BYTES = 16 << 20

#: Text blocks handed to the workers ahead of the one being taken back (bounds the memory in flight).
READ_AHEAD = 4

#: Bytes of record text per block the workers parse (each block is whole lines, so up to this much).
TEXT_BLOCK_BYTES = 4 << 20

#: What a worker adds to a batch: its (keys, new) marks and the annotation of its new sites (None: none done).
_Marks = tuple[np.ndarray, np.ndarray, pa.Table | None]

#: One read batch: sites, calls, gt, ploidy, gq, the line of its last record, and the worker's marks or None.
_Batch = tuple[pa.Table, pa.Table, np.ndarray, np.ndarray, np.ndarray, int, _Marks | None]

#: Called as progress(stage, done, total) while a file is read and built.
Progress = Callable[[str, int, int | None], None]


class IngestInputError(ValueError):
    """A VCF does not fit its manifest entry (missing or unmapped sample, wrong build); names file and field."""


@dataclass
class ParsedVcf:
    """Every allele row of one VCF for the mapped samples, in memory and not yet stored."""

    path: Path
    sha256: str
    size: int
    build: str
    #: Mapped VCF sample names, in VCF column order.
    samples: list[str]
    #: Sites table (chrom, pos, ref, alt, qual, filter, line) of every allele row.
    sites: pa.Table
    #: Long calls table (row, sample index into samples, gt, ploidy, gq, dp, ad_ref, ad_alt).
    calls: pa.Table
    #: Dense per-row genotype matrix (rows x samples) for QC.
    gt: np.ndarray
    ploidy: np.ndarray
    gq: np.ndarray
    records: int = 0
    qc: dict[str, dict[str, Any]] = field(default_factory=dict)
    trios: list[dict[str, Any]] = field(default_factory=list)
    #: Variant key of every row (-1 off the store's contigs) once the new-site filter has computed them.
    keys: np.ndarray | None = None


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def store_sample_name(sha256: str, vcf_sample: str) -> str:
    """The pseudonymous name of a VCF column in the variant store: file hash and column, no identifiers."""
    return f"{sha256[:16]}:{vcf_sample}"


def store_dataset_key(sha256: str, samples: Sequence[str]) -> str:
    """The store dataset id of a file's mapped samples (the same file and samples always get the same id)."""
    return hashlib.sha256(f"{sha256}\t{','.join(samples)}".encode()).hexdigest()[:20]


def check_header(
    path: Path, *, mapped: Sequence[str], skipped: Sequence[str], build: str | None, field_prefix: str
) -> tuple[list[str], str]:
    """Checks a VCF header against its manifest entry; returns the mapped samples in VCF order and the build."""
    with open_vcf(path, samples=[], build=build) as reader:
        detected = reader.build
    with open_vcf(path, build=detected) as reader:
        columns = list(reader.samples)
    missing = [s for s in mapped if s not in columns]
    if missing:
        raise IngestInputError(
            f"{path.name}: {field_prefix}.samples: sample(s) {', '.join(missing)} are not in the VCF header "
            f"(its samples are {', '.join(columns) or 'none'})"
        )
    unmapped = [s for s in columns if s not in mapped and s not in skipped]
    if unmapped:
        raise IngestInputError(
            f"{path.name}: VCF sample(s) {', '.join(unmapped)} are missing from the manifest ({field_prefix}): "
            "map each to a participant or list it under skip_samples"
        )
    return [s for s in columns if s in mapped], detected


def read_vcf(
    path: Path,
    samples: Sequence[str],
    build: str,
    *,
    progress: Progress | None = None,
    batch_size: int = 100_000,
    digest: tuple[str, int] | None = None,
    annotation: NewSiteAnnotation | None = None,
) -> ParsedVcf:
    """Reads every record of a VCF for the given samples; any bad line raises before anything is stored.

    digest is the file's (sha256, size) when the caller has already hashed it (saves reading the file twice).
    annotation, when given, is handed each batch of sites as it is read (its workers annotate meanwhile).
    """
    _without_huge_pages()
    try:
        return _read_vcf(path, samples, build, progress, batch_size, digest, annotation)
    except BaseException:
        if annotation is not None:
            annotation.close()
        raise


def _without_huge_pages() -> None:
    """Stops numpy asking for transparent huge pages for its large arrays (this process and its forks).

    An ingest allocates and frees many short-lived arrays of tens of MB: each fresh 2 MB page is zeroed in the
    page fault. Measured on the 5 M genome (`gmc genomes ingest`, three paired runs without and with this):
    system CPU 2.89-3.19 s -> 2.21-2.41 s, user unchanged. Under THP `always` the kernel still chooses.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # numpy 2
    except ImportError:  # numpy 1.26
        from numpy.core.multiarray import _set_madvise_hugepage
    _set_madvise_hugepage(False)


def _read_vcf(
    path: Path,
    samples: Sequence[str],
    build: str,
    progress: Progress | None,
    batch_size: int,
    digest: tuple[str, int] | None,
    annotation: NewSiteAnnotation | None,
) -> ParsedVcf:
    """read_vcf without the clean-up of the annotation workers on failure."""
    sha, size = digest if digest is not None else file_digest(path)
    site_parts: list[pa.Table] = []
    call_parts: list[pa.Table] = []
    gts: list[np.ndarray] = []
    ploidies: list[np.ndarray] = []
    gqs: list[np.ndarray] = []
    offset = 0
    with open_vcf(path, samples=list(samples), build=build) as reader:
        order = list(reader.samples)
        pool = annotation.pool_for(size) if annotation is not None else None
        for sites, calls, gt, ploidy, gq, last_line, marks in _arrow_batches(reader, batch_size, pool, annotation):
            rows = pc.add(pc.cast(calls.column("row"), pa.int64()), offset)
            calls = calls.set_column(calls.schema.get_field_index("row"), "row", rows)
            # Integer sample indexes: the store then never sees the VCF's own names.
            local = pc.index_in(calls.column("sample"), value_set=pa.array(order, pa.string()))
            calls = calls.set_column(calls.schema.get_field_index("sample"), "sample", pc.cast(local, pa.int32()))
            if annotation is not None:
                annotation.add(sites, offset, marks=marks)
            site_parts.append(sites)
            call_parts.append(calls)
            gts.append(gt)
            ploidies.append(ploidy)
            gqs.append(gq)
            offset += len(sites)
            if progress is not None:
                progress("read", last_line, None)
    if not site_parts:
        raise VcfFormatError(path, None, "no variant records")
    return ParsedVcf(
        path=path, sha256=sha, size=size, build=build, samples=order,
        sites=pa.concat_tables(site_parts, promote_options="default"),
        calls=pa.concat_tables(call_parts, promote_options="default"),
        gt=np.concatenate(gts), ploidy=np.concatenate(ploidies), gq=np.concatenate(gqs), records=offset,
    )


def _arrow_batches(
    reader: VcfReader, size: int, pool: ProcessPoolExecutor | None, annotation: NewSiteAnnotation | None = None
) -> Iterator[_Batch]:
    """The reader's batches as Arrow tables in file order; with a pool its workers parse the text blocks.

    This process only inflates the text, into the slots of a shared memory ring the workers were forked
    with; a worker parses its block there and spools its result to a file (tmpfs) that this process maps.
    The pool's pipes carry only slot offsets and file names: a pipe moves a 5 MB result in 64 KB pieces,
    each waiting for the GIL the main thread holds. As VcfReader.batches: on any problem of the text path,
    htslib re-reads from the first record not yet yielded and names the line.
    """
    ring = annotation.ring if annotation is not None else None
    if pool is None or annotation is None or annotation.spool is None or ring is None or not reader.text_path:
        for batch in reader.batches(size):
            yield _arrow_batch(batch)
        return
    skip = 0
    first_line = reader.records_start_line
    pending: deque[Future] = deque()
    spec, spool = reader.text_spec, annotation.spool
    # one slot per block in flight: the slot of the block READ_AHEAD + 1 back has been taken back
    chunks = reader.text_chunks(ring, len(ring) // (READ_AHEAD + 1))
    try:
        for i, (start, length) in enumerate(chunks):
            pending.append(pool.submit(_parse_in_worker, spec, start, length, spool / f"{i}.result"))
            while len(pending) > READ_AHEAD:
                out, records = _taken_back(pending.popleft(), first_line)
                skip += records
                first_line += records
                annotation.parsed_blocks += 1
                yield out
        while pending:
            out, records = _taken_back(pending.popleft(), first_line)
            skip += records
            first_line += records
            annotation.parsed_blocks += 1
            yield out
        return
    except VcfRecordError:
        for left in pending:
            left.cancel()
        raise
    except Exception:  # noqa: BLE001 - the fallback below reports the precise error
        for left in pending:
            left.cancel()
    finally:
        chunks.close()
    for batch in reader.fallback_batches(size, skip):
        yield _arrow_batch(batch)


def _taken_back(done: Future, first_line: int) -> tuple[_Batch, int]:
    """A worker's parsed block with its lines numbered from first_line, and its count of records."""
    path, records = done.result()
    sites, calls, gt, ploidy, gq, last_line, marks = _spool_read(path)
    line = sites.schema.get_field_index("line")
    sites = sites.set_column(line, "line", pc.add(sites.column(line), first_line))
    return (sites, calls, gt, ploidy, gq, last_line + first_line, marks), records


def run_qc(
    parsed: ParsedVcf,
    *,
    recorded_sex: Mapping[str, str],
    trios: Sequence[tuple[str, str, str]],
    thresholds: QcThresholds | None = None,
) -> None:
    """Fills parsed.qc (per sample) and parsed.trios from the genotypes read."""
    # Arrow columns as read, chunk by chunk: QC counts by the strings' bytes and set lookups, never 5 M Python
    # strings or a copy of the columns
    chrom, ref, alt = (parsed.sites.column(name) for name in ("chrom", "ref", "alt"))
    pos = parsed.sites.column("pos").to_numpy(zero_copy_only=False)
    for j, sample in enumerate(parsed.samples):
        result = sample_qc(sample, chrom=chrom, pos=pos, ref=ref, alt=alt, gt=parsed.gt[:, j],
                           ploidy=parsed.ploidy[:, j], build=parsed.build, recorded_sex=recorded_sex.get(sample),
                           thresholds=thresholds)
        parsed.qc[sample] = result.to_dict()
    column = {s: j for j, s in enumerate(parsed.samples)}
    for child, father, mother in trios:
        members = (child, father, mother)
        if not all(m in column for m in members):
            continue  # members in different files: no joint calls to compare
        result = trio_qc(child=child, father=father, mother=mother, chrom=chrom,
                         gt={s: parsed.gt[:, column[s]] for s in members},
                         gq={s: parsed.gq[:, column[s]] for s in members}, thresholds=thresholds)
        parsed.trios.append(result.to_dict())


def variant_counts(parsed: ParsedVcf) -> dict[str, int]:
    """Non-reference calls of each sample on the chromosomes the store keeps."""
    primary = pc.is_in(parsed.sites.column("chrom"), value_set=pa.array(CHROMOSOMES, pa.string()))
    primary = pc.fill_null(primary, False).to_numpy(zero_copy_only=False)
    return {s: int(np.sum((parsed.gt[:, j] > 0) & primary)) for j, s in enumerate(parsed.samples)}


def annotate_new_sites(
    store_root: Path, parsed: ParsedVcf, *, annotate: Callable[[pa.Table], pa.Table] | None = None
) -> pa.Table:
    """The sites table with annotation columns filled for sites new to the store (known ones stay null)."""
    sites = parsed.sites
    # The row number rides along through the store's filter, so annotated rows map back to the file's
    # rows directly instead of hashing every allele's variant key twice more to join them.
    query = sites.select(_annotation_input(sites)).append_column(
        _ROW, pa.array(np.arange(len(sites), dtype=np.int64)))
    new = filter_new_sites(store_root, query)
    if annotate is None:
        return sites
    annotated = annotate(new.drop_columns([_ROW])) if len(new) else None
    if annotated is None:
        return sites
    return _place(sites, annotated, new.column(_ROW).to_numpy(), parsed.path)


def _place(sites: pa.Table, annotated: pa.Table, rows: np.ndarray, path: Path) -> pa.Table:
    """The sites table with the annotation columns of its rows `rows` (the other rows null)."""
    if len(annotated) != len(rows):
        raise ValueError(f"{path.name}: annotation returned {len(annotated)} rows for {len(rows)} sites")
    return place_columns(sites, annotated, rows, [n for n in STORED_ANNOTATION if n in annotated.column_names])


class NewSiteAnnotation:
    """Annotation of a file's sites new to the store, started slice by slice while the file is still read.

    Each allele's annotation depends on that allele alone, so each ANNOTATION_SLICE of new sites goes to one
    of ANNOTATION_WORKERS forked processes (which share the reference data already loaded) as soon as it is
    read: reading, QC and annotation then use both cores. A file of one slice or less is annotated in this
    process. result() gives what annotate_new_sites gives.
    """

    def __init__(self, store_root: Path, annotate: Callable[[pa.Table], pa.Table] | None, *,
                 workers: int | None = None) -> None:
        self.filter = NewSiteFilter(store_root)
        self.annotate = annotate
        self.workers = ANNOTATION_WORKERS if workers is None else workers
        self._keys: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._queue: list[pa.Table] = []
        self._queued = 0
        self._parts: list[Future | pa.Table | None] = []
        self._pool: ProcessPoolExecutor | None = None
        self._frozen = False
        #: Shared memory the workers are forked with: the text blocks they parse (see _arrow_batches).
        self.ring: mmap.mmap | None = None
        #: Text blocks the workers have parsed and this process has taken back.
        self.parsed_blocks = 0
        #: Directory (tmpfs when there is one) for the blocks and results the workers exchange.
        self.spool: Path | None = None

    def pool_for(self, size: int) -> ProcessPoolExecutor | None:
        """The worker pool for a file of `size` bytes, started now when the file is large enough (else None)."""
        if self.workers < 1 or size < PARALLEL_READ_BYTES:
            return None
        return self._started(size)

    def _started(self, size: int = 0) -> ProcessPoolExecutor:
        if self._pool is None:
            self.ring = mmap.mmap(-1, (READ_AHEAD + 1) * TEXT_BLOCK_BYTES)  # shared, anonymous
            # forked, so the workers start with the loaded reference data instead of loading it again
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_start_worker,
                                             initargs=(self.annotate, self.filter, self.ring))
            # The first submit forks every worker. Frozen objects are left alone by the workers' garbage
            # collector, which would otherwise write to (and so copy) every page of the inherited heap.
            # The parent keeps them frozen until close(): its full collections then skip the reference data.
            gc.freeze()
            self._frozen = True
            self._pool.submit(int).result()
            self.spool = Path(tempfile.mkdtemp(prefix="gmc-ingest-", dir=spool_parent(size)))
        return self._pool

    def add(self, sites: pa.Table, offset: int, *, marks: _Marks | None = None) -> None:
        """Takes the next batch of the file's sites table, whose first row is row `offset` of the file.

        marks are the batch's (keys, new, annotation of the new sites) when a worker has done that already.
        """
        keys, new, annotated = marks if marks is not None else (*self.filter.mark(sites), None)
        self._keys.append(keys)
        rows = np.flatnonzero(new)
        if self.annotate is None or not len(rows):
            return
        if annotated is not None:
            if self._queued:  # keeps the parts in row order (queued rows come first)
                self._submit(self._queued, final=False)
            self._rows.append(rows + offset)
            self._parts.append(annotated)
            return
        self._rows.append(rows + offset)
        query = sites.select(_annotation_input(sites))
        self._queue.append(query if len(rows) == len(sites) else query.take(pa.array(rows)))
        self._queued += len(rows)
        while self._queued >= ANNOTATION_SLICE:
            self._submit(ANNOTATION_SLICE, final=False)

    def _submit(self, n: int, *, final: bool) -> None:
        """Sends the first n queued sites off to be annotated (in this process when they are all there are)."""
        queued = pa.concat_tables(self._queue, promote_options="default") if len(self._queue) != 1 else self._queue[0]
        part = queued.slice(0, n).combine_chunks()  # contiguous: a pickled slice would carry whole buffers
        rest = queued.slice(n)
        self._queue, self._queued = ([rest] if len(rest) else []), len(rest)
        if (final and self._pool is None) or self.workers < 1:
            self._parts.append(self.annotate(part))
            return
        self._parts.append(self._started().submit(_annotate_in_worker, part))

    def result(self, parsed: ParsedVcf) -> pa.Table:
        """The sites table with the annotation columns of the new sites; sets parsed.keys. Waits for the workers."""
        try:
            if self._queued:
                self._submit(self._queued, final=True)
            parts = [p.result() if isinstance(p, Future) else p for p in self._parts]
        finally:
            self.close()
        parsed.keys = np.concatenate(self._keys) if self._keys else np.zeros(0, dtype=np.int64)
        if not parts or any(p is None for p in parts):
            return parsed.sites
        annotated = pa.concat_tables(parts) if len(parts) != 1 else parts[0]
        return _place(parsed.sites, annotated, np.concatenate(self._rows), parsed.path)

    def close(self) -> None:
        """Stops the workers (pending slices are dropped); safe to call twice."""
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.ring is not None:
            try:
                self.ring.close()
            except BufferError:  # a view of it still alive: unmapped when that is collected
                pass
            self.ring = None
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)
            self.spool = None


#: Spool bytes per byte of a gzipped VCF: the results stay mapped until the store is written, about 14x the
#: 5 M genome's file, with some room on top.
SPOOL_PER_INPUT_BYTE = 20


def spool_parent(size: int, shm: Path = Path("/dev/shm")) -> Path | None:
    """Where a file of `size` bytes spools: tmpfs when it has room (a container's is often 64 MB), else the temp dir."""
    try:
        if shm.is_dir() and shutil.disk_usage(shm).free >= SPOOL_PER_INPUT_BYTE * size:
            return shm
    except OSError:
        pass
    return None


def _arrow_batch(batch: Any) -> _Batch:
    """A VariantBatch as read_vcf keeps it (no worker marks)."""
    sites, calls = batch.to_arrow()
    return sites, calls, batch.gt, batch.ploidy, batch.gq, int(batch.line[-1]) if len(batch) else 0, None


#: What a forked worker inherits from the ingest that started it: the annotate function and new-site filter.
_WORKER: dict[str, Any] = {}


def _start_worker(annotate: Callable[[pa.Table], pa.Table] | None, site_filter: NewSiteFilter,
                  ring: mmap.mmap) -> None:
    """Worker start: keeps what the parent passed (fork hands it over without pickling)."""
    _WORKER["annotate"] = annotate
    _WORKER["filter"] = site_filter
    _WORKER["ring"] = ring


def _annotate_in_worker(sites: pa.Table) -> pa.Table:
    """Annotates one slice in a worker."""
    return _WORKER["annotate"](sites)


def _spool_write(path: Path, value: Any) -> None:
    """Writes a value for the other side of the pool: a pickle whose large buffers follow it, 64-byte aligned.

    Out-of-band buffers (pickle protocol 5) let _spool_read map them instead of copying them into fresh memory.
    """
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    with open(path, "wb") as fh:
        fh.write(struct.pack(f"<QQ{len(raws)}Q", len(head), len(raws), *(r.nbytes for r in raws)))
        fh.write(head)
        at = 16 + 8 * len(raws) + len(head)
        for raw in raws:
            fh.write(b"\0" * (-at % _SPOOL_ALIGN))
            at += -at % _SPOOL_ALIGN
            fh.write(raw)
            at += raw.nbytes


#: Alignment of each spooled buffer (Arrow's own, and enough for any numpy dtype).
_SPOOL_ALIGN = 64


def _spool_read(path: Path) -> Any:
    """Reads and removes a value _spool_write wrote; its buffers stay in the (tmpfs) file's pages, read-only.

    The mapping outlives the unlinked file for as long as an array uses it; nothing downstream writes into
    these arrays (they are concatenated, which copies, or read by Arrow).
    """
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                           prot=mmap.PROT_READ)
    path.unlink()
    view = memoryview(mapped)
    head_length, count = struct.unpack_from("<QQ", view)
    sizes = struct.unpack_from(f"<{count}Q", view, 16)
    at = 16 + 8 * count
    head = view[at:at + head_length]
    at += head_length
    buffers = []
    for size in sizes:
        at += -at % _SPOOL_ALIGN
        buffers.append(view[at:at + size])
        at += size
    return pickle.loads(head, buffers=buffers)


def _parse_in_worker(spec: TextSpec, start: int, length: int, result: Path) -> tuple[Path, int]:
    """Parses one text block of the shared ring in a worker, marks its new sites (hashing their keys) and annotates them.

    The block's sites then cross to the parent once, with their annotation, instead of going back to a
    worker to be annotated. Lines are numbered from 0 (the parent knows where the block starts only when
    the blocks before it are back). Returns the spooled result's path and the block's count of records.
    """
    with memoryview(_WORKER["ring"]) as ring:
        part = text_block(spec, ring[start:start + length])
    batch = text_arrow_batch(spec, part, 0)
    sites = batch[0]
    keys, new = _WORKER["filter"].mark(sites)
    annotate = _WORKER["annotate"]
    annotated = None
    rows = np.flatnonzero(new)
    if annotate is not None and len(rows):
        query = sites.select(_annotation_input(sites))
        annotated = annotate(query if len(rows) == len(sites) else query.take(pa.array(rows)))
    _spool_write(result, (*batch[:6], (keys, new, annotated)))
    return result, part.num_rows


#: Flat transcript arrays already built, by the identity of the (cached) transcript set and gene knowledge.
_TRANSCRIPT_ARRAYS: dict[tuple[int, int], tuple[Any, Any, Any]] = {}

#: Column carrying each site's row number in the file through the store's new-site filter.
_ROW = "__row"


def annotator(build: str, *, fasta: Path | None | bool = None) -> Callable[[pa.Table], pa.Table]:
    """An annotate(sites) function over the reference data of a build (loaded once per process).

    `fasta`: the build's genome FASTA by default (see load_sources); False for none.
    """
    from gmc.genomics.annotation.annotate import annotate_alleles, load_sources

    sources = load_sources(build, fasta=fasta)
    # The transcript models and gene knowledge are cached per process, but their flat arrays hang off each
    # new sources object: reuse them so every ingested file does not rebuild them.
    held = _TRANSCRIPT_ARRAYS.get((id(sources.transcripts), id(sources.genes)))
    if held is not None and held[0] is sources.transcripts and held[1] is sources.genes:
        sources.arrays = held[2]
    else:
        _TRANSCRIPT_ARRAYS[(id(sources.transcripts), id(sources.genes))] = (
            sources.transcripts, sources.genes, sources.arrays)

    def run(sites: pa.Table) -> pa.Table:
        # Each allele's annotation depends on that allele alone, so a genome is annotated in slices: the
        # vectorised path's temporaries then stay under glibc's mmap threshold and are reused, instead of
        # a fresh 40 MB mapping (and its page faults) for each of them on 5 M rows.
        parts = []
        for start in range(0, len(sites), ANNOTATION_SLICE):
            part = sites.slice(start, ANNOTATION_SLICE)
            parts.append(annotate_alleles(
                _objects(part.column("chrom")),
                part.column("pos").to_numpy(zero_copy_only=False).astype(np.int64),
                _objects(part.column("ref")),
                _objects(part.column("alt")),
                sources,
                columns=STORED_ANNOTATION,
                # structural alleles are annotated by the interval they span
                sv={name: part.column(name) for name in SV_COLUMNS if name in part.column_names} or None,
            ))
        return pa.concat_tables(parts) if len(parts) != 1 else parts[0]

    return run


def _annotation_input(sites: pa.Table) -> list[str]:
    """The sites columns annotation reads: the allele, and a structural allele's END, SVLEN, SVTYPE and CN."""
    return ["chrom", "pos", "ref", "alt", *(c for c in SV_COLUMNS if c in sites.column_names)]


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """A string column as a numpy object array of Python str, one str per distinct value."""
    return string_objects(column)
