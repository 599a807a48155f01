"""Ceiling analysis of the rare-disease ranking on the tuning dump: what limits any phenotype-driven ranking.

    .venv/bin/python bench/rare/tune_halves.py --work /tmp/gmc_tune     # the dump, once
    .venv/bin/python bench/rare/ceiling.py --work /tmp/gmc_tune

Counts, over all shared cases, those (a) whose causal gene has no HPO gene annotation (no phenotype score at
all), (b) whose causal gene is not a candidate (no variant of it that the ranking weighs), (c) refused as input
(HPO ids in no release); the current top-1/top-10 where there is phenotype evidence; the upper bounds a ranking
by phenotype could reach (every case with an annotated, weighed causal gene ranked first); where the
unannotated cases rank now; and how many candidate genes a case has.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tune_halves import figures, rank_cases  # noqa: E402


def main() -> None:
    """Prints the ceiling figures of the current ranking code on an existing dump."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    with (args.work / "dump.pkl").open("rb") as handle:
        data = pickle.load(handle)
    total = len(data["cases"])
    refused = [c for c in data["cases"] if "error" in c]
    ranks = rank_cases(data)
    cases = list(ranks.values())
    unannotated = [r for r in cases if not r.annotated]
    not_candidate = [r for r in cases if not r.candidate]
    evidence = [r for r in cases if r.annotated and r.candidate]
    print(f"cases {total}; (c) refused as input: {len(refused)} ({', '.join(c['path'].split('/')[-1] for c in refused)})")
    print(f"(a) causal gene without HPO gene annotation: {len(unannotated)}")
    print(f"(b) causal gene not a candidate (no weighed variant): {len(not_candidate)}"
          f" (of them unannotated too: {sum(1 for r in not_candidate if not r.annotated)})")
    print(f"with phenotype evidence (annotated and a candidate): {len(evidence)}")
    print(f"  current, over those: {figures([r.rank for r in evidence])}")
    for source in (True, False):
        group = [r for r in evidence if r.source == source]
        print(f"  publication is {'' if source else 'not '}an annotation source: {figures([r.rank for r in group])}")
    print(f"all {total}, current: {figures([r.rank for r in cases], total)}")
    print(f"upper bound top-1 = top-10 if every case with evidence ranked first: {100 * len(evidence) / total:.1f} %")
    reach = [r for r in cases if r.candidate and (r.annotated or (r.rank or 99) <= 10)]
    print(f"  top-10 bound counting unannotated cases already in the top 10 on variant evidence alone: "
          f"{100 * len(reach) / total:.1f} %")
    ranked = sorted(r.rank for r in unannotated if r.rank)
    if ranked:
        print(f"unannotated causal genes now: ranked {len(ranked)} of {len(unannotated)}; rank median "
              f"{statistics.median(ranked):.0f}, quartiles {statistics.quantiles(ranked, n=4)}, "
              f"top-1 {sum(1 for r in ranked if r == 1)}, top-10 {sum(1 for r in ranked if r <= 10)}, "
              f"top-100 {sum(1 for r in ranked if r <= 100)}")
    genes = [r.n_genes for r in cases]
    pheno = [r.n_phenotype_genes for r in cases]
    print(f"candidate genes per case: median {statistics.median(genes):.0f} (min {min(genes)}, max {max(genes)}); "
          f"with a phenotype score > 0: median {statistics.median(pheno):.0f}")
    ties = [r for r in unannotated if r.rank]
    print(f"  unannotated causal genes rank behind a median of "
          f"{statistics.median(r.n_phenotype_genes for r in ties) if ties else 0:.0f} genes with phenotype evidence")


if __name__ == "__main__":
    main()
