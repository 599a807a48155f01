"""Rare-disease benchmark harness: spike each phenopacket's causal variants, run the file analysis blind, score."""

from __future__ import annotations

import json
import random
import resource
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gmc.interpretation.rare.files import RareInputError, analyse_case, annotation_sources
from gmc.interpretation.rare.spike import load_background, prepare_case


class BenchmarkInputError(ValueError):
    """The benchmark's cases directory or background is unusable; the message names it."""


@dataclass(frozen=True)
class CaseTruth:
    """What the benchmark knows about a case and never hands to the analysis."""

    case_id: str
    hgnc_ids: frozenset[str]
    symbols: frozenset[str]
    zygosity: str
    variant_class: str
    disease_id: str
    pmids: frozenset[str]
    #: True when the case's own publication is among the sources of its disease's HPO annotations.
    publication_is_annotation_source: bool


#: Consequence classes for the breakdown, most severe first (SO terms of the causal variant's annotation).
VARIANT_CLASSES: tuple[tuple[str, frozenset[str]], ...] = (
    ("loss_of_function", frozenset({
        "stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant", "start_lost",
        "stop_lost", "transcript_ablation", "exon_loss_variant",
    })),
    ("missense_inframe", frozenset({
        "missense_variant", "inframe_insertion", "inframe_deletion", "protein_altering_variant",
        "coding_sequence_variant",
    })),
    ("splice_region", frozenset({
        "splice_region_variant", "splice_donor_5th_base_variant", "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
    })),
    ("synonymous", frozenset({"synonymous_variant", "stop_retained_variant", "start_retained_variant"})),
    ("utr_noncoding", frozenset({
        "5_prime_UTR_variant", "3_prime_UTR_variant", "non_coding_transcript_exon_variant",
        "mature_miRNA_variant",
    })),
)


def variant_class(consequence: str | None) -> str:
    """Names the breakdown class of an annotated consequence (e.g. frameshift -> loss_of_function)."""
    terms = set((consequence or "").split("&"))
    for name, members in VARIANT_CLASSES:
        if terms & members:
            return name
    return "intronic_intergenic"


def _pmids(data: Any) -> frozenset[str]:
    """PMIDs naming the case's publication: metaData external references and the phenopacket id."""
    found = set()
    meta = data.meta_data
    for ref in getattr(meta, "external_references", ()) or ():
        if ref.id.upper().startswith("PMID:"):
            found.add("PMID:" + ref.id.split(":", 1)[1].strip())
    if data.id.upper().startswith("PMID_"):
        found.add("PMID:" + data.id.split("_")[1])
    return frozenset(found)


#: The HPO release whose annotation sources define the circular cases (fixed, so the subset does not move with
#: the release the ranking scores against; docs/bench/rare.md).
CIRCULARITY_RELEASE = "2025-01-16"


@lru_cache(maxsize=1)
def annotation_references() -> dict[str, set[str]]:
    """Each disease's annotation sources (phenotype.hpoa reference column) in the circularity release.

    A case is circular when its publication is among its diagnosed disease's sources: the ranking then scores
    the case against annotations made from the case itself.
    """
    from gmc.phenotype.ontology import read_text_lines
    from gmc.settings import get_settings

    hpo = get_settings().refdata_dir() / "hpo"
    path = next(p for p in (hpo / f"hpo_{CIRCULARITY_RELEASE}_phenotype.hpoa.gz",
                            hpo / f"hpo_{CIRCULARITY_RELEASE}_phenotype.hpoa") if p.exists())
    out: dict[str, set[str]] = {}
    for line in read_text_lines(path):
        if line.startswith(("#", "database_id")):
            continue
        cols = line.split("\t")
        if len(cols) > 4:
            out.setdefault(cols[0], set()).update(r.strip() for r in cols[4].split(";") if r.strip())
    return out


def case_truth(phenopacket_path: Path, sources: Any) -> CaseTruth:
    """Reads the full phenopacket (before blinding) for the answer, its class and the publication split."""
    from gmc.genomics.annotation.annotate import annotate_allele
    from gmc.genomics.vcf import normalise_chrom, trim_alleles
    from gmc.phenotype.phenopackets import causal_variants, read_phenopacket

    data = read_phenopacket(phenopacket_path)
    causal = causal_variants(data)
    if not causal:
        raise BenchmarkInputError(f"{phenopacket_path}: no causal variant with a VCF record")
    zygosities = {("compound_heterozygous" if v.compound_heterozygous else v.zygosity) for v in causal}
    classes = []
    for v in causal:
        pos, ref, alt = trim_alleles(v.pos, v.ref, v.alt)
        row = annotate_allele(normalise_chrom(v.chrom), pos, ref, alt, sources, lookups=False)
        classes.append(variant_class(row["consequence"]))
    # The most severe class among the causal variants names the case.
    order = [name for name, _ in VARIANT_CLASSES] + ["intronic_intergenic"]
    pmids = _pmids(data)
    sources_of = annotation_references()
    disease_ids = {v.disease_id for v in causal if v.disease_id}
    references: set[str] = set()
    for disease_id in disease_ids:
        references |= sources_of.get(disease_id, set())
    return CaseTruth(
        case_id=phenopacket_path.name.removesuffix(".json"),
        hgnc_ids=frozenset(v.hgnc_id for v in causal if v.hgnc_id),
        symbols=frozenset(v.gene_symbol for v in causal if v.gene_symbol),
        zygosity="/".join(sorted(zygosities)),
        variant_class=min(classes, key=order.index),
        disease_id=",".join(sorted(disease_ids)),
        pmids=pmids,
        publication_is_annotation_source=bool(pmids & references),
    )


