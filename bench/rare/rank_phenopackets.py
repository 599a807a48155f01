"""Rare-disease benchmark: spike phenopacket causal variants into the background exome and rank genes blind.

Usage (from the repository root):
    .venv/bin/python bench/rare/rank_phenopackets.py --cases 100 --seed 1 --out var/bench/rare

Prepares every sampled case (spiked VCF + phenopacket with only subject and phenotypic features, truth kept
apart), ranks each with gmc.interpretation.rare.ranking.rank_case, and reports how often the causal gene is
ranked 1st, in the top 3, 5 and 10, with time per case and peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from pathlib import Path

from gmc.genomics.annotation.annotate import load_sources
from gmc.interpretation.rare.inheritance import Sex
from gmc.interpretation.rare.ranking import rank_case
from gmc.interpretation.rare.spike import load_background, prepare_case
from gmc.phenotype.phenopackets import read_phenopacket
from gmc.phenotype.similarity import get_similarity_index

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def main() -> None:
    """Runs the benchmark and prints a summary table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100, help="number of phenopackets sampled (0 = all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/bench/rare"))
    parser.add_argument("--phenopackets", type=Path, default=SHARED / "benchmarks/rare/phenopackets")
    parser.add_argument(
        "--background",
        type=Path,
        default=SHARED / "benchmarks/rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz",
    )
    args = parser.parse_args()

    paths = sorted(args.phenopackets.glob("*.json"))
    if args.cases:
        paths = sorted(random.Random(args.seed).sample(paths, min(args.cases, len(paths))))
    start = time.perf_counter()
    background = load_background(args.background)
    sources = load_sources("GRCh38")
    get_similarity_index()
    setup = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)

    ranks: list[int | None] = []
    seconds: list[float] = []
    skipped: list[tuple[str, str]] = []
    with open(args.out / "results.tsv", "w", encoding="utf-8") as results:
        results.write("case_id\tcausal_genes\tbest_rank\tmode\ttop5\tunknown_terms\tseconds\n")
        for path in paths:
            t0 = time.perf_counter()
            try:
                case = prepare_case(path, background, args.out / "cases", seed=args.seed)
            except ValueError as exc:
                skipped.append((path.name, str(exc)))
                continue
            blinded = read_phenopacket(case.phenopacket_path)
            observed = [f.type.id for f in blinded.phenotypic_features if not f.excluded]
            excluded = [f.type.id for f in blinded.phenotypic_features if f.excluded]
            sex = {"MALE": Sex.MALE, "FEMALE": Sex.FEMALE}.get(
                str(getattr(blinded.subject, "sex", "") or "").upper(), Sex.UNKNOWN
            )
            ranking = rank_case(
                case.vcf_path, observed, excluded, proband_sex=sex, sources=sources, limit=None
            )
            elapsed = time.perf_counter() - t0
            genes = {v.gene_symbol for v in case.causal}
            best = next((g.rank for g in ranking.genes if g.gene_symbol in genes), None)
            mode = next((g.mode.value for g in ranking.genes if g.gene_symbol in genes), "")
            ranks.append(best)
            seconds.append(elapsed)
            top5 = ",".join(g.gene_symbol for g in ranking.genes[:5])
            results.write(
                f"{case.case_id}\t{','.join(sorted(genes))}\t{best or ''}\t{mode}\t{top5}\t"
                f"{','.join(ranking.unknown_terms)}\t{elapsed:.2f}\n"
            )
            results.flush()
            (args.out / "cases" / f"{case.case_id}.vcf.gz").unlink()

    n = len(ranks)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cases ranked: {n}; skipped: {len(skipped)}")
    for path_name, reason in skipped:
        print(f"  skipped {path_name}: {reason}")
    for k in (1, 3, 5, 10):
        hits = sum(1 for r in ranks if r is not None and r <= k)
        print(f"top-{k}: {hits}/{n} = {100 * hits / max(n, 1):.1f} %")
    print(f"causal gene not ranked at all: {sum(1 for r in ranks if r is None)}")
    print(f"set-up (background, annotation sources, HPO index): {setup:.1f} s")
    if seconds:
        print(f"seconds per case: median {statistics.median(seconds):.2f}, max {max(seconds):.2f}")
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
