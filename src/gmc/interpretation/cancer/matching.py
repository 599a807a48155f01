"""Matching somatic variants, copy-number calls and fusions to knowledge-base biomarkers at every level."""

from __future__ import annotations

from dataclasses import dataclass

from gmc.interpretation.cancer.knowledgebase import Biomarker, EvidenceItem, KnowledgeBase
from gmc.interpretation.cancer.model import Fusion, GeneCopyNumber, SomaticVariant

#: Biomarker levels that name a specific alteration (the others say "any change of this kind").
SPECIFIC_LEVELS = frozenset({"exact", "codon", "region", "exon", "amplification", "deletion", "fusion"})


@dataclass(frozen=True)
class EvidenceMatch:
    """An evidence item whose biomarker the finding satisfies, and at which level it matched."""

    evidence: EvidenceItem
    #: exact, codon, region, exon, truncating, gene, amplification, deletion, fusion.
    level: str


def _deletion_family(variant: SomaticVariant) -> bool:
    kind = variant.protein.kind if variant.protein else ""
    return kind in {"inframe_deletion", "delins"} or "inframe_deletion" in variant.consequences


def _insertion_family(variant: SomaticVariant) -> bool:
    kind = variant.protein.kind if variant.protein else ""
    return kind in {"inframe_insertion", "delins"} or "inframe_insertion" in variant.consequences


SPLICE_SITE = frozenset({"splice_donor_variant", "splice_acceptor_variant", "splice_donor_5th_base_variant",
                         "splice_donor_region_variant"})


def _consequence_fits(biomarker: Biomarker, variant: SomaticVariant) -> bool:
    """Whether the variant's kind of change is the one a region/exon/gene biomarker asks for."""
    if biomarker.consequence == "deletion":
        return _deletion_family(variant)
    if biomarker.consequence == "insertion":
        return _insertion_family(variant)
    if biomarker.consequence == "missense":
        return "missense_variant" in variant.consequences
    if biomarker.consequence == "splice":
        return bool(SPLICE_SITE.intersection(variant.consequences)) or _deletion_family(variant)
    if biomarker.consequence == "truncating":
        return variant.is_null
    return variant.is_protein_altering


def class_fits(biomarker: Biomarker, variant: SomaticVariant, mechanism: str = "") -> bool:
    """Whether the variant is of the class a gene-level or region biomarker names.

    The class is the biomarker's own ("activating mutation", "loss-of-function") or, for a bare "mutation" or
    "oncogenic mutation", the gene's mechanism (GeneRole.mechanism): an activating gene's oncogenic mutations are
    missense or in-frame changes, never truncations; an inactivating gene's are truncations or damaging missense.
    """
    wanted = biomarker.alteration_class or mechanism
    if wanted == "activating":
        return variant.is_protein_altering and not variant.is_null
    return True


def biomarker_level_matched(biomarker: Biomarker, variant: SomaticVariant, mechanism: str = "") -> str | None:
    """The level at which a small variant satisfies a biomarker, or None (`mechanism`: the gene's, see class_fits)."""
    if biomarker.gene != (variant.gene or "").upper():
        return None
    protein = variant.protein
    if biomarker.level == "exact":
        if biomarker.genomic is not None and biomarker.genomic == variant.key:
            return "exact"
        wanted = biomarker.protein
        if wanted is None or protein is None:
            return None
        if wanted.kind == protein.kind and wanted.start == protein.start:
            if wanted.kind in {"missense", "nonsense", "synonymous", "stop_lost"}:
                return "exact" if wanted.alt == protein.alt else None
            if wanted.kind == "frameshift":
                return "exact"
            return "exact" if wanted.end == protein.end and wanted.alt == protein.alt else None
        return None
    if biomarker.level == "codon":
        if protein is None or not variant.is_protein_altering or biomarker.aa_start is None:
            return None
        if protein.kind in {"missense", "nonsense", "inframe_deletion", "inframe_insertion", "delins"} and \
                biomarker.aa_start <= protein.start <= (biomarker.aa_end or biomarker.aa_start):
            return "codon"
        return None
    if biomarker.level == "region":
        if protein is None or biomarker.aa_start is None or biomarker.aa_end is None:
            return None
        overlaps = protein.start <= biomarker.aa_end and protein.end >= biomarker.aa_start
        fits = _consequence_fits(biomarker, variant) and (biomarker.consequence or class_fits(biomarker, variant,
                                                                                             mechanism))
        return "region" if overlaps and fits else None
    if biomarker.level == "exon":
        in_exon = variant.exon is not None and variant.exon == biomarker.exon
        # Exon-skipping splice variants sit in the introns either side of the exon.
        beside = biomarker.consequence == "splice" and biomarker.exon is not None and variant.intron in (
            biomarker.exon - 1, biomarker.exon)
        if not (in_exon or beside):
            return None
        return "exon" if _consequence_fits(biomarker, variant) else None
    if biomarker.level == "truncating":
        return "truncating" if variant.is_null else None
    if biomarker.level == "gene":
        fits = variant.is_protein_altering and _consequence_fits(biomarker, variant) and (
            biomarker.consequence or class_fits(biomarker, variant, mechanism))
        return "gene" if fits else None
    return None


def match_variant(kb: KnowledgeBase, variant: SomaticVariant) -> list[EvidenceMatch]:
    """All somatic evidence whose biomarker this small variant satisfies."""
    matches = []
    gene = (variant.gene or "").upper()
    mechanism = kb.genes[gene].mechanism if gene in kb.genes else ""
    for item in kb.by_gene.get(gene, ()):
        if item.origin != "somatic":
            continue
        level = biomarker_level_matched(item.biomarker, variant, mechanism)
        if level is not None:
            matches.append(EvidenceMatch(item, level))
    return matches


def match_copy_number(kb: KnowledgeBase, call: GeneCopyNumber) -> list[EvidenceMatch]:
    """Evidence for a gene amplification or deletion."""
    return [
        EvidenceMatch(item, call.call) for item in kb.by_gene.get(call.gene.upper(), ())
        if item.origin == "somatic" and item.biomarker.level == call.call
    ]


def match_fusion(kb: KnowledgeBase, fusion: Fusion) -> list[EvidenceMatch]:
    """Evidence for a fusion, recorded under either partner (any-partner biomarkers match too)."""
    genes = {fusion.gene5.upper(), fusion.gene3.upper()}
    matches = []
    for gene in genes:
        other = (genes - {gene}) or {gene}
        for item in kb.by_gene.get(gene, ()):
            if item.origin == "somatic" and item.biomarker.level == "fusion" and (
                    item.biomarker.partner is None or item.biomarker.partner in other):
                matches.append(EvidenceMatch(item, "fusion"))
    return matches
