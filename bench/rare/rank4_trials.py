"""The ranking-4 trials on the tuning dump: every change tried, each on half A (to choose) and half B (to check).

    .venv/bin/python bench/rare/tune_halves.py --work /tmp/gmc_tune     # the dump, once
    .venv/bin/python bench/rare/rank4_trials.py --work /tmp/gmc_tune    # ~15 min

Each trial re-ranks all usable cases with the real ranking and phenotype code, changing one thing: a ranking
option, an attribute of the similarity index (restored afterwards), or the phenotype scores handed to ranking.
The kept change (missense constraint, floor 0.7) is ranking 4's default; the table is in docs/bench/rare.md.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tune_halves import default_phenotype, figures, missense_z_by_symbol, rank_cases, split  # noqa: E402

from gmc.interpretation.rare import files, ranking  # noqa: E402
from gmc.phenotype.similarity import PatientProfile, SimilarityIndex, _segment_argmax, get_similarity_index  # noqa: E402


class Trials:
    """Runs labelled trials on one dump and prints both halves' figures per trial."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.halves = split(data)
        fill = missense_z_by_symbol()
        self.with_z = lambda c: c if c.mis_z is not None else replace(c, mis_z=fill.get(c.gene_symbol))
        self.index = get_similarity_index()

    def run(self, label: str, **kwargs: Any) -> None:
        """Re-ranks every case with rank_cases(**kwargs) and prints half A and half B."""
        kwargs.setdefault("transform", self.with_z)
        ranks = rank_cases(self.data, **kwargs)
        a = [r.rank for k, r in ranks.items() if k in self.halves[0]]
        b = [r.rank for k, r in ranks.items() if k in self.halves[1]]
        print(f"{label:58s} A {figures(a)} | B {figures(b)}", flush=True)

    def with_index(self, label: str, attributes: dict[str, Any], **kwargs: Any) -> None:
        """A trial with some similarity-index attributes replaced."""
        saved = {k: getattr(self.index, k) for k in attributes}
        for k, v in attributes.items():
            setattr(self.index, k, v)
        try:
            self.run(label, **kwargs)
        finally:
            for k, v in saved.items():
                setattr(self.index, k, v)


def percentile_power(k: float) -> Callable[[dict[str, float]], dict[str, float]]:
    """Calibration raw x percentile^k (k = 1 is the shipped phenotype_evidence)."""
    def evidence(scores: dict[str, float]) -> dict[str, float]:
        keys = list(scores)
        values = np.asarray([scores[x] for x in keys], dtype=float)
        below = np.searchsorted(np.sort(values), values, side="left") / len(values)
        return {x: float(np.clip(values[i], 0, 1) * below[i] ** k) for i, x in enumerate(keys)}
    return evidence


