"""Plain records the cancer core works on: annotated somatic variants, copy-number segments and fusions."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from gmc.interpretation.cancer.protein import ProteinChange, parse_protein_change

#: Null (loss-of-function) consequences, Sequence Ontology terms.
NULL_CONSEQUENCES = frozenset({
    "stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant", "start_lost",
    "transcript_ablation", "exon_loss_variant",
})
#: Consequences that change the protein sequence (used for tiers and as TMB's default count).
PROTEIN_ALTERING = NULL_CONSEQUENCES | frozenset({
    "missense_variant", "inframe_insertion", "inframe_deletion", "stop_lost", "protein_altering_variant",
})
#: Everything in the coding sequence, silent changes included.
CODING = PROTEIN_ALTERING | frozenset({
    "synonymous_variant", "stop_retained_variant", "coding_sequence_variant", "incomplete_terminal_codon_variant",
    "start_retained_variant",
})

#: MAF Variant_Classification -> Sequence Ontology term.
MAF_TO_SO = {
    "Missense_Mutation": "missense_variant", "Nonsense_Mutation": "stop_gained",
    "Frame_Shift_Del": "frameshift_variant", "Frame_Shift_Ins": "frameshift_variant",
    "In_Frame_Del": "inframe_deletion", "In_Frame_Ins": "inframe_insertion", "Splice_Site": "splice_donor_variant",
    "Silent": "synonymous_variant", "Nonstop_Mutation": "stop_lost", "Translation_Start_Site": "start_lost",
    "3'UTR": "3_prime_UTR_variant", "5'UTR": "5_prime_UTR_variant", "Intron": "intron_variant",
    "RNA": "non_coding_transcript_exon_variant", "IGR": "intergenic_variant", "5'Flank": "upstream_gene_variant",
    "3'Flank": "downstream_gene_variant", "Splice_Region": "splice_region_variant",
    "De_novo_Start_InFrame": "5_prime_UTR_variant", "De_novo_Start_OutOfFrame": "5_prime_UTR_variant",
}


@dataclass
class SomaticVariant:
    """One annotated somatic allele (GRCh38), with tumour and normal read support."""

    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str | None = None
    hgnc_id: str | None = None
    #: Sequence Ontology consequence terms on the reported transcript.
    consequences: tuple[str, ...] = ()
    hgvs_c: str | None = None
    #: p. change as given (one- or three-letter); parsed on demand.
    hgvs_p: str | None = None
    exon: int | None = None
    #: Intron number on the reported transcript (for splice variants beside an exon).
    intron: int | None = None
    tumour_vaf: float | None = None
    tumour_depth: int | None = None
    normal_vaf: float | None = None
    normal_depth: int | None = None
    #: Population allele frequency (gnomAD); None = not looked up, 0.0 = looked up and absent.
    population_af: float | None = None
    #: REVEL score of a missense change when the input carries one (INFO REVEL / dbNSFP_REVEL_score).
    revel: float | None = None
    #: Where the variant came from (file line) for error messages and audit.
    source_line: int | None = None
    #: Position in the input build when it was lifted to GRCh38 (e.g. a GRCh37 MAF).
    input_pos: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @cached_property
    def protein(self) -> ProteinChange | None:
        """The parsed protein change (None when there is none or it cannot be read)."""
        return parse_protein_change(self.hgvs_p)

    @property
    def key(self) -> tuple[str, int, str, str]:
        """(chrom, pos, ref, alt) as used by the knowledge-base genomic index."""
        return (self.chrom, self.pos, self.ref, self.alt)

    @property
    def is_null(self) -> bool:
        """A predicted loss-of-function consequence (stop, frameshift, canonical splice, start loss)."""
        return bool(NULL_CONSEQUENCES.intersection(self.consequences))

    @property
    def is_protein_altering(self) -> bool:
        """The variant changes the protein sequence."""
        return bool(PROTEIN_ALTERING.intersection(self.consequences))

    @property
    def is_coding(self) -> bool:
        """The variant lies in the coding sequence (silent changes included)."""
        return bool(CODING.intersection(self.consequences))


@dataclass(frozen=True)
class CopyNumberSegment:
    """A copy-number segment: total copy number, or a log2 ratio when only that is known."""

    chrom: str
    start: int
    end: int
    total_copies: int | None = None
    log2_ratio: float | None = None


@dataclass(frozen=True)
class GeneCopyNumber:
    """A gene-level copy-number call derived from segments."""

    gene: str
    chrom: str
    start: int
    end: int
    #: amplification or deletion.
    call: str
    total_copies: int | None
    log2_ratio: float | None


@dataclass(frozen=True)
class Fusion:
    """A gene fusion (5' gene, 3' gene) with its breakpoints when known."""

    gene5: str
    gene3: str
    breakpoint5: str = ""
    breakpoint3: str = ""
    supporting_reads: int | None = None
