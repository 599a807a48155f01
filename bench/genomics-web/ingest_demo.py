"""Ingest cost of the two real demo genomes (GIAB trio exome chr1-2 GRCh37, Pfeiffer exome GRCh38).

Usage: .venv/bin/python bench/genomics-web/ingest_demo.py
Builds a fresh SQLite centre with the registry demo, loads the annotation sources once, then times
gmc.genomics.demo.load_demo: header checks, full read with genotypes, QC, annotation of new sites, dataset rows,
audit and the store commit. Prints wall and CPU seconds, allele rows and bytes stored.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from gmc.audit.service import Actor
from gmc.bootstrap import load_models
from gmc.db.core import Database
from gmc.db.migrate import upgrade
from gmc.demo.service import DEMO_LOADERS, DemoSummary
from gmc.genomics import demo as genomics_demo
from gmc.genomics.ingest import annotator
from gmc.registry import demo as registry_demo


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    """Prints one line per measured figure."""
    workdir = Path(tempfile.mkdtemp(prefix="gmc-ingest-bench-"))
    os.environ["GMC_DATA_DIR"] = str(workdir / "data")
    url = f"sqlite:///{workdir / 'demo.db'}"
    upgrade(url)
    load_models()
    db = Database(url)
    actor = Actor.system("bench")
    with db.transaction() as session:
        for loader in [*DEMO_LOADERS, registry_demo.load_demo]:
            loader(session, actor, DemoSummary())
    start = time.perf_counter()
    annotator("GRCh37")
    annotator("GRCh38")
    print(f"annotation sources loaded once: {time.perf_counter() - start:.1f} s wall")
    summary = DemoSummary()
    wall, cpu = time.perf_counter(), time.process_time()
    with db.transaction() as session:
        genomics_demo.load_demo(session, actor, summary)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = 9_940 + 36_793  # allele rows of the two files (trio after splitting, exome)
    store = workdir / "data" / "variant_store"
    print(f"datasets: {summary.created}")
    print(f"ingest of {rows:,} allele rows: {wall:.2f} s wall, {cpu:.2f} s CPU ({rows / cpu:,.0f} rows per CPU-second)")
    for build in ("GRCh37", "GRCh38"):
        print(f"store {build}: {_bytes(store / build):,} bytes")


if __name__ == "__main__":
    main()
