"""Fills gene, consequence and HGVS of unannotated somatic variants (MANE transcripts, then hotspot alleles)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.model import MAF_TO_SO, PROTEIN_ALTERING, SomaticVariant

_BASES = "TCAG"
_AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
#: The standard genetic code, codon -> one-letter amino acid (* = stop).
GENETIC_CODE = {a + b + c: _AMINO_ACIDS[16 * i + 4 * j + k]
                for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}
_CODING_SNV = re.compile(r"^c\.(\d+)([ACGT])>([ACGT])$")

#: An annotator takes variants and fills their gene/consequence/HGVS in place; returns a description.
Annotator = Callable[[list[SomaticVariant]], str]


def transcript_annotator(refdata: Path | None = None, fasta: Path | None = None) -> Annotator:
    """An annotator over MANE Select models using the genomics feature (gmc.genomics.annotation).

    A VEP CSQ, SnpEff ANN or bcftools BCSQ already in the VCF (kept by the reader in extra["existing"]) wins
    over the computed consequence, because the caller's annotator had the whole reference genome.
    """
    from gmc.genomics.annotation.annotate import annotate_allele, load_sources
    from gmc.genomics.annotation.existing import for_allele, most_severe, parse_existing
    from gmc.settings import get_settings

    settings = get_settings()
    if fasta is None:
        fasta = settings.reference_fasta or (
            (refdata or settings.refdata_dir()) / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz")
    frequency_files = [part.strip() for part in settings.frequency_files.split(",") if part.strip()]
    sources = load_sources("GRCh38", fasta=fasta if Path(fasta).exists() else None,
                           frequency_files=frequency_files, clinvar=False)

    def annotate(variants: list[SomaticVariant]) -> str:
        existing_used = 0
        for variant in variants:
            if variant.consequences:
                continue
            ref, alt = variant.ref.replace("-", ""), variant.alt.replace("-", "")
            if not ref or not alt:
                continue  # MAF-style indels without an anchor base cannot be placed on a transcript
            info = variant.extra.get("info")
            row = annotate_allele(variant.chrom, variant.pos, ref, alt, sources,
                                  info=info if isinstance(info, dict) else None)
            terms = tuple(t for t in (row.get("consequence") or "").split("&") if t)
            gene, hgvs_c, hgvs_p, exon = row.get("gene"), row.get("hgvs_c"), row.get("hgvs_p"), row.get("exon")
            existing = variant.extra.get("existing")
            if isinstance(existing, tuple):
                key, value, fields, raw_ref, raw_alt = existing
                best = most_severe(for_allele(parse_existing(key, value, fields), raw_ref, raw_alt), gene)
                if best is not None and best.terms:
                    existing_used += 1
                    terms, gene = best.terms, best.gene or gene
                    hgvs_c, hgvs_p = best.hgvs_c or hgvs_c, best.hgvs_p or hgvs_p
            variant.gene = variant.gene or gene
            variant.hgnc_id = variant.hgnc_id or row.get("hgnc_id")
            variant.consequences = terms
            variant.hgvs_c = variant.hgvs_c or hgvs_c
            variant.hgvs_p = variant.hgvs_p or hgvs_p
            variant.__dict__.pop("protein", None)
            if exon and variant.exon is None and str(exon).split("/")[0].isdigit():
                variant.exon = int(str(exon).split("/")[0])
            intron = row.get("intron")
            if intron and variant.intron is None and str(intron).split("/")[0].isdigit():
                variant.intron = int(str(intron).split("/")[0])
            if variant.population_af is None and row.get("gnomad_af") is not None:
                variant.population_af = float(row["gnomad_af"])
        provenance = sources.provenance()
        return (f"gmc.genomics.annotation ({provenance['transcripts']}, reference {provenance['fasta']}, "
                f"frequencies {provenance['frequencies']}); existing CSQ/ANN/BCSQ used for {existing_used}")

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


def infer_hotspot_codon_changes(kb: KnowledgeBase, variants: list[SomaticVariant]) -> int:
    """Computes the protein change of coding SNVs at cancerhotspots residues from the residue's reference codon.

    Used when the reference sequence is missing (consequence coding_sequence_variant but a c. position known):
    codon = ceil(c/3); the reference codon comes from cancerhotspots' Codon_Change, checked against the c. base.
    """
    filled = 0
    for variant in variants:
        if variant.hgvs_p or not variant.hgvs_c or "coding_sequence_variant" not in variant.consequences:
            continue
        match = _CODING_SNV.match(variant.hgvs_c.split(":")[-1])
        if match is None:
            continue
        cds, ref_base, alt_base = int(match.group(1)), match.group(2), match.group(3)
        codon_number, offset = (cds - 1) // 3 + 1, (cds - 1) % 3
        hotspot = kb.hotspots.get(((variant.gene or "").upper(), codon_number))
        if hotspot is None or len(hotspot.ref_codon) != 3 or hotspot.ref_codon[offset] != ref_base:
            continue
        ref_aa = GENETIC_CODE.get(hotspot.ref_codon)
        alt_codon = hotspot.ref_codon[:offset] + alt_base + hotspot.ref_codon[offset + 1:]
        alt_aa = GENETIC_CODE.get(alt_codon)
        if ref_aa is None or alt_aa is None or ref_aa != hotspot.ref:
            continue
        if alt_aa == ref_aa:
            term, change = "synonymous_variant", f"p.{ref_aa}{codon_number}="
        elif alt_aa == "*":
            term, change = "stop_gained", f"p.{ref_aa}{codon_number}*"
        else:
            term, change = "missense_variant", f"p.{ref_aa}{codon_number}{alt_aa}"
        variant.hgvs_p = change
        variant.consequences = (term,) + tuple(t for t in variant.consequences if t != "coding_sequence_variant")
        variant.__dict__.pop("protein", None)
        filled += 1
    return filled
