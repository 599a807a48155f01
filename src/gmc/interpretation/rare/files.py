"""Rare-disease analysis straight from files (Exomiser-style): phenopacket + VCF [+ PED] -> ranked RESULT.json.

The RESULT.json fields are described in one place, docs/rare_result.md.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gmc.interpretation.rare.inheritance import Call, Pedigree, PedigreeError, Sex
from gmc.interpretation.rare.panels import Panel, PanelFileError, PanelNotFound, get_panel, read_panelapp
from gmc.interpretation.rare.ranking import (
    RANKING_METHOD,
    CandidateVariant,
    GeneRank,
    hpo_gene_inheritance,
    modes_from_hpo_inheritance,
    pathogenicity_reason,
    rank_genes,
)

#: Annotation columns kept per allele in the process memo (what ranking and the explanation read).
MEMO_COLUMNS = (
    "gene",
    "hgnc_id",
    "transcript",
    "consequence",
    "hgvs_c",
    "hgvs_p",
    "hgvs_note",
    "clinvar",
    "clinvar_significance",
    "gnomad_af",
    "af_source",
    "nmd_escape",
    "loeuf",
    "pli",
)
_MEMO_LIMIT = 2_000_000


class RareInputError(ValueError):
    """A file handed to the rare-disease analysis is unusable; the message names the file and the problem."""


@dataclass(frozen=True)
class CasePhenotype:
    """What the analysis takes from a phenopacket: the subject and the observed and excluded HPO terms."""

    subject_id: str
    sex: Sex
    observed: tuple[str, ...]
    excluded: tuple[str, ...]


def read_case_phenotype(phenopacket_path: Path) -> CasePhenotype:
    """Reads only the subject and phenotypic features of a phenopacket (diagnoses are never looked at)."""
    from gmc.phenotype.phenopackets import read_phenopacket, subject_and_features_only

    try:
        data = subject_and_features_only(read_phenopacket(Path(phenopacket_path)))
    except (OSError, ValueError) as exc:
        raise RareInputError(f"{phenopacket_path}: not a readable phenopacket: {exc}") from exc
    observed = tuple(dict.fromkeys(f.type.id for f in data.phenotypic_features if not f.excluded))
    excluded = tuple(dict.fromkeys(f.type.id for f in data.phenotypic_features if f.excluded))
    if not observed:
        raise RareInputError(f"{phenopacket_path}: no observed phenotypic feature to rank genes by")
    sex_text = str(getattr(data.subject, "sex", "") or "").upper()
    sex = {"MALE": Sex.MALE, "FEMALE": Sex.FEMALE}.get(sex_text, Sex.UNKNOWN)
    subject_id = getattr(data.subject, "id", "") or data.id
    return CasePhenotype(subject_id, sex, observed, excluded)


@lru_cache(maxsize=1)
def _newer_release_ids() -> frozenset[str]:
    """Ids (primary and alternative) of the newest HPO release in refdata, to tell new terms from typos."""
    hpo_dir = _refdata_dir() / "hpo"
    releases = sorted(hpo_dir.glob("hp_*.obo.gz"))
    ids: set[str] = set()
    if releases:
        pattern = re.compile(r"^(?:id|alt_id): (HP:\d{7})")
        with gzip.open(releases[-1], "rt", encoding="utf-8") as handle:
            for line in handle:
                match = pattern.match(line)
                if match:
                    ids.add(match.group(1))
    return frozenset(ids)


def _refdata_dir() -> Path:
    from gmc.settings import get_settings

    return Path(get_settings().refdata_dir())


def check_terms(terms: Sequence[str], where: str) -> tuple[list[str], list[str]]:
    """Splits HPO ids into those the scoring release knows and those only a newer release has.

    An id that no release in refdata knows (a typo, a made-up id) raises RareInputError naming it.
    """
    from gmc.phenotype.ontology import UnknownTermError, get_ontology

    ontology = get_ontology()
    known: list[str] = []
    newer: list[str] = []
    for term in terms:
        try:
            ontology.current_id(term)
        except UnknownTermError as exc:
            if term in _newer_release_ids():
                # A real term added after the scoring release: it cannot be scored, and is reported back.
                newer.append(term)
                continue
            raise RareInputError(f"{where}: HPO term {term!r} does not exist ({exc})") from exc
        known.append(term)
    return known, newer


def load_panels(names: Sequence[str]) -> list[Panel]:
    """Loads the named PanelApp panels (id or exact name) from refdata; a missing one raises RareInputError."""
    if not names:
        return []
    try:
        panels = panelapp_panels()
        return [get_panel(panels, name) for name in names]
    except (PanelNotFound, PanelFileError) as exc:
        raise RareInputError(f"panel: {exc}") from exc


def panelapp_panels() -> dict[str, Panel]:
    """The refdata PanelApp panels, from the on-disk index (rebuilt when the export changes)."""
    from gmc.interpretation.rare.panels import PANELAPP_CORE, PANELAPP_NAMES
    from gmc.interpretation.rare.refindex import cached_index

    directory = _refdata_dir() / "panelapp"
    sources = [p for p in (directory / PANELAPP_CORE, directory / PANELAPP_NAMES) if p.exists()]
    if not sources:
        return read_panelapp()  # names the missing file
    return cached_index("panelapp", sources, read_panelapp)


_ANNOTATION_MEMO: dict[tuple[Any, ...], dict[tuple[str, int, str, str], tuple[Any, ...]]] = {}


def _sources_key(sources: Any) -> tuple[Any, ...]:
    return tuple(sorted(sources.provenance().items()))


def annotate_alleles_memo(batch: Any, sources: Any) -> list[tuple[Any, ...]]:
    """Annotates a VCF batch's alleles, reusing earlier results of this process for the same allele and sources.

    The memo is keyed by the allele itself (chrom, pos, ref, alt) and the annotation sources' provenance, so it
    gives exactly what annotating afresh gives; any run of several cases in one process (web app, API, the
    benchmark) hits it alike.
    """
    from gmc.genomics.annotation.annotate import annotate_alleles

    memo = _ANNOTATION_MEMO.setdefault(_sources_key(sources), {})
    keys = list(zip(batch.chrom.tolist(), batch.pos.tolist(), batch.ref.tolist(), batch.alt.tolist(), strict=True))
    missing = [i for i, key in enumerate(keys) if key not in memo]
    if missing:
        if len(memo) + len(missing) > _MEMO_LIMIT:
            memo.clear()
        index = np.asarray(missing, dtype=np.int64)
        info = {k: v[index] for k, v in batch.info.items()}
        table = annotate_alleles(
            batch.chrom[index], batch.pos[index], batch.ref[index], batch.alt[index], sources, info=info
        )
        columns = [table.column(name).to_pylist() for name in MEMO_COLUMNS]
        for j, i in enumerate(missing):
            memo[keys[i]] = tuple(column[j] for column in columns)
    return [memo[key] for key in keys]


def _missense_z_lookup(sources: Any) -> Any:
    """transcript name -> gnomAD missense Z of its gene (None when unknown), memoised for one VCF."""
    memo: dict[str | None, float | None] = {}
    by_name = sources.transcripts.by_name

    def lookup(transcript: str | None) -> float | None:
        if transcript not in memo:
            model = by_name.get(transcript) if transcript else None
            constraint = sources.genes.constraint_of(model.gene_id) if model is not None else None
            memo[transcript] = constraint.mis_z if constraint is not None else None
        return memo[transcript]

    return lookup


@lru_cache(maxsize=64)
def _call(genotype: int, ploidy: int) -> Call:
    """One shared (immutable) Call per genotype and ploidy: tens of thousands of calls, a handful of values."""
    return Call(genotype, ploidy if ploidy > 0 else 2)


def read_candidates(
    vcf_path: Path, sources: Any, *, build: str, members: frozenset[str] | None = None
) -> tuple[list[CandidateVariant], list[str], dict[str, dict[str, Any]]]:
    """Reads and annotates a VCF; returns gene candidates, the VCF's samples and each candidate's annotation."""
    from gmc.genomics.vcf import VcfFormatError, open_vcf

    candidates: list[CandidateVariant] = []
    annotation: dict[str, dict[str, Any]] = {}
    missense_z = _missense_z_lookup(sources)
    try:
        reader = open_vcf(vcf_path, build=build)
    except VcfFormatError as exc:
        raise RareInputError(f"{vcf_path}: {exc}") from exc
    except OSError as exc:
        raise RareInputError(f"{vcf_path}: cannot read: {exc}") from exc
    try:
        samples = list(reader.samples)
        if not samples:
            raise RareInputError(f"{vcf_path}: the VCF has no sample columns")
        wanted = [j for j, s in enumerate(samples) if members is None or s in members]
        gene_at = MEMO_COLUMNS.index("gene")
        try:
            batches = list(reader.batches(50_000))
        except VcfFormatError as exc:
            raise RareInputError(f"{vcf_path}: {exc}") from exc
        for batch in batches:
            rows = annotate_alleles_memo(batch, sources)
            gt, ploidy, phase_set, haplotype = batch.gt, batch.ploidy, batch.phase_set, batch.haplotype
            carried = (gt[:, wanted] > 0).any(axis=1) if wanted else np.zeros(len(batch), bool)
            for i, row in enumerate(rows):
                if not row[gene_at] or not carried[i]:
                    continue
                chrom, pos, ref, alt = str(batch.chrom[i]), int(batch.pos[i]), str(batch.ref[i]), str(batch.alt[i])
                variant_id = f"{chrom}:{pos}:{ref}:{alt}"
                if variant_id in annotation:
                    continue
                values = dict(zip(MEMO_COLUMNS, row, strict=True))
                values["mis_z"] = missense_z(values["transcript"])
                annotation[variant_id] = values
                calls = {
                    samples[j]: _call(int(gt[i, j]), int(ploidy[i, j]))
                    if phase_set is None or phase_set[i, j] < 0
                    # read-backed phase (GT with "|", PS): decides the cis/trans of compound heterozygous pairs
                    else Call(int(gt[i, j]), int(ploidy[i, j]), int(phase_set[i, j]), int(haplotype[i, j]))
                    for j in wanted
                }
                candidates.append(
                    CandidateVariant(
                        variant_id,
                        chrom,
                        pos,
                        ref,
                        alt,
                        values["gene"],
                        calls,
                        frozenset(t for t in (values["consequence"] or "").split("&") if t),
                        values["hgnc_id"] or None,
                        values["hgvs_p"] or None,
                        values["clinvar_significance"] or None,
                        values["gnomad_af"],
                        None,
                        values["nmd_escape"],
                        values["loeuf"],
                        values["hgvs_c"] or None,
                        values["mis_z"],
                    )
                )
    finally:
        reader.close()
    return candidates, samples, annotation


def _pedigree(ped_path: Path | None, samples: Sequence[str], phenotype: CasePhenotype, vcf_path: Path) -> Pedigree:
    """The family to segregate in: the PED file's (proband = the phenopacket subject when present), else a singleton."""
    if ped_path is None:
        proband = phenotype.subject_id if phenotype.subject_id in samples else samples[0]
        return Pedigree.singleton(proband, phenotype.sex)
    from gmc.interpretation.rare.inheritance import pedigree_from_ped
    from gmc.phenotype.pedigree import read_ped

    try:
        ped = read_ped(Path(ped_path))
        ids = {p.individual_id for p in ped.individuals}
        proband = phenotype.subject_id if phenotype.subject_id in ids else None
        pedigree = pedigree_from_ped(ped, proband_id=proband)
    except (PedigreeError, ValueError) as exc:
        raise RareInputError(f"{ped_path}: {exc}") from exc
    in_vcf = [p.individual_id for p in pedigree.individuals if p.individual_id in samples]
    if not in_vcf:
        raise RareInputError(f"{ped_path}: no individual of the PED file is a sample of {vcf_path}")
    return pedigree


