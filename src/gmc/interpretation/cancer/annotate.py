"""Fills gene, consequence and HGVS of unannotated somatic variants (MANE transcripts, then hotspot alleles)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.model import MAF_TO_SO, PROTEIN_ALTERING, SomaticVariant

#: An annotator takes variants and fills their gene/consequence/HGVS in place; returns a description.
Annotator = Callable[[list[SomaticVariant]], str]


def transcript_annotator(refdata: Path | None = None, fasta: Path | None = None) -> Annotator:
    """An annotator over MANE Select models with gmc.genomics.annotation (the genomics feature's annotator)."""
    from gmc.genomics.annotation.consequence import annotate_transcript
    from gmc.genomics.annotation.sequence import load_reference
    from gmc.genomics.annotation.transcripts import load_transcripts
    from gmc.settings import get_settings

    settings = get_settings()
    transcripts = load_transcripts("GRCh38", "mane")
    if fasta is None:
        fasta = settings.reference_fasta or (
            (refdata or settings.refdata_dir()) / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz")
    genome = load_reference(str(fasta)) if Path(fasta).exists() else None

    def annotate(variants: list[SomaticVariant]) -> str:
        for variant in variants:
            if variant.consequences:
                continue
            ref, alt = variant.ref.replace("-", ""), variant.alt.replace("-", "")
            best = None
            end = variant.pos + max(len(ref), 1) - 1
            for transcript in transcripts.overlapping(variant.chrom, variant.pos, end):
                if not ref or not alt:
                    continue  # MAF-style indels without an anchor base cannot be placed on the transcript
                consequence = annotate_transcript(transcript, variant.pos, ref, alt, genome)
                if consequence is not None and consequence.terms and (best is None or consequence.rank < best.rank):
                    best = consequence
            if best is None:
                continue
            variant.gene = variant.gene or best.gene
            variant.hgnc_id = variant.hgnc_id or best.hgnc_id or None
            variant.consequences = tuple(best.terms)
            variant.hgvs_c = variant.hgvs_c or best.hgvs_c
            variant.hgvs_p = variant.hgvs_p or best.hgvs_p
            if best.exon and variant.exon is None:
                variant.exon = int(best.exon.split("/")[0])
        return f"gmc.genomics.annotation on {transcripts.source}, reference {fasta}"

    return annotate


def annotate_from_knowledgebase(kb: KnowledgeBase, variants: list[SomaticVariant]) -> int:
    """Fills protein changes the annotator could not compute from exact knowledge-base alleles; returns how many."""
    by_allele: dict[tuple[str, int, str, str], tuple[str, str, str]] = {}
    for (chrom, pos, ref, alt), (gene, change) in kb.hotspot_alleles.items():
        by_allele[(chrom, pos, ref, alt)] = (gene, change, "")
    for item in kb.evidence:
        marker = item.biomarker
        if marker.genomic is not None and marker.protein is not None and marker.genomic not in by_allele:
            by_allele[marker.genomic] = (marker.gene, marker.protein.short, "")
    filled = 0
    for variant in variants:
        hit = by_allele.get(variant.key)
        if hit is None or (variant.hgvs_p and variant.is_protein_altering):
            continue
        gene, change, _ = hit
        if variant.gene and variant.gene.upper() != gene:
            continue
        variant.gene = gene
        variant.hgvs_p = "p." + change.removeprefix("p.")
        variant.__dict__.pop("protein", None)  # drop the cached parse
        if not PROTEIN_ALTERING.intersection(variant.consequences) and variant.protein is not None:
            kind = {"missense": "Missense_Mutation", "nonsense": "Nonsense_Mutation", "frameshift": "Frame_Shift_Del",
                    "inframe_deletion": "In_Frame_Del", "inframe_insertion": "In_Frame_Ins"}.get(variant.protein.kind)
            if kind:
                variant.consequences = (MAF_TO_SO[kind],) + tuple(
                    term for term in variant.consequences if term != "coding_sequence_variant")
        filled += 1
    return filled
