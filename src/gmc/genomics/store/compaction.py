"""Compaction and merging: datasets into a segment, and segments of one size tier into one, so queries open few files.

The lifecycle of a directory: written in staging, renamed into place, listed by a manifest; when a later
compaction or merge replaces it, the manifest lists it as retired, and a writer removes it once it is older
than the retention window (GMC_STORE_RETENTION_SECONDS), so a reader holding the previous manifest can finish.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmc.genomics.store.layout import CHROMOSOMES, SegmentEntry, StoreError, StoreLayout, _fsync_dir
from gmc.genomics.store.writer import (
    _collect_retired,
    _recover,
    _retire,
    _write_genotypes,
    _write_parquet,
    _writer_lock,
    retention_seconds,
)


def pending_datasets(root: Path | str) -> int:
    """How many committed datasets of a store are not yet in a segment (0 for a store not yet created)."""
    layout = StoreLayout(root)
    if not layout.manifest_path.exists():
        return 0
    return sum(1 for d in layout.read_manifest().datasets if not d.segment)


def merge_fanout(value: int | None = None) -> int:
    """The merge fanout: the value given, else GMC_STORE_MERGE_FANOUT."""
    if value is None:
        from gmc.settings import get_settings

        value = get_settings().store_merge_fanout
    if value < 2:
        raise StoreError(f"segment merge fanout is {value}; it must be 2 or more")
    return int(value)


def compact(root: Path | str, *, min_datasets: int = 2, progress: Callable[[int, int], None] | None = None,
            retention: float | None = None, now: float | None = None) -> SegmentEntry | None:
    """Merges every not-yet-compacted dataset into one new segment; None when fewer than min_datasets.

    Same all-or-nothing commit as ingest: the segment is written in staging, renamed, then listed in
    the manifest together with the datasets it now holds; their own directories are retired, not removed.
    Dataset ids stay in the manifest, so re-ingesting a compacted file still stores nothing. retention
    (seconds, default GMC_STORE_RETENTION_SECONDS) and now (epoch seconds, default the clock) decide which
    retired directories this writer removes.
    """
    layout = StoreLayout(root)
    retention = retention_seconds(retention)
    with _writer_lock(layout):
        manifest = layout.read_manifest()
        _recover(layout, manifest)
        stamp = time.time() if now is None else now
        _collect_retired(layout, manifest, retention=retention, now=stamp)
        pending = [d for d in manifest.datasets if not d.segment]
        if len(pending) < max(1, min_datasets):
            return None
        ids = [d.dataset_id for d in pending]
        segment_id = "seg-" + hashlib.sha256("\t".join(ids).encode()).hexdigest()[:16]
        sources = [layout.dataset_dir(i) for i in ids]
        chroms = [c for c in CHROMOSOMES if any(c in d.chroms for d in pending)]
        _write_segment(layout, segment_id, sources, chroms, progress)
        segment = SegmentEntry(segment_id=segment_id, dataset_ids=ids, chroms=chroms)
        for d in pending:
            d.segment = segment_id
        manifest.segments.append(segment)
        _retire(manifest, sources, layout, stamp)
        layout.write_manifest(manifest)
        shutil.rmtree(layout.staging_dir, ignore_errors=True)
        _collect_retired(layout, manifest, retention=retention, now=stamp)
    if progress is not None:
        progress(len(chroms), len(chroms))
    return segment


def segment_bytes(layout: StoreLayout, segment_id: str) -> int:
    """Bytes on disk of one committed segment's files (what a merge reads and writes)."""
    return sum(f.stat().st_size for f in layout.segment_dir(segment_id).rglob("*") if f.is_file())


def plan_merge(sizes: Sequence[int], fanout: int) -> slice | None:
    """The fanout adjacent segments to merge next, or None: the run whose sizes lie within a factor of fanout.

    Size-tiered: segments of one tier (largest at most fanout times the smallest) merge into one of the next
    tier, about fanout times larger, so a store of n datasets holds O(fanout * log n) segments and each call
    is rewritten O(log n) times. Of several such runs the one with the smallest largest segment goes first (the
    cheapest merge). Only adjacent segments merge, so the manifest's order of files, and with it the column
    order of the sites that queries see, does not change.
    """
    best: tuple[int, int] | None = None
    for start in range(len(sizes) - fanout + 1):
        run = sizes[start:start + fanout]
        largest = max(run)
        if largest <= max(min(run), 1) * fanout and (best is None or largest < best[0]):
            best = (largest, start)
    return None if best is None else slice(best[1], best[1] + fanout)