#: Share of heterozygous chrX (non-PAR) calls above which a sample is not male, and below which not female.
MALE_MAX_X_HET = 0.25
FEMALE_MIN_X_HET = 0.05
#: chrX calls a sample needs before its sex is judged.
SEX_CHECK_MIN_CALLS = 20


def check_sexes(
    candidates: Sequence[CandidateVariant], pedigree: Pedigree, build: str, ped_path: Path, vcf_path: Path
) -> None:
    """Refuses a PED whose sexes the VCF contradicts: a male heterozygous at most chrX sites, or a female at none."""
    from gmc.interpretation.rare.inheritance import _chrom_kind

    counts: dict[str, list[int]] = {p.individual_id: [0, 0] for p in pedigree.individuals}
    for candidate in candidates:
        if _chrom_kind(candidate.chrom, candidate.pos, build) != "x":
            continue
        for sample, call in candidate.calls.items():
            if sample in counts and call.genotype > 0:
                counts[sample][0] += 1
                counts[sample][1] += call.genotype == 1 and call.ploidy == 2
    for person in pedigree.individuals:
        calls, het = counts[person.individual_id]
        if calls < SEX_CHECK_MIN_CALLS:
            continue
        share = het / calls
        if person.sex == Sex.MALE and share > MALE_MAX_X_HET:
            raise RareInputError(
                f"{ped_path}: {person.individual_id} is male in the PED file, but {vcf_path} calls "
                f"{het} of {calls} chrX variants heterozygous ({share:.0%}): the sexes contradict"
            )
        if person.sex == Sex.FEMALE and share < FEMALE_MIN_X_HET:
            raise RareInputError(
                f"{ped_path}: {person.individual_id} is female in the PED file, but {vcf_path} calls "
                f"{het} of {calls} chrX variants heterozygous ({share:.0%}): the sexes contradict"
            )