def causal_rank(result: dict[str, Any], truth: CaseTruth) -> int | None:
    """Best rank of a causal gene, matched by HGNC id (by symbol only when the phenopacket gives no id)."""
    for gene in result["genes"]:
        if truth.hgnc_ids:
            if gene["hgnc_id"] in truth.hgnc_ids:
                return int(gene["rank"])
        elif gene["gene"] in truth.symbols:
            return int(gene["rank"])
    return None


def summarise(ranks: Sequence[int | None], seconds: Sequence[float] = ()) -> dict[str, Any]:
    """Top-1/3/5/10 shares, mean reciprocal rank (0 when not ranked) and timing of a set of cases."""
    n = len(ranks)
    out: dict[str, Any] = {"n_cases": n}
    for k in (1, 3, 5, 10):
        out[f"top{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) if n else None
    out["mrr"] = round(sum(1 / r for r in ranks if r) / n, 4) if n else None
    out["not_ranked"] = sum(1 for r in ranks if r is None)
    if seconds:
        out["median_seconds"] = round(statistics.median(seconds), 3)
        out["max_seconds"] = round(max(seconds), 3)
    return out


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _shuffled_features(blinded_paths: Sequence[Path], seed: int) -> dict[Path, list[Any]]:
    """Each case gets another case's phenotypic features (a seeded derangement), for the phenotype control."""
    features = [json.loads(p.read_text(encoding="utf-8")).get("phenotypicFeatures", []) for p in blinded_paths]
    order = list(range(len(blinded_paths)))
    rng = random.Random(seed)
    if len(order) > 1:
        # Sattolo's shuffle gives a single cycle: no case keeps its own terms.
        for i in range(len(order) - 1, 0, -1):
            j = rng.randrange(i)
            order[i], order[j] = order[j], order[i]
    return {p: features[order[i]] for i, p in enumerate(blinded_paths)}


def run_benchmark(
    cases_dir: Path,
    background_path: Path,
    work_dir: Path,
    *,
    sample: int | None = None,
    seed: int = 1,
    without_clinvar: bool = True,
    shuffled_control: bool = True,
    progress: Callable[[str], None] | None = None,
    fresh_processes: int = 0,
) -> dict[str, Any]:
    """Runs the benchmark (issue 7 item 7) and returns the OUT.json document.

    fresh_processes > 0 also runs that many cases (the first in sorted order) as users do, each as its own
    `gmc interpret rare` process, and reports their wall clock, CPU time and peak memory (``fresh_process``):
    the in-process figures profit from what the process already loaded and annotated.
    """
    cases_dir, work_dir = Path(cases_dir), Path(work_dir)
    paths = sorted(cases_dir.glob("*.json"))
    if not paths:
        raise BenchmarkInputError(f"{cases_dir}: no phenopacket (*.json) files")
    if not Path(background_path).is_file():
        raise BenchmarkInputError(f"{background_path}: background VCF not found")
    if sample:
        paths = sorted(random.Random(seed).sample(paths, min(sample, len(paths))))
    started = time.perf_counter()
    background = load_background(Path(background_path))
    sources = annotation_sources("GRCh38", True)
    work_dir.mkdir(parents=True, exist_ok=True)
    prepared: list[tuple[Any, CaseTruth]] = []
    skipped: list[dict[str, str]] = []
    for path in paths:
        try:
            truth = case_truth(path, sources)
            case = prepare_case(path, background, work_dir, seed=seed)
        except ValueError as exc:
            skipped.append({"case_id": path.name.removesuffix(".json"), "reason": str(exc)})
            continue
        prepared.append((case, truth))
    records: list[dict[str, Any]] = []
    runs = [("clinvar", True)] + ([("no_clinvar", False)] if without_clinvar else [])
    for case, truth in prepared:
        record: dict[str, Any] = {
            "case_id": truth.case_id,
            "hgnc_ids": sorted(truth.hgnc_ids),
            "genes": sorted(truth.symbols),
            "zygosity": truth.zygosity,
            "variant_class": truth.variant_class,
            "disease_id": truth.disease_id,
            "publication_is_annotation_source": truth.publication_is_annotation_source,
        }
        for name, clinvar in runs:
            t0 = time.perf_counter()
            try:
                result = analyse_case(case.phenopacket_path, case.vcf_path, clinvar=clinvar, limit=None)
            except RareInputError as exc:
                record[f"{name}_error"] = str(exc)
                record[f"rank_{name}"] = None
                continue
            record[f"seconds_{name}"] = round(time.perf_counter() - t0, 3)
            record[f"rank_{name}"] = causal_rank(result, truth)
            if name == "clinvar":
                record["top5"] = [g["gene"] for g in result["genes"][:5]]
                record["terms_newer_than_release"] = result["case"]["terms_newer_than_release"]
        records.append(record)
        if progress:
            progress(f"{truth.case_id}: rank {record['rank_clinvar']} ({record.get('seconds_clinvar')} s)")
    if shuffled_control and len(prepared) > 1:
        shuffled = _shuffled_features([c.phenopacket_path for c, _ in prepared], seed)
        for (case, truth), record in zip(prepared, records, strict=True):
            document = json.loads(case.phenopacket_path.read_text(encoding="utf-8"))
            document["phenotypicFeatures"] = shuffled[case.phenopacket_path]
            control = case.phenopacket_path.with_name(f"{truth.case_id}.shuffled.json")
            control.write_text(json.dumps(document), encoding="utf-8")
            try:
                result = analyse_case(control, case.vcf_path, clinvar=True, limit=None)
                record["rank_shuffled_hpo"] = causal_rank(result, truth)
            except RareInputError as exc:
                record["rank_shuffled_hpo"] = None
                record["shuffled_error"] = str(exc)
    fresh = measure_fresh_processes([c for c, _ in prepared[:fresh_processes]], work_dir, progress)
    for case, _ in prepared:
        case.vcf_path.unlink(missing_ok=True)
    ranks = [r["rank_clinvar"] for r in records]
    seconds = [r["seconds_clinvar"] for r in records if "seconds_clinvar" in r]
    out: dict[str, Any] = summarise(ranks, seconds)
    out["peak_rss_mb"] = _peak_rss_mb()
    out["skipped"] = skipped
    out["wall_seconds"] = round(time.perf_counter() - started, 1)
    breakdown: dict[str, Any] = {}
    if without_clinvar:
        breakdown["without_clinvar"] = summarise(
            [r["rank_no_clinvar"] for r in records],
            [r["seconds_no_clinvar"] for r in records if "seconds_no_clinvar" in r],
        )
    if shuffled_control and len(prepared) > 1:
        breakdown["shuffled_hpo_control"] = summarise([r.get("rank_shuffled_hpo") for r in records])
    for key in ("zygosity", "variant_class", "publication_is_annotation_source"):
        groups: dict[str, list[int | None]] = defaultdict(list)
        for r in records:
            groups[str(r[key])].append(r["rank_clinvar"])
        breakdown[f"by_{key}"] = {k: summarise(v) for k, v in sorted(groups.items())}
    out["breakdown"] = breakdown
    if fresh:
        out["fresh_process"] = fresh
    out["cases"] = records
    return out


#: Runs a command and prints its exit code, CPU seconds, peak RSS (kB) and wall seconds. Linux gives a process the
#: peak RSS of the memory image it was exec'd from, so a command started by the benchmark itself (hundreds of MB)
#: would report the benchmark's peak; started from this small launcher, it reports its own.
_LAUNCHER = """import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss, wall]))
"""


def measure_fresh_processes(
    cases: Sequence[Any], work_dir: Path, progress: Callable[[str], None] | None = None
) -> dict[str, Any] | None:
    """Runs each case as a fresh `gmc interpret rare` process; wall, CPU (user + system) and peak RSS of each."""
    import subprocess
    import sys

    runs = []
    for case in cases:
        out = Path(work_dir) / f"{case.phenopacket_path.stem}.fresh.json"
        command = [sys.executable, "-m", "gmc.cli", "interpret", "rare", "--phenopacket", str(case.phenopacket_path),
                   "--vcf", str(case.vcf_path), "--out", str(out)]
        launched = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True,
                                  check=False)
        try:
            code, cpu, rss_kb, wall = json.loads(launched.stdout)
        except ValueError:
            code, cpu, rss_kb, wall = launched.returncode or 1, 0.0, 0, 0.0
        if code != 0:
            raise BenchmarkInputError(
                f"fresh `gmc interpret rare` on {case.phenopacket_path} failed: {launched.stderr[-500:]}"
            )
        out.unlink(missing_ok=True)
        runs.append({"wall": wall, "cpu": cpu, "rss_mb": rss_kb / 1024})
        if progress:
            progress(f"fresh process {case.phenopacket_path.stem}: {wall:.2f} s wall, {runs[-1]['cpu']:.2f} s CPU, "
                     f"{runs[-1]['rss_mb']:.0f} MB")
    if not runs:
        return None
    return {
        "n_cases": len(runs),
        "median_wall_seconds": round(statistics.median(r["wall"] for r in runs), 3),
        "max_wall_seconds": round(max(r["wall"] for r in runs), 3),
        "median_cpu_seconds": round(statistics.median(r["cpu"] for r in runs), 3),
        "max_rss_mb": round(max(r["rss_mb"] for r in runs), 1),
    }


def write_benchmark(document: dict[str, Any], out_path: Path) -> None:
    """Writes OUT.json."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def clean_work_dir(work_dir: Path) -> None:
    """Removes the benchmark's prepared inputs."""
    shutil.rmtree(work_dir, ignore_errors=True)
