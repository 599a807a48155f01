"""Offline re-ranking harness used to choose the ranking settings on one half of the shared cases.

    .venv/bin/python bench/rare/tune_halves.py --work /tmp/gmc_tune            # dump once (~7 min), then evaluate
    .venv/bin/python bench/rare/tune_halves.py --work /tmp/gmc_tune --reuse    # evaluate an existing dump

Step 1 (dump): every shared phenopacket is spiked into the background exactly as `gmc bench rare` does
(`spike.prepare_case`, seed 1) and read and annotated as `gmc interpret rare` does (`files.read_candidates`,
ClinVar on); what differs from the background (the spiked alleles, the replaced records) and the blinded HPO
profile are kept per case. Step 2 (evaluate): each configuration re-ranks every case from the dump with the
real `ranking.rank_genes` (background genes ranked once per sex, a case's touched genes re-ranked with its
own alleles) and the real phenotype scoring, and reports top-1/3/5/10 and MRR on the two halves of a seeded
split (`random.Random(7)`): half A was used to choose, half B only to check. The ranks equal those of
`gmc bench rare` for the same code up to ties; the benchmark command remains the reference figure. A dump made
before ranking 4 has no missense Z on its candidates; evaluation fills it by gene symbol.
"""

from __future__ import annotations

import argparse
import pickle
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gmc.interpretation.rare import files, ranking
from gmc.interpretation.rare.bench import case_truth
from gmc.interpretation.rare.inheritance import Pedigree
from gmc.interpretation.rare.spike import load_background, prepare_case, spike_vcf

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "rare"


def dump(work: Path, cases_dir: Path, background_path: Path) -> None:
    """Spikes and annotates every case once; keeps the background candidates and each case's differences."""
    work.mkdir(parents=True, exist_ok=True)
    sources = files.annotation_sources("GRCh38", True)
    background = load_background(background_path)
    spike_vcf(background, [], work / "background.vcf.gz", seed=1)
    background_candidates, _, _ = files.read_candidates(work / "background.vcf.gz", sources, build="GRCh38")
    background_ids = {c.variant_id for c in background_candidates}
    records = []
    started = time.perf_counter()
    for n, path in enumerate(sorted(cases_dir.glob("*.json"))):
        record: dict[str, Any] = {"path": str(path)}
        try:
            record["truth"] = case_truth(path, sources)
            case = prepare_case(path, background, work, seed=1)
            phenotype = files.read_case_phenotype(case.phenopacket_path)
            record["observed"], _ = files.check_terms(phenotype.observed, "observed")
            record["excluded"], _ = files.check_terms(phenotype.excluded, "excluded")
            record["sex"] = phenotype.sex
            candidates, _, _ = files.read_candidates(case.vcf_path, sources, build="GRCh38")
            ids = {c.variant_id for c in candidates}
            record["new"] = [c for c in candidates if c.variant_id not in background_ids]
            record["removed"] = sorted(background_ids - ids)
            case.vcf_path.unlink()
        except ValueError as exc:
            record["error"] = str(exc)
        records.append(record)
        if n % 50 == 0:
            print(f"{n} cases dumped, {time.perf_counter() - started:.0f} s", flush=True)
    with (work / "dump.pkl").open("wb") as out:
        pickle.dump({"background": background_candidates, "cases": records}, out)


@dataclass(frozen=True)
class CaseRank:
    """One case re-ranked: the causal gene's rank and what limits it."""

    rank: int | None
    #: Genes the ranking lists for the case (any weighed variant).
    n_genes: int
    #: Of those, genes with a phenotype score above 0.
    n_phenotype_genes: int
    #: The causal gene has an HPO gene annotation (a phenotype score at all).
    annotated: bool
    #: The causal gene is among the ranked genes (a variant the ranking weighs).
    candidate: bool
    phenotype: float
    source: bool
    #: The causal gene's variant score, and the first-ranked gene with its variant and phenotype scores.
    variant: float = 0.0
    top: tuple[str, float, float] = ("", 0.0, 0.0)


def default_phenotype(case: dict[str, Any]) -> dict[str, float]:
    """The shipped calibrated phenotype evidence of every annotated gene for the case's profile."""
    return files.gene_phenotype_scores(case["observed"], case["excluded"])[1]