def annotation_sources(build: str, clinvar: bool = True) -> Any:
    """The deployment's annotation sources for a build: its genome FASTA (GMC_REFERENCE_FASTA, else the one in
    reference data; none when set to "none") and the configured frequency files."""
    from gmc.settings import get_settings

    settings = get_settings()
    fasta = settings.genome_fasta(build)
    frequency_files = tuple(f.strip() for f in (settings.frequency_files or "").split(",") if f.strip())
    return _loaded_sources(build, clinvar, str(fasta) if fasta else None, frequency_files)


@lru_cache(maxsize=4)
def _loaded_sources(build: str, clinvar: bool, fasta: str | None, frequency_files: tuple[str, ...]) -> Any:
    # Keyed by the configuration too, so a changed FASTA or frequency setting is never answered from stale sources.
    # Transcript models, ClinVar and gene knowledge come from on-disk indexes keyed by their files' checksums
    # (refindex): a fresh process unpickles them instead of parsing the text files again.
    from gmc.genomics.annotation.annotate import CLINVAR_FILES, AnnotationSources, load_sources
    from gmc.genomics.annotation.clinvar import load_clinvar
    from gmc.genomics.annotation.frequencies import SitesFrequencies
    from gmc.genomics.annotation.genes import CLINGEN_FILE, CONSTRAINT_FILE, load_gene_knowledge
    from gmc.genomics.annotation.sequence import load_reference
    from gmc.genomics.annotation.transcripts import _MODEL_FILES, load_transcripts
    from gmc.interpretation.rare.refindex import cached_index
    from gmc.settings import get_settings

    settings = get_settings()
    if (build, "mane") not in _MODEL_FILES:
        return load_sources(build, fasta=fasta, frequency_files=list(frequency_files), clinvar=clinvar)
    models = settings.refdata_path(*_MODEL_FILES[(build, "mane")])
    summary = settings.refdata_path("grch38", "MANE.GRCh38.v1.5.summary.txt.gz")
    knowledge = [settings.refdata_path(*CONSTRAINT_FILE), settings.refdata_path(*CLINGEN_FILE)]

    def build_models() -> tuple[Any, Any, Any]:
        # The flat transcript arrays of the vectorised annotation path are built here once and kept with them.
        built = AnnotationSources(transcripts=load_transcripts(build, "mane"), genes=load_gene_knowledge())
        return built.transcripts, built.genes, built.arrays

    transcripts, genes, arrays = cached_index(f"transcripts-{build}", [models, summary, *knowledge], build_models)
    clinvar_index = None
    if clinvar and build in CLINVAR_FILES:
        path = settings.refdata_path(*CLINVAR_FILES[build])
        clinvar_index = cached_index(f"clinvar-{build}", [path], lambda: load_clinvar(str(path)))
    sources = AnnotationSources(
        transcripts=transcripts,
        genes=genes,
        genome=load_reference(fasta, build) if fasta else None,
        clinvar=clinvar_index,
        frequency_files=[SitesFrequencies(p, build=build) for p in frequency_files],
    )
    sources.__dict__["arrays"] = arrays  # the cached_property's value, from the index
    return sources


