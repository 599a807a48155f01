"""Rare round 2 controls on the halves harness: without ClinVar, and with another case's HPO terms (shuffled).

    .venv/bin/python bench/rare/round2_controls.py --work /tmp/rare2/tune

Without ClinVar: every candidate's ClinVar significance is removed before ranking (as `--no-clinvar` leaves the
annotation without it). Shuffled: each case is scored with the HPO profile of another case (a seeded single-cycle
shuffle, ``bench._shuffled_features``' rule), which shows how much of the ranking the phenotype carries.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from round2_trials import phenotype, report
from tune_halves import load_halves


def main() -> None:
    """Prints the two controls per half (all cases and non-circular)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    data, halves, with_z = load_halves(args.work)

    report(data, "without ClinVar", halves, transform=lambda c: replace(with_z(c), clinvar_significance=None))
    cases = [c for c in data["cases"] if "error" not in c]
    order = list(range(len(cases)))
    rng = random.Random(1)
    for i in range(len(order) - 1, 0, -1):  # Sattolo: one cycle, no case keeps its own terms
        j = rng.randrange(i)
        order[i], order[j] = order[j], order[i]
    other: dict[str, dict[str, Any]] = {
        cases[i]["truth"].case_id: cases[order[i]] for i in range(len(cases))
    }
    report(data, "shuffled HPO (another case's terms)", halves, transform=with_z,
           phenotype_of=lambda case: phenotype(other[case["truth"].case_id]))


if __name__ == "__main__":
    main()
