"""Splits a `gmc bench rare` OUT.json into two random halves (seeded) and prints the figures of each.

Usage: .venv/bin/python bench/rare/halves.py OUT.json [--seed 2]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from gmc.interpretation.rare.bench import summarise


def main() -> None:
    """Prints top-k and MRR with and without ClinVar and for the shuffled control, per half."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_json", type=Path)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    records = json.loads(args.out_json.read_text())["cases"]
    ids = sorted(r["case_id"] for r in records)
    first = set(random.Random(args.seed).sample(ids, len(ids) // 2))
    for name, members in (("half A", first), ("half B", set(ids) - first)):
        chosen = [r for r in records if r["case_id"] in members]
        for key in ("rank_clinvar", "rank_no_clinvar", "rank_shuffled_hpo"):
            if all(key in r for r in chosen):
                figures = summarise([r[key] for r in chosen])
                print(name, key, {k: figures[k] for k in ("n_cases", "top1", "top3", "top5", "top10", "mrr")})
        for split in (True, False):
            subset = [r["rank_clinvar"] for r in chosen if r["publication_is_annotation_source"] is split]
            figures = summarise(subset)
            print(name, f"publication_is_annotation_source={split}",
                  {k: figures[k] for k in ("n_cases", "top1", "top10", "mrr")})


if __name__ == "__main__":
    main()