def analyse_case(
    phenopacket_path: Path,
    vcf_path: Path,
    *,
    ped_path: Path | None = None,
    panels: Sequence[str] = (),
    build: str = "GRCh38",
    clinvar: bool = True,
    limit: int | None = 100,
    sources: Any = None,
    disease_level: bool = False,
) -> dict[str, Any]:
    """Runs the whole file-based analysis and returns the RESULT.json document (nothing is written).

    disease_level pairs each disease with the variants fitting its own mode of inheritance (off by default:
    on the tuning half of the benchmark it did not rank better than the gene's best disease, docs/bench/rare.md).
    """
    from gmc.genomics.vcf import normalise_build
    from gmc.phenotype.ontology import get_ontology

    started = time.perf_counter()
    try:
        build = normalise_build(build)
    except ValueError as exc:
        raise RareInputError(f"build: {exc}") from exc
    phenotype = read_case_phenotype(Path(phenopacket_path))
    observed, newer_observed = check_terms(phenotype.observed, f"{phenopacket_path} phenotypicFeatures")
    excluded, newer_excluded = check_terms(phenotype.excluded, f"{phenopacket_path} phenotypicFeatures (excluded)")
    if not observed:
        raise RareInputError(f"{phenopacket_path}: none of the observed terms is in the scoring HPO release")
    applied = load_panels(panels)
    if sources is None:
        sources = annotation_sources(build, clinvar)
    elif not clinvar and sources.clinvar is not None:
        sources = replace(sources, clinvar=None)
    candidates, samples, annotation = read_candidates(Path(vcf_path), sources, build=build)
    pedigree = _pedigree(ped_path, samples, phenotype, Path(vcf_path))
    members = frozenset(p.individual_id for p in pedigree.individuals)
    if not set(samples) <= members:
        candidates = [replace(c, calls={k: v for k, v in c.calls.items() if k in members}) for c in candidates]
    if pedigree.proband.individual_id not in samples:
        raise RareInputError(f"{vcf_path}: the proband {pedigree.proband.individual_id} is not a sample of the VCF")
    if ped_path is not None:
        check_sexes(candidates, pedigree, build, ped_path, vcf_path)
    interpreted = interpret_candidates(
        candidates, annotation, pedigree, observed, excluded, applied, sources,
        build=build, limit=limit, disease_level=disease_level,
    )
    ontology = get_ontology()
    result = {
        "case": {
            "phenopacket": str(phenopacket_path),
            "vcf": str(vcf_path),
            "ped": str(ped_path) if ped_path else None,
            "proband": pedigree.proband.individual_id,
            "observed_terms": observed,
            "excluded_terms": excluded,
            "terms_newer_than_release": newer_observed + newer_excluded,
            "panels": [f"{p.name} (v{p.version})" for p in applied],
            "variants_weighed": len(candidates),
        },
        "genes": interpreted["genes"],
        "provenance": {
            **sources.provenance(),
            "hpo": ontology.release if hasattr(ontology, "release") else ontology.data_version,
            "ranking": RANKING_METHOD,
            "acmg": interpreted["acmg"],
            "seconds": round(time.perf_counter() - started, 3),
        },
    }
    return result


