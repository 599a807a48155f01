"""Variant-table page latency for one sample inside a large generated cohort store (no database involved).

Usage: .venv/bin/python bench/genomics-web/page_cohort.py --store /tmp/gmc_bench/store_10k
(stores made by bench/store/generate_cohort.py). Times gmc.genomics.repository.variant_page, the query behind
the genome page: the total plus one 50-row page.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from gmc.genomics.repository import variant_page
from gmc.genomics.service import VariantQuery
from gmc.genomics.store.layout import StoreLayout

QUERIES = [
    ("whole exome, page 1", VariantQuery(), None, "position", 0),
    ("whole exome, page 200", VariantQuery(), None, "position", 200 * 50),
    ("het only, by GQ", VariantQuery(genotype="het"), None, "gq", 0),
    ("chr17 region, PASS, GQ >= 30", VariantQuery(pass_only=True, min_gq=30), [("17", 1, 83_257_441)], "position", 0),
    # QUAL is not in the per-sample index: this sort still scans the sample's dataset
    ("hom only, by QUAL", VariantQuery(genotype="hom"), None, "qual", 0),
]


def main() -> None:
    """Prints a Markdown table of median and worst latency per query for a sample in the middle of the store."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    manifest = StoreLayout(args.store).read_manifest()
    samples = [s for d in manifest.datasets for s in d.samples]
    sample = samples[len(samples) // 2]
    print(f"store {args.store} ({len(samples):,} samples in {len(manifest.datasets)} datasets); sample {sample}")
    print("| query | matching | median | worst of 7 |\n|---|---|---|---|")
    for name, query, spans, sort, offset in QUERIES:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            page = variant_page(args.store, sample, query=query, spans=spans, sort=sort, limit=50, offset=offset)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {page['total']:,} | {statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
