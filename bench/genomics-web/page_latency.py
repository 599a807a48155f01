"""Latency of a case's variant-table page (count + one page from DuckDB, audit row included) on the demo exome.

Usage: GMC_DATA_DIR=/tmp/gmc-bench .venv/bin/python bench/genomics-web/page_latency.py
Builds a fresh SQLite demo centre (its genome demo ingests the real Pfeiffer exome, 36,793 alleles, GRCh38),
then times seven runs of each query through gmc.genomics.service.case_variants.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from gmc.audit.service import Actor
from gmc.bootstrap import load_models
from gmc.db.core import Database
from gmc.db.migrate import upgrade
from gmc.demo.service import load_demo
from gmc.genomics import service
from gmc.genomics.demo import _principal
from gmc.genomics.models import GenomeDataset
from gmc.registry.models import Case

QUERIES = [
    ("all, by position, page 1", service.VariantQuery(), "position", 0),
    ("all, by position, page 300", service.VariantQuery(), "position", 300 * 50),
    ("HIGH impact, by gnomAD AF", service.VariantQuery(impacts=("HIGH",)), "gnomad_af", 0),
    ("region chr1:1-50,000,000, het", service.VariantQuery(region="chr1:1-50000000", genotype="het"), "impact", 0),
    ("5-gene panel", service.VariantQuery(genes=("BRCA1", "BRCA2", "TP53", "CFTR", "FBN1")), "position", 0),
]


def main() -> None:
    """Prints a Markdown table of median and worst latency per query."""
    workdir = Path(tempfile.mkdtemp(prefix="gmc-page-bench-"))
    os.environ.setdefault("GMC_DATA_DIR", str(workdir / "data"))
    url = f"sqlite:///{workdir / 'demo.db'}"
    upgrade(url)
    load_models()
    db = Database(url)
    with db.transaction() as session:
        load_demo(session)
    with db.session() as session:
        dataset = session.execute(select(GenomeDataset).where(GenomeDataset.build == "GRCh38")).scalar_one()
        case_id = session.get(Case, dataset.case_id).case_id
        principal = _principal(Actor.system("bench"))
        print("| query | matching | median | worst of 7 |\n|---|---|---|---|")
        for name, query, sort, offset in QUERIES:
            times = []
            for _ in range(7):
                start = time.perf_counter()
                page = service.case_variants(session, principal=principal, case_id=case_id, query=query, sort=sort,
                                             limit=50, offset=offset)
                times.append(time.perf_counter() - start)
            print(f"| {name} | {page['total']:,} | {statistics.median(times) * 1000:.0f} ms | "
                  f"{max(times) * 1000:.0f} ms |")
        session.rollback()


if __name__ == "__main__":
    main()