def interpret_candidates(
    candidates: Sequence[CandidateVariant],
    annotation: Mapping[str, Mapping[str, Any]],
    pedigree: Pedigree,
    observed: Sequence[str],
    excluded: Sequence[str],
    panels: Sequence[Panel],
    sources: Any,
    *,
    build: str,
    limit: int | None = 100,
    disease_level: bool = False,
) -> dict[str, Any]:
    """Ranks a case's annotated candidates, tiers them and classifies the leading genes' variants (ACMG).

    The one path of `gmc interpret rare`, the database service and the benchmark: returns the RESULT.json
    gene entries (``genes``) and what the ACMG classification rested on (``acmg``).
    """
    from gmc.interpretation.rare.evidence import classify_leading_genes
    from gmc.interpretation.rare.scores import ScoreFileError, configured_score_files
    from gmc.phenotype.ontology import get_ontology
    from gmc.phenotype.similarity import get_similarity_index

    matches, phenotype_scores = gene_phenotype_scores(observed, excluded)
    disease_matches: dict[str, Any] = {}
    disease_phenotypes = None
    if disease_level:
        disease_matches = {
            d.disease_id: d
            for d in get_similarity_index().score_diseases(observed, excluded, None, True, PATIENT_WEIGHT)
        }
        disease_evidence = phenotype_evidence({k: d.score for k, d in disease_matches.items()})
        disease_phenotypes = {
            gene: [(disease_evidence.get(did, 0.0), modes, did) for did, modes in diseases]
            for gene, diseases in gene_diseases().items()
        }
    inheritance = hpo_gene_inheritance()
    genes = rank_genes(
        candidates, pedigree, phenotype_scores, panels=panels, build=build, limit=limit,
        gene_inheritance=inheritance, disease_phenotypes=disease_phenotypes,
    )
    by_symbol = {m.symbol: m for m in matches.values()}
    by_variant = {c.variant_id: c for c in candidates}
    ontology = get_ontology()
    entries = [
        _gene_entry(g, disease_matches.get(g.disease_id or "") or matches.get(g.hgnc_id or "")
                    or by_symbol.get(g.gene_symbol), annotation, by_variant, pedigree, ontology)
        for g in genes
    ]
    try:
        score_files = configured_score_files(build)
    except ScoreFileError as exc:
        raise RareInputError(str(exc)) from exc
    acmg = classify_leading_genes(
        genes, entries, by_variant, annotation, pedigree, sources, build=build, gene_inheritance=inheritance,
        score_files=score_files,
    )
    return {"genes": entries, "acmg": acmg}