def rank_cases(
    data: dict[str, Any], *,
    transform: Callable[[ranking.CandidateVariant], ranking.CandidateVariant] = lambda c: c,
    phenotype_of: Callable[[dict[str, Any]], dict[str, float]] = default_phenotype,
    mode_mismatch_weight: float = 0.4,
    rank_options: dict[str, Any] | None = None,
) -> dict[str, CaseRank]:
    """Re-ranks every dumped case with the current ranking code; returns each case's result by case id."""
    from gmc.phenotype.similarity import get_similarity_index

    annotated_genes = set(get_similarity_index().gene_ids)
    inheritance = ranking.hpo_gene_inheritance()
    options = dict(gene_inheritance=inheritance, mode_mismatch_weight=mode_mismatch_weight, **(rank_options or {}))
    background = [transform(c) for c in data["background"]]
    cases = [c for c in data["cases"] if "error" not in c]
    sample = next(iter(background[0].calls))
    base = {
        sex: {g.gene_symbol: g for g in ranking.rank_genes(background, Pedigree.singleton(sample, sex), {}, **options)}
        for sex in {c["sex"] for c in cases}
    }
    by_gene: dict[str, list[ranking.CandidateVariant]] = defaultdict(list)
    for c in background:
        by_gene[c.gene_symbol].append(c)
    symbol_of = {c.variant_id: c.gene_symbol for c in background}
    out: dict[str, CaseRank] = {}
    for case in cases:
        truth = case["truth"]
        new = [transform(c) for c in case["new"]]
        removed = set(case["removed"])
        touched = {c.gene_symbol for c in new} | {symbol_of[v] for v in removed if v in symbol_of}
        local = [c for g in touched for c in by_gene.get(g, []) if c.variant_id not in removed] + new
        genes = {g: r for g, r in base[case["sex"]].items() if g not in touched}
        for r in ranking.rank_genes(local, Pedigree.singleton(sample, case["sex"]), {}, **options):
            genes[r.gene_symbol] = r
        phenotype = phenotype_of(case)
        rows = []
        for symbol, r in genes.items():
            p = min(max(phenotype.get(r.hgnc_id or "", phenotype.get(symbol, 0.0)), 0.0), 1.0)
            rows.append((-ranking.combined_score(r.variant_score, p), -r.variant_score, symbol, r.hgnc_id, p))
        rows.sort()
        hit = next(
            (i for i, row in enumerate(rows) if row[3] in truth.hgnc_ids or row[2] in truth.symbols), None
        )
        out[truth.case_id] = CaseRank(
            rank=None if hit is None else hit + 1,
            n_genes=len(rows),
            n_phenotype_genes=sum(1 for row in rows if row[4] > 0),
            annotated=bool(truth.hgnc_ids & annotated_genes),
            candidate=hit is not None,
            phenotype=0.0 if hit is None else rows[hit][4],
            source=truth.publication_is_annotation_source,
            variant=0.0 if hit is None else -rows[hit][1],
            top=(rows[0][2], -rows[0][1], rows[0][4]),
        )
    return out


def figures(values: list[int | None], n: int | None = None) -> str:
    """top-1/3/5/10 and MRR of ranks (None = not ranked) over n cases (default: len(values))."""
    n = n or len(values)
    tops = " ".join(f"top{k} {100 * sum(1 for r in values if r and r <= k) / n:.1f}" for k in (1, 3, 5, 10))
    return f"n={n} {tops} MRR {sum(1 / r for r in values if r) / n:.3f}"


def evaluate(data: dict[str, Any], label: str, *, halves: tuple[set[str], set[str]], **kwargs: Any) -> None:
    """Re-ranks every dumped case (rank_cases options) and prints the figures per half."""
    ranks = rank_cases(data, **kwargs)
    for name, members in (("A (tuning)", halves[0]), ("B (held out)", halves[1])):
        values = [r.rank for case_id, r in ranks.items() if case_id in members]
        print(f"{label:45s} {name:13s} {figures(values)}", flush=True)


def load_halves(work: Path) -> tuple[dict[str, Any], tuple[set[str], set[str]], Callable[[Any], Any]]:
    """The dump of `work`, its two halves, and the transform that fills each candidate's missing missense Z."""
    with (work / "dump.pkl").open("rb") as handle:
        data = pickle.load(handle)
    fill = missense_z_by_symbol()

    def with_z(c: ranking.CandidateVariant) -> ranking.CandidateVariant:
        return c if c.mis_z is not None else replace(c, mis_z=fill.get(c.gene_symbol))

    return data, split(data), with_z


def split(data: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The seeded halves of the usable cases: A to choose on, B only to check."""
    ids = sorted(c["truth"].case_id for c in data["cases"] if "error" not in c)
    half_a = set(random.Random(7).sample(ids, len(ids) // 2))
    return half_a, set(ids) - half_a


def main() -> None:
    """Dumps (unless --reuse) and prints the chosen settings against each change undone."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--cases", type=Path, default=SHARED / "phenopackets")
    parser.add_argument("--background", type=Path, default=SHARED / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not args.reuse:
        dump(args.work, args.cases, args.background)
    data, halves, with_z = load_halves(args.work)
    evaluate(data, "ranking 4 (as shipped)", halves=halves, transform=with_z)
    evaluate(data, "  without the missense-constraint weight", halves=halves, transform=with_z,
             rank_options={"missense_floor": None})
    evaluate(data, "  without the codon-position prior", halves=halves,
             transform=lambda c: replace(with_z(c), hgvs_c=None))
    evaluate(data, "  mode mismatch excluded (weight 0)", halves=halves, transform=with_z, mode_mismatch_weight=0.0)
    weight = files.PATIENT_WEIGHT
    files.PATIENT_WEIGHT = 0.5
    evaluate(data, "  symmetric phenotype similarity (w = 1/2)", halves=halves, transform=with_z)
    files.PATIENT_WEIGHT = weight
    shipped = ranking.combined_score
    ranking.combined_score = lambda v, p: v + 8 / 6 * p  # ranking 2's logistic(-6 + 6v + 8p), same order
    evaluate(data, "  ranking 2's weights (phenotype 1.33x variant)", halves=halves, transform=with_z)
    ranking.combined_score = shipped


def missense_z_by_symbol() -> dict[str, float]:
    """gnomAD missense Z by gene symbol (MANE transcripts), for dumps made before candidates carried it."""
    sources = files.annotation_sources("GRCh38", True)
    out: dict[str, float] = {}
    for transcript in sources.transcripts.transcripts:
        constraint = sources.genes.constraint_of(transcript.gene_id)
        if constraint is not None and constraint.mis_z is not None:
            out.setdefault(transcript.gene, constraint.mis_z)
    return out

if __name__ == "__main__":
    main()
