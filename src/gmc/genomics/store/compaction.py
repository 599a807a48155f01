"""Compaction: merge many small datasets into one segment so queries open one file per chromosome.

The lifecycle of a directory: written in staging, renamed into place, listed by a manifest; when a later
compaction replaces it, the manifest lists it as retired, and a writer removes it once it is older
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
