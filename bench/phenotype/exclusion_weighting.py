"""Compares ways of counting a patient's excluded terms against diseases, on the 500 benchmark phenopackets.

Run from the repository root:  .venv/bin/python bench/phenotype/exclusion_weighting.py
Each variant changes only the disease half of the score (see gmc.phenotype.similarity); the causal gene's
pessimistic rank among all annotated genes is reported as top-k accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hpo import load_cases  # noqa: E402

from gmc.phenotype.similarity import PatientProfile, get_similarity_index  # noqa: E402


def main() -> None:
    """Scores every case once per variant and prints top-k accuracy of the causal gene."""
    index = get_similarity_index()
    links = index.gene_diseases
    terms, frequency = index.disease_terms, index.disease_frequency
    ic_annotated = index.ic[index.annotated_terms]
    weights = {
        "w = f": frequency.data,
        "w = max(0, 2f - 1) (gmc)": np.clip(2 * frequency.data - 1, 0, 1),
        "w = 0": np.zeros_like(frequency.data),
    }
    prepared = []
    for case in load_cases():
        profile = index.profile(case["observed"], case["excluded"], strict=False)
        gold = [index.gene_index[g] for g in case["genes"] if g in index.gene_index]
        arrays = index._score_all(profile)
        observed_only = index._score_all(PatientProfile(profile.observed, (), ()))
        prepared.append((arrays, observed_only, gold))

    def report(name: str, scores: list[np.ndarray]) -> None:
        """Prints one table row: top-k accuracy of the causal gene under these disease scores."""
        ranks = []
        for score, (_, _, gold) in zip(scores, prepared, strict=True):
            if not gold:
                ranks.append(10**9)
                continue
            genes = np.maximum.reduceat(score[links.indices], links.indptr[:-1])
            ranks.append(int((genes >= max(genes[g] for g in gold)).sum()))
        r = np.array(ranks)
        figures = " | ".join(f"{(r <= k).mean():.1%}" for k in (1, 5, 10, 50))
        print(f"| {name} | {figures} |")

    print("| variant | top 1 | top 5 | top 10 | top 50 |\n|---|---|---|---|---|")
    information = index.disease_information
    for zero_gain in (False, True):
        for label, data in weights.items():
            weight = frequency.copy()
            weight.data = data
            scores = []
            for arrays, _, _ in prepared:
                best = arrays["sim"].max(axis=0).astype(np.float64)
                shown = arrays["shown_excluded"]
                # The patient half is unchanged: recover it from the gmc score and gmc's disease half.
                gmc_half = (terms @ best - index.contradiction_weight @ np.where(shown, ic_annotated, 0)) / information
                patient_half = 2 * arrays["score"] - gmc_half
                gained = terms @ (np.where(shown, 0.0, best) if zero_gain else best)
                disease_half = (gained - weight @ np.where(shown, ic_annotated, 0)) / information
                scores.append(0.5 * (patient_half + disease_half))
            report(("excluded terms' matches zeroed, " if zero_gain else "") + label, scores)
    report("observed terms only", [o["score"] for _, o, _ in prepared])


if __name__ == "__main__":
    main()
