"""Benchmark of the HPO service: start-up, type-ahead latency, gene scoring time and ranking of 500 real cases.

Run from the repository root:  .venv/bin/python bench/phenotype/bench_hpo.py
Writes bench/out/phenotype_hpo.json and prints a summary (copied into docs/bench/phenotype.md).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
CASES = REPO.parent / "shared" / "benchmarks" / "rare" / "phenopackets"

STARTUP = """
import time, json
t0 = time.perf_counter()
from gmc.phenotype.ontology import get_ontology
t1 = time.perf_counter()
ontology = get_ontology()
t2 = time.perf_counter()
from gmc.phenotype.similarity import get_similarity_index
index = get_similarity_index()
t3 = time.perf_counter()
from gmc.phenotype.annotations import get_annotations
get_annotations()
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "ontology_s": t2 - t1, "similarity_index_s": t3 - t2,
                  "annotations_s": t4 - t3}))
"""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def startup() -> dict[str, dict[str, float]]:
    """Cold (empty cache) and warm start-up, each in a fresh process."""
    results = {}
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "GMC_DATA_DIR": data_dir}
        for label in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", STARTUP], env=env, capture_output=True, text=True, check=True)
            results[label] = json.loads(out.stdout)
    return results


def search_latency() -> dict[str, float]:
    """Latency of search() over every distinct 3-5 letter prefix of current term labels."""
    from gmc.phenotype.ontology import get_ontology

    ontology = get_ontology()
    prefixes = sorted({t.name[:n] for t in ontology.current_terms() for n in (3, 4, 5) if len(t.name) >= n})
    ontology.search("warm")  # builds the word index if the cache did not carry it
    walls, cpus = [], []
    for prefix in prefixes:
        _, wall, cpu = _timed(lambda: ontology.search(prefix))  # noqa: B023
        walls.append(wall)
        cpus.append(cpu)
    return {
        "queries": len(prefixes),
        "wall_ms": _summary(walls),
        "cpu_ms": _summary(cpus),
        "seiz_first": ontology.search("seiz")[0].term.id,
    }


def load_cases() -> list[dict]:
    """Observed/excluded terms and causal HGNC id of each benchmark phenopacket."""
    cases = []
    for path in sorted(CASES.glob("*.json")):
        packet = json.loads(path.read_text())
        features = packet.get("phenotypicFeatures", [])
        observed = [f["type"]["id"] for f in features if not f.get("excluded")]
        excluded = [f["type"]["id"] for f in features if f.get("excluded")]
        genes = {
            g["variantInterpretation"]["variationDescriptor"]["geneContext"]["valueId"]
            for i in packet.get("interpretations", [])
            for g in i.get("diagnosis", {}).get("genomicInterpretations", [])
            if "geneContext" in g.get("variantInterpretation", {}).get("variationDescriptor", {})
        }
        cases.append({"file": path.name, "observed": observed, "excluded": excluded, "genes": genes})
    return cases


def _timed(call: Callable[[], T]) -> tuple[T, float, float]:
    """Result, wall milliseconds and CPU milliseconds of a call (CPU time is less disturbed by other jobs)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and max of values."""
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values)}


def gene_ranking() -> dict[str, object]:
    """Time of score_genes per case and the rank of the causal gene, with and without excluded terms."""
    from gmc.phenotype.similarity import get_similarity_index

    index = get_similarity_index()
    cases = load_cases()
    _, first_wall, first_cpu = _timed(lambda: index.score_genes(cases[0]["observed"], cases[0]["excluded"]))
    out: dict[str, object] = {"cases": len(cases), "first_call_wall_ms": first_wall, "first_call_cpu_ms": first_cpu}
    all_genes = sorted(index.gene_ids)
    for mode in ("observed+excluded", "observed only", "200 candidate genes"):
        walls, cpus, ranks, unknown, terms = [], [], [], 0, []
        for case in cases:
            excluded = case["excluded"] if mode != "observed only" else []
            profile = index.profile(case["observed"], excluded, strict=False)
            unknown += len(profile.unknown_terms)
            terms.append(len(profile.observed))
            candidates = None
            if mode == "200 candidate genes":
                # The causal gene among 199 others, as a variant filter would leave them.
                candidates = sorted(case["genes"]) + all_genes[:: len(all_genes) // 199][:199]
            try:
                matches, wall, cpu = _timed(
                    lambda: index.score_genes(case["observed"], excluded, candidates, strict=False)  # noqa: B023
                )
            except ValueError as error:
                out.setdefault("errors", []).append(f"{case['file']}: {error}")  # type: ignore[union-attr]
                continue
            walls.append(wall)
            cpus.append(cpu)
            scores = {g: m.score for g, m in matches.items()}
            causal = [scores[g] for g in case["genes"] if g in scores]
            if not causal:
                ranks.append(None)
                continue
            best = max(causal)
            # Pessimistic rank: genes tying with the causal gene count as ranked above it.
            ranks.append(sum(1 for s in scores.values() if s >= best))
        found = [r for r in ranks if r is not None]
        n = len(ranks)
        out[mode] = {
            "scored": n,
            "unknown_terms_left_out": unknown,
            "causal_gene_without_annotations": n - len(found),
            "observed_terms": _summary(terms),
            "wall_ms": _summary(walls),
            "cpu_ms": _summary(cpus),
            "top1": sum(r <= 1 for r in found) / n,
            "top5": sum(r <= 5 for r in found) / n,
            "top10": sum(r <= 10 for r in found) / n,
            "top50": sum(r <= 50 for r in found) / n,
            "median_rank_when_annotated": statistics.median(found),
        }
    return out


def main() -> None:
    """Runs every measurement once and writes the JSON summary."""
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "startup": startup(),
        "search": search_latency(),
        "gene_scoring": gene_ranking(),
    }
    results["load_average_at_end"] = os.getloadavg()
    target = REPO / "bench" / "out" / "phenotype_hpo.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
