"""Rare round 2 trials on the tuning halves: HPO release, PanelApp/ClinVar evidence weight, unknown-effect floor.

    .venv/bin/python bench/rare/tune_halves.py --work /tmp/rare2/tune                  # the dump (once)
    .venv/bin/python bench/rare/round2_trials.py --work /tmp/rare2/tune                # hpo3's release (package)
    GMC_HPO_RELEASE=2025-01-16 .venv/bin/python bench/rare/round2_trials.py --work /tmp/rare2/tune --only-baseline

Each trial changes one thing against the shipped settings and re-ranks every dumped case with the real ranking
and phenotype scoring (``tune_halves.rank_cases``); figures are printed per half (A tunes, B is held out) and for
the non-circular cases of each half (publication not an HPO 2025-01-16 annotation source). One process scores
one HPO release (hpo3 holds one ontology per process): the 2025-01-16 release runs in a second process.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tune_halves import figures, load_halves, rank_cases

from gmc.interpretation.rare import files, ranking

_PHENOTYPE: dict[tuple[Any, ...], dict[str, float]] = {}


def phenotype(case: dict[str, Any], other_sources: bool = True) -> dict[str, float]:
    """The case's calibrated phenotype evidence, memoised across trials that do not change it."""
    key = (tuple(case["observed"]), tuple(case["excluded"]), other_sources, files.PROFILE_EVIDENCE_WEIGHT)
    if key not in _PHENOTYPE:
        _PHENOTYPE[key] = files.gene_phenotype_scores(case["observed"], case["excluded"], other_sources=other_sources)[1]
    return _PHENOTYPE[key]


def report(data: dict[str, Any], label: str, halves: tuple[set[str], set[str]], **kwargs: Any) -> None:
    """Prints a trial's figures on both halves, all cases and the non-circular ones."""
    kwargs.setdefault("phenotype_of", phenotype)
    ranks = rank_cases(data, **kwargs)
    for name, members in (("A", halves[0]), ("B", halves[1])):
        values = [r.rank for case, r in ranks.items() if case in members]
        fresh = [r.rank for case, r in ranks.items() if case in members and not r.source]
        print(f"{label:50s} {name} all {figures(values)} | non-circular {figures(fresh)}", flush=True)


def main() -> None:
    """Runs the trials of the round (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--only-baseline", action="store_true")
    args = parser.parse_args()
    data, halves, with_z = load_halves(args.work)

    from gmc.phenotype.ontology import get_ontology

    release = get_ontology().release
    report(data, f"HPO {release}, shipped settings", halves, transform=with_z)
    if args.only_baseline:
        report(data, f"HPO {release}, no PanelApp/ClinVar evidence", halves, transform=with_z,
               phenotype_of=lambda case: phenotype(case, other_sources=False))
        return
    report(data, "  no PanelApp/ClinVar evidence", halves, transform=with_z,
           phenotype_of=lambda case: phenotype(case, other_sources=False))
    shipped_weight = files.PROFILE_EVIDENCE_WEIGHT
    for weight in (0.5, 1.0):
        files.PROFILE_EVIDENCE_WEIGHT = weight
        report(data, f"  PanelApp/ClinVar weight {weight}", halves, transform=with_z)
    files.PROFILE_EVIDENCE_WEIGHT = shipped_weight
    shipped_floor = ranking.UNKNOWN_EFFECT_FLOOR
    for floor in (0.0, 0.2, 0.5):
        ranking.UNKNOWN_EFFECT_FLOOR = floor
        report(data, f"  unknown-effect floor {floor}", halves, transform=with_z)
    ranking.UNKNOWN_EFFECT_FLOOR = shipped_floor


if __name__ == "__main__":
    main()
