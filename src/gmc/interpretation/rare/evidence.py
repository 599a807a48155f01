"""ACMG evidence from the rest of the pipeline: ClinVar protein index via annotation, candidate -> VariantEvidence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gmc.interpretation.rare.acmg import ClinVarIndex, VariantEvidence, read_clinvar_index
from gmc.interpretation.rare.inheritance import Certainty, Mode, ModeCall
from gmc.interpretation.rare.panels import ModeOfInheritance
from gmc.interpretation.rare.ranking import CandidateVariant
from gmc.interpretation.rare.tiering import is_known_pathogenic

RECESSIVE_MOI = frozenset({ModeOfInheritance.AR, ModeOfInheritance.XLR})
DOMINANT_MOI = frozenset({ModeOfInheritance.AD, ModeOfInheritance.XLD, ModeOfInheritance.IMPRINTING})


def clinvar_protein_index(
    sources: Any, *, genes: Iterable[str] | None = None, clinvar_path: Path | None = None
) -> ClinVarIndex:
    """Builds the ClinVar index with protein changes from the annotation engine (restricted to genes when given).

    ``sources`` is a ``gmc.genomics.annotation.annotate.AnnotationSources``; protein changes need its genome
    FASTA, so without one the residue index stays empty and PS1/PM5 say so.
    """
    from gmc.genomics.annotation.annotate import CLINVAR_FILES, transcript_consequences
    from gmc.settings import get_settings

    wanted = {g.upper() for g in genes} if genes is not None else None
    path = clinvar_path or get_settings().refdata_path(*CLINVAR_FILES[sources.build])

    def protein_change_of(chrom: str, pos: int, ref: str, alt: str, gene: str) -> str | None:
        if wanted is not None and gene.upper() not in wanted:
            return None
        for consequence in transcript_consequences(chrom.removeprefix("chr"), pos, ref, alt, sources):
            # The ClinVar record's own gene, on its MANE transcript (most severe first).
            if consequence.gene.upper() == gene.upper() and consequence.hgvs_p:
                return consequence.hgvs_p
        return None

    return read_clinvar_index(Path(path), protein_change_of=protein_change_of)


def gene_inheritance_class(modes: Iterable[ModeOfInheritance] | None) -> str | None:
    """Returns "recessive", "dominant" or None (mixed or unknown) for a gene's modes of inheritance."""
    known = frozenset(modes or ())
    if known and known <= RECESSIVE_MOI:
        return "recessive"
    if known and known <= DOMINANT_MOI:
        return "dominant"
    return None


def acmg_evidence(
    candidate: CandidateVariant,
    modes: Sequence[ModeCall],
    *,
    gene_modes: Iterable[ModeOfInheritance] | None = None,
    partners: Mapping[str, CandidateVariant] | None = None,
    frequency_source_covered: bool = False,
    parentage_confirmed: bool = False,
    nmd_escape: bool | None = None,
    cadd_phred: float | None = None,
    spliceai_max: float | None = None,
    segregation_meioses: int = 0,
) -> VariantEvidence:
    """Turns a ranked candidate and its segregation into the facts the automatic ACMG criteria read.

    De novo with both parents genotyped is "confirmed" only when parentage is confirmed (sample identity
    checks), otherwise "assumed"; a de novo merely possible in a singleton is neither. A compound
    heterozygous partner classified P/LP in ClinVar gives PM3, phased when both parents were genotyped.
    """
    de_novo = None
    for call in modes:
        if call.mode == Mode.DE_NOVO and call.certainty == Certainty.CONSISTENT:
            de_novo = "confirmed" if parentage_confirmed else "assumed"
    in_trans_with, phased = None, False
    for call in modes:
        if call.mode != Mode.AR_COMP_HET or not call.partner_id or partners is None:
            continue
        partner = partners.get(call.partner_id)
        if partner is not None and is_known_pathogenic(partner.clinvar_significance):
            in_trans_with = partner.clinvar_significance
            phased = phased or call.certainty == Certainty.CONSISTENT
    return VariantEvidence(
        gene=candidate.gene_symbol,
        consequences=candidate.consequences,
        chrom=candidate.chrom,
        pos=candidate.pos,
        ref=candidate.ref,
        alt=candidate.alt,
        hgvs_p=candidate.hgvs_p,
        nmd_escape=candidate.nmd_escape if nmd_escape is None else nmd_escape,
        population_af=candidate.population_af,
        frequency_source_covered=frequency_source_covered,
        inheritance=gene_inheritance_class(gene_modes),
        revel=candidate.revel,
        cadd_phred=cadd_phred,
        spliceai_max=spliceai_max,
        de_novo=de_novo,
        in_trans_with=in_trans_with,
        in_trans_phase_confirmed=phased,
        segregation_meioses=segregation_meioses,
    )