def main() -> None:
    """Prints every trial of ranking 4 (kept and dropped)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    with (args.work / "dump.pkl").open("rb") as handle:
        t = Trials(pickle.load(handle))
    index = t.index
    t.run("ranking 3", rank_options={"missense_floor": None})
    for floor in (0.5, 0.6, 0.7, 0.8, 0.85):
        t.run(f"missense constraint, floor {floor} (0.7 = ranking 4)", rank_options={"missense_floor": floor})
    shipped = ranking.missense_constraint_factor
    for top in (1.2, 1.33):
        ranking.missense_constraint_factor = (
            lambda z, floor, top=top: 1.0 if z is None else 1.0 + (top - 1.0) * min(max(z / 3.09, 0.0), 1.0)
        )
        t.run(f"missense constraint as a lift, x1 to x{top}", rank_options={"missense_floor": 0.0})
    ranking.missense_constraint_factor = shipped

    frequency = index.disease_frequency
    t.with_index("disease side weighted by annotation frequency",
                 {"disease_terms": frequency, "disease_information": frequency @ index.ic[index.annotated_terms]})
    none = index.contradiction_weight.copy()
    none.data[:] = 0.0
    t.with_index("no penalty for excluded terms the disease shows", {"contradiction_weight": none})
    t.with_index("excluded-term penalty weight f (not 2f - 1)", {"contradiction_weight": index.disease_frequency})
    t.with_index("hpoa NOT rows ignored", {"excluding_indptr": np.zeros_like(index.excluding_indptr)})

    shipped_evidence = files.phenotype_evidence
    for k in (0.5, 2.0, 3.0):
        files.phenotype_evidence = percentile_power(k)
        t.run(f"calibration raw x percentile^{k}")
    files.phenotype_evidence = shipped_evidence

    # Patient-side credit scaled by the annotation frequency of the matched disease term.
    matrix = index.disease_frequency.tocoo()
    n_terms = len(index.term_ids)
    keys = matrix.row.astype(np.int64) * n_terms + index.annotated_terms[matrix.col]
    order = np.argsort(keys)
    keys, values = keys[order], matrix.data[order]
    original = SimilarityIndex._score_all
    for a in (0.5, 0.75, 0.9):
        def scaled(self: SimilarityIndex, profile: PatientProfile, patient_weight: float = 0.5,
                   a: float = a) -> dict[str, np.ndarray]:
            arrays = original(self, profile, patient_weight)
            ic = self.ic[arrays["observed"]]
            k = np.arange(self.n_diseases, dtype=np.int64)[None, :] * n_terms + arrays["patient_match"]
            at = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            f = np.where(keys[at] == k, values[at], 1.0)
            conflict, best = arrays["patient_conflict"], arrays["patient_best"]
            old = np.where(conflict, -ic[:, None], best).sum(0) / ic.sum()
            new = np.where(conflict, -ic[:, None], best * (a + (1 - a) * f)).sum(0) / ic.sum()
            arrays["score"] = arrays["score"] + patient_weight * (new - old)
            return arrays
        SimilarityIndex._score_all = scaled
        t.run(f"patient term credit x ({a} + {1 - a:.2f} f)")
    SimilarityIndex._score_all = original

    # Disease-specific baseline: the mean score of each disease for random profiles of the patient's size.
    rng = random.Random(11)
    terms = [index.term_id_list[i] for i in index.annotated_terms if index.phenotypic[i]]
    sizes = [2, 4, 7, 11, 17, 26, 40]
    baseline = {
        n: np.mean([index._score_all(PatientProfile(tuple(rng.sample(terms, n)), (), ()), files.PATIENT_WEIGHT)["score"]
                    for _ in range(40)], axis=0)
        for n in sizes
    }
    links = index.gene_diseases.tocsr()

    def baseline_subtracted(case: dict[str, Any], weight: float) -> dict[str, float]:
        profile = index.profile(case["observed"], case["excluded"], True)
        score = index._score_all(profile, files.PATIENT_WEIGHT)["score"]
        size = min(sizes, key=lambda x: abs(np.log(x) - np.log(max(len(profile.observed), 1))))
        adjusted = score - weight * baseline[size]
        best = links.indices[_segment_argmax(adjusted[links.indices], links.indptr)]
        evidence = files.phenotype_evidence({g: float(adjusted[best[i]]) for i, g in enumerate(index.gene_ids)})
        for i, g in enumerate(index.gene_ids):
            evidence.setdefault(index.gene_symbols[i], evidence[g])
        return evidence

    for weight in (0.5, 1.0):
        t.run(f"disease baseline (random profiles) subtracted x{weight}",
              phenotype_of=lambda c, w=weight: baseline_subtracted(c, w))

    # Gene-level pooling: each gene scored as one profile, the union of its diseases' annotations.
    from gmc.phenotype.annotations import DiseaseAnnotation, GeneAnnotation, HpoAnnotations, get_annotations
    from gmc.phenotype.ontology import get_ontology

    annotations = get_annotations()
    pooled_diseases, pooled_genes = {}, {}
    for hgnc, gene in annotations.genes.items():
        rows = tuple(r for d in gene.disease_ids if d in annotations.diseases for r in annotations.diseases[d].rows)
        if rows:
            pooled_diseases[hgnc] = DiseaseAnnotation(hgnc, gene.symbol, rows)
            pooled_genes[hgnc] = GeneAnnotation(hgnc, gene.symbol, gene.ncbi_gene_id, (hgnc,), ())
    pooled = SimilarityIndex(get_ontology(), HpoAnnotations(annotations.release, pooled_diseases, pooled_genes))

    def pooled_scores(case: dict[str, Any]) -> dict[str, float]:
        matches = pooled.score_genes(case["observed"], case["excluded"], None, True, files.PATIENT_WEIGHT)
        evidence = files.phenotype_evidence({h: m.score for h, m in matches.items()})
        for m in matches.values():
            evidence.setdefault(m.symbol, evidence[m.hgnc_id])
        return evidence

    def combined(case: dict[str, Any], how: Callable[[float, float], float]) -> dict[str, float]:
        a, b = default_phenotype(case), pooled_scores(case)
        return {k: how(a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b)}

    t.run("gene = pooled terms of its diseases", phenotype_of=pooled_scores)
    t.run("gene = max(best disease, pooled)", phenotype_of=lambda c: combined(c, max))
    t.run("gene = mean(best disease, pooled)", phenotype_of=lambda c: combined(c, lambda x, y: (x + y) / 2))

    from gmc.interpretation.rare.panels import read_panelapp

    rating: dict[str, int] = {}
    for panel in read_panelapp().values():
        for gene in panel.genes:
            rating[gene.symbol] = max(rating.get(gene.symbol, 0), int(gene.confidence))
    annotated = set(index.gene_symbols)
    for level, name in ((3, "green"), (2, "amber or green")):
        prior = {s for s, c in rating.items() if c >= level and s not in annotated}
        for floor in (0.1, 0.2, 0.3):
            def with_prior(case: dict[str, Any], floor: float = floor, prior: set[str] = prior) -> dict[str, float]:
                scores = dict(default_phenotype(case))
                for gene in prior:
                    scores.setdefault(gene, floor)
                return scores
            t.run(f"PanelApp {name} gene without HPO annotation: phenotype {floor}", phenotype_of=with_prior)


if __name__ == "__main__":
    main()
