"""Benchmark: dedupe a seeded generated record set through the CSV path; report pairwise precision/recall."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import psutil

from gmc.registry.dedupe import dedupe_csv

_spec = importlib.util.spec_from_file_location("registry_generate", Path(__file__).with_name("generate.py"))
assert _spec and _spec.loader
generate_module = importlib.util.module_from_spec(_spec)
sys.modules["registry_generate"] = generate_module
_spec.loader.exec_module(generate_module)


def same_person_pairs(labels: list[str]) -> set[tuple[int, int]]:
    """Returns the index pairs that share a label."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return {pair for members in groups.values() for pair in combinations(members, 2)}


def pairwise_scores(truth: list[str], predicted: list[str]) -> tuple[float, float, int, int, int]:
    """Returns precision, recall, true positives, predicted pairs and true pairs."""
    true_pairs = same_person_pairs(truth)
    predicted_pairs = same_person_pairs(predicted)
    tp = len(true_pairs & predicted_pairs)
    precision = tp / len(predicted_pairs) if predicted_pairs else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    return precision, recall, tp, len(predicted_pairs), len(true_pairs)


def main() -> None:
    """Runs one benchmark and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--show-errors", type=int, default=0, help="print this many missed and wrong pairs")
    args = parser.parse_args()

    generated = generate_module.generate(args.records, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        generate_module.write_csv(generated, source)
        start, cpu_start = time.perf_counter(), time.process_time()
        result = dedupe_csv(source, target)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    rss = psutil.Process().memory_info().rss / 2**20
    records = generated.records
    truth = [r["true_person_id"] for r in records]
    precision, recall, tp, n_pred, n_true = pairwise_scores(truth, result.person_ids)
    print(
        f"seed {args.seed}: {len(records)} records, {len(generated.people)} people, "
        f"{n_true} true duplicate pairs"
    )
    print(
        f"dedupe_csv: {elapsed:.1f} s wall, {cpu:.1f} s CPU, {result.pairs_compared} pairs compared, "
        f"{result.person_count} persons, "
        f"{len(result.possible_pairs)} possible pairs for review, {result.blocked_merges} merges blocked, "
        f"RSS {rss:.0f} MiB"
    )
    print(
        f"pairwise precision {precision:.4f} ({n_pred - tp} false pairs of {n_pred}), "
        f"recall {recall:.4f} ({n_true - tp} missed of {n_true})"
    )

    predicted_pairs = same_person_pairs(result.person_ids)
    position = {r["record_id"]: i for i, r in enumerate(records)}
    queued = {
        tuple(sorted((position[v.record_id], position[v.other_record_id]))) for v in result.possible_pairs
    }
    missed = same_person_pairs(truth) - predicted_pairs
    queued_true = sum(1 for i, j in queued if truth[i] == truth[j])
    print(
        f"review queue: {len(queued)} pairs, {queued_true} of them true; "
        f"{len(missed & queued)} of the {len(missed)} missed pairs are in it"
    )
    missed_by_error: Counter[str] = Counter()
    total_by_error: Counter[str] = Counter()
    for i, j in same_person_pairs(truth):
        key = "+".join(sorted(e for e in (records[i]["errors"], records[j]["errors"]) if e)) or "none"
        total_by_error[key] += 1
        if (i, j) not in predicted_pairs:
            missed_by_error[key] += 1
    print("missed pairs by error type (missed/total):")
    for key, total in sorted(total_by_error.items(), key=lambda kv: -missed_by_error[kv[0]]):
        if missed_by_error[key]:
            print(f"  {key}: {missed_by_error[key]}/{total}")
    if args.show_errors:
        fields = ("nhs_number", "family_name", "given_name", "date_of_birth", "sex", "postcode", "trust_code")
        wrong = [p for p in predicted_pairs if truth[p[0]] != truth[p[1]]][: args.show_errors]
        missed = [p for p in same_person_pairs(truth) if p not in predicted_pairs][: args.show_errors]
        for label, pairs in (("WRONG", wrong), ("MISSED", missed)):
            for i, j in pairs:
                print(
                    label,
                    [records[i][f] for f in fields],
                    "|",
                    [records[j][f] for f in fields],
                    records[j]["errors"],
                )


if __name__ == "__main__":
    main()