def merge_segments(root: Path | str, *, fanout: int | None = None,
                   progress: Callable[[int, int], None] | None = None, retention: float | None = None,
                   now: float | None = None) -> SegmentEntry | None:
    """Merges one run of same-tier segments (plan_merge) into one new segment; None when no tier is full.

    The same all-or-nothing commit as compaction; the replaced segment directories are retired. Calls keep
    their store-wide sample_idx (each segment's samples.parquet rows are carried over), so every query answers
    alike. Call it again until it returns None to merge every full tier (a merge may fill the next tier).
    """
    layout = StoreLayout(root)
    fanout = merge_fanout(fanout)
    retention = retention_seconds(retention)
    with _writer_lock(layout):
        manifest = layout.read_manifest()
        _recover(layout, manifest)
        stamp = time.time() if now is None else now
        _collect_retired(layout, manifest, retention=retention, now=stamp)
        run = plan_merge([segment_bytes(layout, g.segment_id) for g in manifest.segments], fanout)
        if run is None:
            return None
        merged = manifest.segments[run]
        ids = [i for g in merged for i in g.dataset_ids]
        # "merge" keeps these ids apart from compaction's, which hash dataset ids alone
        text = "\t".join(["merge", *(g.segment_id for g in merged)])
        segment_id = "seg-" + hashlib.sha256(text.encode()).hexdigest()[:16]
        sources = [layout.segment_dir(g.segment_id) for g in merged]
        chroms = [c for c in CHROMOSOMES if any(c in g.chroms for g in merged)]
        _write_segment(layout, segment_id, sources, chroms, progress)
        segment = SegmentEntry(segment_id=segment_id, dataset_ids=ids, chroms=chroms)
        replaced = {g.segment_id for g in merged}
        for d in manifest.datasets:
            if d.segment in replaced:
                d.segment = segment_id
        manifest.segments[run] = [segment]
        _retire(manifest, sources, layout, stamp)
        layout.write_manifest(manifest)
        shutil.rmtree(layout.staging_dir, ignore_errors=True)
        _collect_retired(layout, manifest, retention=retention, now=stamp)
    if progress is not None:
        progress(len(chroms), len(chroms))
    return segment


def _write_segment(layout: StoreLayout, segment_id: str, sources: Sequence[Path], chroms: Sequence[str],
                   progress: Callable[[int, int], None] | None) -> None:
    """Writes the sources' (dataset or segment directories') files as one segment, then renames it into place.

    One chromosome at a time, so memory holds one chromosome of all the sources, not the whole store.
    """
    staged = layout.staging_dir / segment_id
    staged.mkdir(parents=True)
    for done, chrom in enumerate(chroms):
        if progress is not None:
            progress(done, len(chroms))
        for table in ("genotypes", "sites"):
            parts = [pq.read_table(p) for source in sources
                     if (p := source / table / f"chr{chrom}.parquet").exists()]
            if not parts:
                continue
            merged = pa.concat_tables(parts, promote_options="default")
            path = staged / table / f"chr{chrom}.parquet"
            keys = merged.column("key").to_numpy()
            if table == "genotypes":
                # (key, sample_idx): the order gene queries prune on and the per-sample index points into
                order = np.lexsort((merged.column("sample_idx").to_numpy(), keys))
                _write_genotypes(merged.take(pa.array(order)), path)
            else:
                order = np.argsort(keys, kind="stable")
                ordered = keys[order]
                if len(ordered) > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
                    # ingest appends only new sites, so a repeat means the sources overlap: answers would double
                    raise StoreError(f"segment {segment_id}: a site of chromosome {chrom} is in two of its sources")
                _write_parquet(merged.take(pa.array(order)), path)
    samples = pa.concat_tables([pq.read_table(source / "samples.parquet") for source in sources])
    _write_parquet(samples, staged / "samples.parquet")
    target = layout.segment_dir(segment_id)
    if target.exists():
        # only a retired directory can be here (_recover removed any other): never write over what a reader may use
        raise StoreError(f"segment {segment_id} exists already as a retired directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    _fsync_dir(target.parent)