@lru_cache(maxsize=1)
def gene_diseases() -> dict[str, list[tuple[str, frozenset[Any]]]]:
    """Each HPO-annotated gene's diseases with their modes of inheritance, keyed by HGNC id and by symbol."""
    from gmc.phenotype.annotations import get_annotations

    annotations = get_annotations()
    out: dict[str, list[tuple[str, frozenset[Any]]]] = {}
    for hgnc_id, gene in annotations.genes.items():
        diseases = [
            (did, modes_from_hpo_inheritance(annotations.diseases[did].inheritance_terms))
            for did in gene.disease_ids
            if did in annotations.diseases
        ]
        if diseases:
            out[hgnc_id] = diseases
            out.setdefault(gene.symbol, diseases)
    return out


#: Weight of the patient side of the phenotype similarity (``gmc.phenotype.similarity``) in ranking.
PATIENT_WEIGHT = 0.75


#: Weight of PanelApp/ClinVar phenotype evidence (genes without HPO annotation) against HPO's. On the tuning half
#: of the benchmark 0.5 ranks exactly as no such evidence does and 0.75 a little worse (docs/bench/rare.md, rare
#: round 2): the evidence is for patients whose gene HPO does not yet annotate, and it is named in the explanation.
PROFILE_EVIDENCE_WEIGHT = 0.5


