"""Compaction: merge many small datasets into one segment so queries open one file per chromosome."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmc.genomics.store.layout import CHROMOSOMES, SegmentEntry, StoreLayout, _fsync_dir
from gmc.genomics.store.writer import _recover, _write_genotypes, _write_parquet, _writer_lock


def pending_datasets(root: Path | str) -> int:
    """How many committed datasets of a store are not yet in a segment (0 for a store not yet created)."""
    layout = StoreLayout(root)
    if not layout.manifest_path.exists():
        return 0
    return sum(1 for d in layout.read_manifest().datasets if not d.segment)


def compact(root: Path | str, *, min_datasets: int = 2,
            progress: Callable[[int, int], None] | None = None) -> SegmentEntry | None:
    """Merges every not-yet-compacted dataset into one new segment; None when fewer than min_datasets.

    Same all-or-nothing commit as ingest: the segment is written in staging, renamed, then listed in
    the manifest together with the datasets it now holds; their own directories are removed after.
    Dataset ids stay in the manifest, so re-ingesting a compacted file still stores nothing.
    """
    layout = StoreLayout(root)
    with _writer_lock(layout):
        manifest = layout.read_manifest()
        _recover(layout, manifest)
        pending = [d for d in manifest.datasets if not d.segment]
        if len(pending) < max(1, min_datasets):
            return None
        ids = [d.dataset_id for d in pending]
        segment_id = "seg-" + hashlib.sha256("\t".join(ids).encode()).hexdigest()[:16]
        staged = layout.staging_dir / segment_id
        staged.mkdir(parents=True)
        chroms = [c for c in CHROMOSOMES if any(c in d.chroms for d in pending)]
        for done, chrom in enumerate(chroms):
            if progress is not None:
                progress(done, len(chroms))
            for table in ("genotypes", "sites"):
                parts = [pq.read_table(p) for d in pending
                         if (p := layout.dataset_dir(d.dataset_id) / table / f"chr{chrom}.parquet").exists()]
                if not parts:
                    continue
                merged = pa.concat_tables(parts, promote_options="default")
                path = staged / table / f"chr{chrom}.parquet"
                if table == "genotypes":
                    order = np.lexsort((merged.column("sample_idx").to_numpy(), merged.column("key").to_numpy()))
                    _write_genotypes(merged.take(pa.array(order)), path)
                else:
                    order = np.argsort(merged.column("key").to_numpy(), kind="stable")
                    _write_parquet(merged.take(pa.array(order)), path)
        samples = pa.concat_tables([pq.read_table(layout.samples_file(i)) for i in ids])
        _write_parquet(samples, staged / "samples.parquet")
        target = layout.segment_dir(segment_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        _fsync_dir(target.parent)
        segment = SegmentEntry(segment_id=segment_id, dataset_ids=ids, chroms=chroms)
        for d in pending:
            d.segment = segment_id
        manifest.segments.append(segment)
        layout.write_manifest(manifest)
        # Readers holding the previous manifest may still be reading these; a query is short.
        for i in ids:
            shutil.rmtree(layout.dataset_dir(i), ignore_errors=True)
        shutil.rmtree(layout.staging_dir, ignore_errors=True)
    if progress is not None:
        progress(len(chroms), len(chroms))
    return segment
