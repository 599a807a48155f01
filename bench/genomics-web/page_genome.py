"""Latency of a case's variant-table page on a whole generated genome (5 M calls), annotation filters included.

Usage, after `bench/genomics-web/genome_cli.py` and the `gmc genomes ingest` it prints:
    .venv/bin/python bench/genomics-web/page_genome.py [--workdir /tmp/gmc_genome_cli]
Reads the work directory's SQLite database and variant store (GMC_DATA_DIR=WORKDIR/data), then times seven runs of
each query through gmc.genomics.service.case_variants (count + one 50-row page from DuckDB, audit row included),
as the genome page's table asks them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

QUERIES = [
    ("all, by position, page 1", {}, "position", 0),
    ("all, by position, page 2,000", {}, "position", 2_000 * 50),
    ("het only, by GQ", {"genotype": "het"}, "gq", 0),
    ("region chr17:1-40,000,000, PASS", {"region": "chr17:1-40000000", "pass_only": True}, "position", 0),
    ("HIGH impact, by gnomAD AF", {"impacts": ("HIGH",)}, "gnomad_af", 0),
    ("missense or worse (HIGH + MODERATE), by impact", {"impacts": ("HIGH", "MODERATE")}, "impact", 0),
    ("consequence frameshift_variant", {"consequence": "frameshift_variant"}, "position", 0),
    ("5-gene panel", {"genes": ("BRCA1", "BRCA2", "TP53", "CFTR", "FBN1")}, "position", 0),
    ("all, by gene", {}, "gene", 0),
]


def main() -> None:
    """Prints a Markdown table of median and worst latency per query."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gmc_genome_cli"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ["GMC_DATA_DIR"] = str(args.workdir / "data")
    os.environ["GMC_DATABASE_URL"] = f"sqlite:///{args.workdir / 'demo.db'}"

    from sqlalchemy import select

    from gmc.audit.service import Actor
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.genomics import service
    from gmc.genomics.demo import _principal
    from gmc.genomics.models import GenomeDataset
    from gmc.registry.models import Case

    load_models()
    db = Database(os.environ["GMC_DATABASE_URL"])
    with db.session() as session:
        dataset = session.execute(select(GenomeDataset).order_by(GenomeDataset.id.desc())).scalars().first()
        if dataset is None:
            raise SystemExit(f"no genome dataset in {args.workdir / 'demo.db'}: run the ingest genome_cli.py prints")
        case_id = session.get(Case, dataset.case_id).case_id
        principal = _principal(Actor.system("bench"))
        print(f"dataset {dataset.dataset_id}, {dataset.n_variants:,} calls\n")
        print(f"| query | matching | median | worst of {args.repeat} |\n|---|---|---|---|")
        for name, filters, sort, offset in QUERIES:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                page = service.case_variants(session, principal=principal, case_id=case_id,
                                             query=service.VariantQuery(**filters), sort=sort, limit=50,
                                             offset=offset)
                times.append(time.perf_counter() - start)
            print(f"| {name} | {page['total']:,} | {statistics.median(times) * 1000:.0f} ms | "
                  f"{max(times) * 1000:.0f} ms |", flush=True)
        session.rollback()
    db.dispose()


if __name__ == "__main__":
    main()