def gene_phenotype_scores(
    observed: Sequence[str], excluded: Sequence[str], *, other_sources: bool = True
) -> tuple[dict[str, Any], dict[str, float]]:
    """Each gene's phenotype match and its calibrated evidence (by HGNC id and symbol).

    The similarity weighs the patient side 3/4: a patient shows only some of a disease's features (the more so
    the younger), so a disease that explains the patient's findings is not held back much by its own features the
    patient lacks. Chosen on the tuning half of the benchmark and checked on the held-out half (docs/bench/rare.md).
    Genes without an HPO annotation are scored by their PanelApp panels and ClinVar conditions
    (``phenotype_sources``; other_sources=False leaves them out), calibrated against the HPO-annotated genes'
    scores for the same profile and weighed by ``PROFILE_EVIDENCE_WEIGHT``.
    """
    from gmc.interpretation.rare.phenotype_sources import gene_profiles, score_profiles
    from gmc.phenotype.similarity import get_similarity_index

    index = get_similarity_index()
    matches: dict[str, Any] = dict(index.score_genes(observed, excluded, None, True, PATIENT_WEIGHT))
    raw = {hgnc: m.score for hgnc, m in matches.items()}
    scores = phenotype_evidence(raw)
    for match in list(matches.values()):
        scores.setdefault(match.symbol, scores[match.hgnc_id])
    if other_sources and raw:
        annotated = {m.symbol for m in matches.values()}
        profiles = {g: p for g, p in gene_profiles().items() if g not in annotated}
        wanted = {p.disease_id for ps in profiles.values() for p in ps if p.disease_id}
        diseases = {
            d.disease_id: d for d in index.score_diseases(observed, excluded, None, True, PATIENT_WEIGHT, wanted)
        }
        extra = score_profiles(observed, profiles, index, PATIENT_WEIGHT, disease_matches=diseases)
        order = np.sort(np.asarray(list(raw.values()), dtype=float))
        for symbol, match in extra.items():
            value = min(max(match.score, 0.0), 1.0)
            share = float(np.searchsorted(order, match.score, side="left")) / len(order)
            scores[symbol] = PROFILE_EVIDENCE_WEIGHT * value * share
            matches[symbol] = match
    return matches, scores


def phenotype_evidence(scores: Mapping[str, float]) -> dict[str, float]:
    """Calibrates raw gene similarity scores against this patient's scores for every annotated gene.

    A raw similarity means little alone: a long, generic profile matches many genes fairly well. Each gene's
    evidence is the raw score times the share of annotated genes it beats (its empirical percentile among all
    genes for this profile), so only a match that stands out from what a random gene reaches counts fully.
    """
    if not scores:
        return {}
    keys = list(scores)
    values = np.asarray([scores[k] for k in keys], dtype=float)
    order = np.sort(values)
    below = np.searchsorted(order, values, side="left") / len(values)
    clipped = np.clip(values, 0.0, 1.0)
    return {k: float(clipped[i] * below[i]) for i, k in enumerate(keys)}


