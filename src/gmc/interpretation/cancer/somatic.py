"""Somatic interpretation pipeline: filter, match, tier, classify oncogenicity, TMB, and a RESULT document."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.lines import counted_ids, evidence_rows, statement_lines, therapy_lines
from gmc.interpretation.cancer.matching import EvidenceMatch, match_copy_number, match_fusion, match_variant
from gmc.interpretation.cancer.model import CopyNumberSegment, Fusion, GeneCopyNumber, SomaticVariant
from gmc.interpretation.cancer.oncogenicity import Oncogenicity, assess_oncogenicity
from gmc.interpretation.cancer.result import RESULT_SCHEMA_VERSION
from gmc.interpretation.cancer.tiers import TumourContext, assign_tier
from gmc.interpretation.cancer.tmb import CallableRegions, tumour_mutational_burden

SOFTWARE = "gmc.interpretation.cancer"
TIER_ORDER = {"I": 0, "II": 1, "III": 2, "IV": 3}


@dataclass(frozen=True)
class SomaticSettings:
    """Filters and thresholds of a somatic run (recorded in the result)."""

    #: Minimum tumour allele fraction and read depth of a reported variant (0 turns the filter off).
    min_tumour_vaf: float = 0.05
    min_tumour_depth: int = 10
    #: Maximum allele fraction in the matched normal (a higher one suggests germline or contamination).
    max_normal_vaf: float = 0.05
    #: Callable territory for TMB in Mb (None: from the callable BED or assay, else the assumed exome size), the
    #: assay it came from, and which variants count.
    tmb_territory_mb: float | None = None
    tmb_assay: str | None = None
    tmb_count_mode: str = "coding_and_silent"
    #: Copy-number calls: total copies >= n_copy_gain is an amplification, 0 a deletion; or log2 thresholds.
    #: List the untiered (silent/non-coding) variants in the result with their oncogenicity.
    list_unreported: bool = True
    n_copy_gain: int = 6
    log2_gain: float = 0.8
    log2_loss: float = -1.0


@dataclass
class Finding:
    """One reported alteration with its tier, oncogenicity, evidence and therapies."""

    kind: str
    chrom: str
    pos: int
    ref: str | None
    alt: str | None
    gene: str | None
    hgvs_c: str | None
    hgvs_p: str | None
    #: One-letter protein change (V600E), whatever notation the input used.
    protein_change: str | None
    consequences: list[str]
    tier: str | None
    amp_level: str | None
    tier_reason: str
    oncogenicity: dict[str, object] | None
    evidence: list[dict[str, object]]
    #: Ids of the evidence items that count towards the tier (every matched item is in `evidence`).
    evidence_ids: list[str]
    #: One line per therapy (combination kept whole) and direction; see result.TherapyLine.
    therapies: list[dict[str, object]]
    prognostic: list[dict[str, object]] = field(default_factory=list)
    diagnostic: list[dict[str, object]] = field(default_factory=list)
    tumour_vaf: float | None = None
    tumour_depth: int | None = None
    input_position: str | None = None
    alteration: str | None = None


def _brief(finding: Finding) -> dict[str, object]:
    """The short form of an unreported variant."""
    return {"chrom": finding.chrom, "pos": finding.pos, "ref": finding.ref, "alt": finding.alt,
            "gene": finding.gene, "hgvs_c": finding.hgvs_c, "hgvs_p": finding.hgvs_p,
            "consequences": finding.consequences, "tier": None, "tier_reason": finding.tier_reason,
            "oncogenicity": finding.oncogenicity}


def passes_filters(variant: SomaticVariant, settings: SomaticSettings) -> bool:
    """VAF/depth filters: tumour VAF and depth at least the minimum, normal VAF at most the maximum."""
    if settings.min_tumour_vaf > 0 and (variant.tumour_vaf is None or variant.tumour_vaf < settings.min_tumour_vaf):
        return False
    if settings.min_tumour_depth > 0 and (
            variant.tumour_depth is None or variant.tumour_depth < settings.min_tumour_depth):
        return False
    return not (variant.normal_vaf is not None and variant.normal_vaf > settings.max_normal_vaf)


def interpret_variant(kb: KnowledgeBase, variant: SomaticVariant, tumour_type: str,
                      tumour: TumourContext | None = None) -> Finding:
    """Matches, classifies and tiers one small variant."""
    matches = match_variant(kb, variant)
    oncogenicity: Oncogenicity = assess_oncogenicity(kb, variant, matches)
    call = assign_tier(kb, matches, tumour_type, oncogenicity=oncogenicity, gene=variant.gene, tumour=tumour,
                       protein_altering=variant.is_protein_altering or "coding_sequence_variant" in variant.consequences)
    return Finding(
        kind="snv_indel", chrom=variant.chrom, pos=variant.pos, ref=variant.ref, alt=variant.alt, gene=variant.gene,
        hgvs_c=variant.hgvs_c, hgvs_p=variant.hgvs_p,
        protein_change=variant.protein.short if variant.protein else None,
        consequences=list(variant.consequences), tier=call.tier,
        amp_level=call.amp_level, tier_reason=call.reason, oncogenicity=oncogenicity.as_dict(),
        evidence=evidence_rows(call, matches), evidence_ids=counted_ids(call), therapies=therapy_lines(kb, call),
        prognostic=statement_lines(call, "prognostic"), diagnostic=statement_lines(call, "diagnostic"),
        tumour_vaf=variant.tumour_vaf, tumour_depth=variant.tumour_depth,
        input_position=variant.input_pos,
    )


@lru_cache(maxsize=2)
def gene_spans(genepred: str) -> dict[str, tuple[str, int, int]]:
    """Gene -> (chrom, start, end) from a MANE genePred file (1-based, inclusive)."""
    spans: dict[str, tuple[str, int, int]] = {}
    with gzip.open(genepred, "rt", encoding="utf-8") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        chrom_i, start_i, end_i, gene_i = (header.index(c) for c in ("chrom", "txStart", "txEnd", "gene"))
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            spans.setdefault(fields[gene_i], (fields[chrom_i].removeprefix("chr"), int(fields[start_i]) + 1,
                                              int(fields[end_i])))
    return spans


def call_gene_copy_number(segments: list[CopyNumberSegment], spans: dict[str, tuple[str, int, int]],
                          genes: set[str], settings: SomaticSettings) -> list[GeneCopyNumber]:
    """Amplified or deleted genes among `genes`: a segment overlapping the gene crosses the threshold."""
    calls = []
    by_chrom: dict[str, list[CopyNumberSegment]] = {}
    for segment in segments:
        by_chrom.setdefault(segment.chrom, []).append(segment)
    for gene in sorted(genes):
        if gene not in spans:
            continue
        chrom, start, end = spans[gene]
        for segment in by_chrom.get(chrom, ()):
            if segment.end < start or segment.start > end:
                continue
            if segment.total_copies is not None:
                call = ("amplification" if segment.total_copies >= settings.n_copy_gain
                        else "deletion" if segment.total_copies == 0 else None)
            elif segment.log2_ratio is not None:
                call = ("amplification" if segment.log2_ratio >= settings.log2_gain
                        else "deletion" if segment.log2_ratio <= settings.log2_loss else None)
            else:
                call = None
            if call:
                calls.append(GeneCopyNumber(gene, chrom, segment.start, segment.end, call, segment.total_copies,
                                            segment.log2_ratio))
                break
    return calls


def _structural_finding(kb: KnowledgeBase, kind: str, chrom: str, pos: int, gene: str, alteration: str,
                        matches: list[EvidenceMatch], tumour: TumourContext) -> Finding | None:
    call = assign_tier(kb, matches, tumour.code, gene=gene, tumour=tumour)
    if call.tier not in {"I", "II"}:
        return None  # copy-number changes and fusions are reported when they carry clinical evidence
    return Finding(kind=kind, chrom=chrom, pos=pos, ref=None, alt=None, gene=gene, hgvs_c=None, hgvs_p=None,
                   protein_change=None, consequences=[], tier=call.tier, amp_level=call.amp_level,
                   tier_reason=call.reason, oncogenicity=None, evidence=evidence_rows(call, matches),
                   evidence_ids=counted_ids(call), therapies=therapy_lines(kb, call),
                   prognostic=statement_lines(call, "prognostic"), diagnostic=statement_lines(call, "diagnostic"),
                   alteration=alteration)


def file_checksum(path: str | Path) -> str:
    """sha256 of an input file, for provenance."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def interpret_somatic(
    kb: KnowledgeBase,
    variants: list[SomaticVariant],
    tumour_type: str,
    *,
    settings: SomaticSettings | None = None,
    segments: list[CopyNumberSegment] | None = None,
    fusions: list[Fusion] | None = None,
    gene_span_index: dict[str, tuple[str, int, int]] | None = None,
    inputs: dict[str, object] | None = None,
    annotation: str = "as supplied",
    callable_regions: CallableRegions | None = None,
) -> dict[str, object]:
    """Interprets annotated somatic variants (and CNA/fusions) for an OncoTree tumour type; returns the RESULT
    document described field by field in result.py (SomaticResult)."""
    settings = settings or SomaticSettings()
    tumour, retired_note = kb.oncotree.resolve(tumour_type)
    context = TumourContext.of(kb, tumour.code)
    kept = [variant for variant in variants if passes_filters(variant, settings)]
    findings = [interpret_variant(kb, variant, tumour.code, context) for variant in kept]
    unreported = [finding for finding in findings if finding.tier is None]
    findings = [finding for finding in findings if finding.tier is not None]
    structural: list[Finding] = []
    if segments:
        cna_genes = {gene for gene, items in kb.by_gene.items()
                     if any(i.biomarker.level in {"amplification", "deletion"} for i in items)}
        for call in call_gene_copy_number(segments, gene_span_index or {}, cna_genes, settings):
            finding = _structural_finding(kb, "copy_number", call.chrom, call.start, call.gene, call.call,
                                          match_copy_number(kb, call), context)
            if finding:
                structural.append(finding)
    for fusion in fusions or ():
        chrom, _, pos = fusion.breakpoint5.partition(":")
        finding = _structural_finding(kb, "fusion", chrom, int(pos) if pos.isdigit() else 0,
                                      f"{fusion.gene5}--{fusion.gene3}", "fusion", match_fusion(kb, fusion),
                                      context)
        if finding:
            structural.append(finding)
    findings.sort(key=lambda f: (TIER_ORDER.get(f.tier or "", 9), f.gene or "", f.chrom, f.pos))
    tmb = tumour_mutational_burden(kept, territory_mb=settings.tmb_territory_mb, count_mode=settings.tmb_count_mode,
                                   callable_regions=callable_regions, assay=settings.tmb_assay)
    structural.sort(key=lambda f: (TIER_ORDER.get(f.tier or "", 9), f.gene or ""))
    tiers = Counter(finding.tier for finding in findings)
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "tumour_type": {"code": tumour.code, "name": tumour.name, "lineage": kb.oncotree.ancestors(tumour.code),
                        "requested": tumour_type, "note": retired_note, "oncotree_release": kb.oncotree.release},
        "findings": [asdict(finding) for finding in findings],
        #: Variants that passed the filters but carry no tier (silent/non-coding without clinical evidence),
        #: kept with their oncogenicity so every input variant can be traced.
        "unreported_variants": [_brief(finding) for finding in unreported] if settings.list_unreported else [],
        #: Copy-number changes and fusions with clinical evidence (tiers I-II); oncogenicity does not apply.
        "structural_findings": [asdict(finding) for finding in structural],
        "tmb": tmb.as_dict(),
        "counts": {
            "input_variants": len(variants), "passed_filters": len(kept),
            "filtered_out": len(variants) - len(kept), "not_reported_noncoding_or_silent": len(unreported),
            "by_tier": {tier: tiers.get(tier, 0) for tier in ("I", "II", "III", "IV")},
            "structural_by_tier": dict(Counter(finding.tier for finding in structural)),
        },
        "settings": asdict(settings),
        "provenance": {
            "software": SOFTWARE, "version": _version(), "annotation": annotation,
            "schemes": ["AMP/ASCO/CAP 2017 (Li et al., J Mol Diagn 2017)",
                        "ClinGen/CGC/VICC oncogenicity 2022 (Horak et al., Genet Med 2022)"],
            "knowledge_base": kb.provenance(), "skipped_knowledge_records": dict(kb.skipped),
            "evidence_levels": "gmc.interpretation.cancer.levels.EVIDENCE_LEVELS", "inputs": inputs or {},
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gmc")
    except PackageNotFoundError:
        return "unknown"