def _gene_entry(
    gene: GeneRank,
    match: Any,
    annotation: Mapping[str, Mapping[str, Any]],
    candidates: Mapping[str, CandidateVariant],
    pedigree: Pedigree,
    ontology: Any,
) -> dict[str, Any]:
    """One ranked gene as RESULT.json writes it."""
    proband = pedigree.proband.individual_id
    variants = []
    for variant_id in gene.variant_ids:
        values = annotation[variant_id]
        candidate = candidates[variant_id]
        call = candidate.calls.get(proband)
        genotype = {0: "hom_ref", 1: "het", 2: "hom_alt"}.get(call.genotype if call else -1, "missing")
        if call and call.genotype == 2 and call.ploidy == 1:
            genotype = "hemizygous"
        variants.append(
            {
                "variant": variant_id,
                "chrom": candidate.chrom,
                "pos": candidate.pos,
                "ref": candidate.ref,
                "alt": candidate.alt,
                "genotype": genotype,
                "transcript": values["transcript"],
                "consequence": values["consequence"],
                "hgvs_c": values["hgvs_c"],
                "hgvs_p": values["hgvs_p"],
                "hgvs_note": values["hgvs_note"],
                "why": pathogenicity_reason(candidate),
                "clinvar": clinvar_record(values["clinvar"]),
                "evidence": {
                    "clinvar": values["clinvar"],
                    "population_af": values["gnomad_af"],
                    "af_source": values["af_source"],
                    "loeuf": values["loeuf"],
                    "pli": values["pli"],
                    "missense_z": values.get("mis_z"),
                    "nmd_escape": values["nmd_escape"],
                },
            }
        )
    phenotype: dict[str, Any] = {"score": gene.phenotype_score, "source": None}
    if match is not None:
        source = getattr(match, "source", None)
        phenotype["source"] = f"{source}: {match.label}" if source else f"HPO {hpo_release()}"
        phenotype.update(
            similarity=round(match.score, 4),
            disease_id=getattr(match, "disease_id", None),
            disease=getattr(match, "disease_name", None),
            matched_terms=[
                {
                    "patient_term": p.patient_term,
                    "patient_label": _label(ontology, p.patient_term),
                    "disease_term": p.disease_term,
                    "common_ancestor": p.mica_term,
                    "common_ancestor_label": _label(ontology, p.mica_term),
                    "ic": round(p.ic, 3),
                }
                for p in match.matched_pairs
                if p.ic > 0
            ],
            conflicting_terms=[
                {
                    "patient_term": c.patient_term,
                    "patient_label": _label(ontology, c.patient_term),
                    "disease_term": c.disease_term,
                    "disease_label": _label(ontology, c.disease_term),
                    "kind": c.kind,
                }
                for c in getattr(match, "contradictions", ())
            ],
        )
    return {
        "rank": gene.rank,
        "gene": gene.gene_symbol,
        "hgnc_id": gene.hgnc_id,
        "score": gene.combined_score,
        "tier": gene.tier,
        "mode": gene.mode_label or gene.mode.value,
        "inheritance": gene.inheritance,
        "variant_score": gene.variant_score,
        "phenotype_score": gene.phenotype_score,
        "variants": variants,
        "explanation": {"summary": "; ".join(gene.reasons), "phenotype": phenotype},
    }


def clinvar_record(text: str | None) -> dict[str, Any] | None:
    """The annotation's ClinVar field ("significance|review status|variation id") as an accession a scientist
    can look up, with its review status and stars; None when the allele is not in ClinVar."""
    from gmc.genomics.annotation.clinvar import REVIEW_STARS

    if not text:
        return None
    significance, _, rest = text.partition("|")
    review, _, variation = rest.partition("|")
    accession = f"VCV{int(variation):09d}" if variation.isdigit() else None
    return {
        "accession": accession,
        "variation_id": variation or None,
        "significance": significance.replace("_", " "),
        "review_status": review.replace("_", " ").replace(" ,", ","),
        "stars": REVIEW_STARS.get(review, 0),
    }


def hpo_release() -> str:
    """The HPO release phenotype scores come from (recorded in every result)."""
    from gmc.phenotype.ontology import get_ontology

    return get_ontology().release


def _label(ontology: Any, term_id: str) -> str:
    try:
        return ontology.get(term_id).name
    except (KeyError, ValueError):
        return ""


def write_result(result: Mapping[str, Any], out_path: Path) -> None:
    """Writes RESULT.json atomically (a temporary file renamed), so a failed run leaves no partial file."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".result-", suffix=".json", dir=out_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(result, stream, indent=1)
        os.replace(temporary, out_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def interpret_files(
    phenopacket_path: Path,
    vcf_path: Path,
    out_path: Path,
    *,
    ped_path: Path | None = None,
    panels: Sequence[str] = (),
    build: str = "GRCh38",
    clinvar: bool = True,
    limit: int | None = 100,
) -> dict[str, Any]:
    """`gmc interpret rare`: analyses the files and writes RESULT.json; on bad input raises and writes nothing."""
    result = analyse_case(
        phenopacket_path, vcf_path, ped_path=ped_path, panels=panels, build=build, clinvar=clinvar, limit=limit
    )
    write_result(result, out_path)
    return result
