"""Sequence Ontology consequences, HGVS c./p. and exon/intron position of an allele on one transcript."""

from __future__ import annotations

from dataclasses import dataclass, field

from gmc.genomics.annotation.hgvs import MITOCHONDRIAL_STARTS, c_range, protein_change, translate
from gmc.genomics.annotation.sequence import ReferenceGenome, reverse_complement
from gmc.genomics.annotation.transcripts import FLANK, Transcript

#: Sequence Ontology consequence terms, most severe first, with their impact (Ensembl VEP's order).
SO_TERMS: tuple[tuple[str, str | None], ...] = (
    ("transcript_ablation", "HIGH"),
    ("splice_acceptor_variant", "HIGH"),
    ("splice_donor_variant", "HIGH"),
    ("stop_gained", "HIGH"),
    ("frameshift_variant", "HIGH"),
    ("stop_lost", "HIGH"),
    ("start_lost", "HIGH"),
    ("transcript_amplification", "HIGH"),
    # structural: whole exons deleted (Sequence Ontology; SnpEff's HIGH)
    ("exon_loss_variant", "HIGH"),
    ("inframe_insertion", "MODERATE"),
    ("inframe_deletion", "MODERATE"),
    ("missense_variant", "MODERATE"),
    ("protein_altering_variant", "MODERATE"),
    ("splice_region_variant", "LOW"),
    ("incomplete_terminal_codon_variant", "LOW"),
    ("start_retained_variant", "LOW"),
    ("stop_retained_variant", "LOW"),
    ("synonymous_variant", "LOW"),
    # VEP says MODIFIER; gmc withholds it: a coding change whose codon is unknown may be missense or a stop
    ("coding_sequence_variant", None),
    ("5_prime_UTR_variant", "MODIFIER"),
    ("3_prime_UTR_variant", "MODIFIER"),
    ("non_coding_transcript_exon_variant", "MODIFIER"),
    ("intron_variant", "MODIFIER"),
    ("non_coding_transcript_variant", "MODIFIER"),
    ("upstream_gene_variant", "MODIFIER"),
    ("downstream_gene_variant", "MODIFIER"),
    # structural and copy-number terms whose impact the transcript-level term above carries
    ("feature_elongation", "MODIFIER"),
    ("feature_truncation", "MODIFIER"),
    ("copy_number_loss", "MODIFIER"),
    ("copy_number_gain", "MODIFIER"),
    ("copy_number_change", "MODIFIER"),
    ("intergenic_variant", "MODIFIER"),
)
SO_RANK: dict[str, int] = {term: rank for rank, (term, _) in enumerate(SO_TERMS)}
SO_IMPACT: dict[str, str | None] = dict(SO_TERMS)
IMPACT_RANK = {"HIGH": 0, "MODERATE": 1, "LOW": 2, "MODIFIER": 3}

#: The HGVS/LOFTEE rule: a premature stop within this many bases of the last exon junction escapes NMD.
NMD_JUNCTION_DISTANCE = 50


@dataclass
class TranscriptConsequence:
    """What one allele does to one transcript."""

    transcript: str
    gene: str
    hgnc_id: str
    strand: int
    #: SO terms, most severe first.
    terms: list[str] = field(default_factory=list)
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    #: "3/10" style exon or intron number.
    exon: str | None = None
    intron: str | None = None
    cds_position: int | None = None
    protein_position: int | None = None
    distance: int | None = None
    #: For stop-gained/frameshift alleles: True when the transcript escapes nonsense-mediated decay.
    nmd_escape: bool | None = None
    refseq: str = ""
    #: What was withheld and why (no sequence, N in the FASTA, ...); None when nothing was.
    note: str | None = None

    @property
    def consequence(self) -> str:
        """The SO terms joined by & (most severe first)."""
        return "&".join(self.terms)

    @property
    def impact(self) -> str | None:
        """The impact of the most severe term (None when that term is a coding change whose effect is unknown)."""
        return SO_IMPACT[self.terms[0]] if self.terms else "MODIFIER"

    @property
    def rank(self) -> int:
        """Severity rank of the most severe term (0 is the most severe)."""
        return SO_RANK[self.terms[0]] if self.terms else len(SO_TERMS)


def minimal_allele(pos: int, ref: str, alt: str) -> tuple[int, int, str, str]:
    """Drops a shared anchor base: (start, end, ref, alt), 1-based; an insertion has end == start - 1."""
    if ref and alt and ref[0] == alt[0] and len(ref) != len(alt):
        pos, ref, alt = pos + 1, ref[1:], alt[1:]
    return pos, pos + len(ref) - 1, ref, alt


class _Cache:
    """Spliced transcript sequences fetched from the reference, per transcript."""

    def __init__(self) -> None:
        self.cdna: dict[str, str | None] = {}


_SEQUENCES = _Cache()


def transcript_sequence(transcript: Transcript, genome: ReferenceGenome) -> str | None:
    """Returns the spliced cDNA of a coding transcript in its own orientation; None when any base of its CDS is
    unknown (N or missing in the reference) or the transcript is non-coding."""
    key = f"{genome.path}:{transcript.name}"
    if key in _SEQUENCES.cdna:
        return _SEQUENCES.cdna[key]
    if (not transcript.coding or transcript.chrom not in genome.contigs
            or (transcript.chrom == "MT" and not genome.rcrs)
            # a sparse or partial reference: its index says the first codon lies in blocks of N, unread
            or not genome.may_know(transcript.chrom, transcript.cds_start + 1, transcript.cds_start + 3)):
        _SEQUENCES.cdna[key] = None
        return None
    exons = zip(transcript.exon_starts, transcript.exon_ends, strict=True)
    parts = [genome.fetch(transcript.chrom, s + 1, e) for s, e in exons]
    sequence = "".join(parts)
    if transcript.strand < 0:
        sequence = reverse_complement(sequence)
    cds = sequence[transcript.cds_first - 1 : transcript.cds_last]
    result = None if len(sequence) != transcript.length or "N" in cds else sequence
    if len(_SEQUENCES.cdna) > 50_000:
        _SEQUENCES.cdna.clear()
    _SEQUENCES.cdna[key] = result
    return result


#: Why a description is withheld, for the hgvs_note column (the reason in brackets is filled in per allele).
NOTE_SHIFT = ("c. withheld, consequence taken where the VCF wrote the indel: its 3' position needs the flanking "
              "reference sequence")
NOTE_MITO = "m. withheld: the 3' position of this indel needs the flanking reference sequence"
NOTE_CODON = "p. and codon change withheld: they need the transcript's reference sequence"
NOTE_BOUNDARY = "p. withheld: the change crosses an exon-intron boundary"


def _missing(genome: ReferenceGenome | None) -> str:
    return "no reference FASTA" if genome is None else "the reference FASTA has N there"


@dataclass(frozen=True)
class Normalised:
    """An allele moved as far 3' on the transcript's strand as the sequence allows (minimal form, 1-based;
    an insertion has end == start - 1). `known` is False when unknown sequence decides where it goes."""

    start: int
    end: int
    ref: str
    alt: str
    known: bool


#: Bases fetched at a time while an indel is moved along a repeat.
_STEP = 256
#: The furthest an indel is moved (a repeat longer than this is not followed further: the description is withheld).
_MAX_SHIFT = 20_000


def normalise_on_strand(
    genome: ReferenceGenome | None, chrom: str, strand: int, start: int, end: int, ref: str, alt: str
) -> Normalised:
    """Moves a pure insertion or deletion 3' in the direction of `strand` (HGVS's 3' rule, on the genome, as
    VariantValidator does across exon-intron boundaries); substitutions and delins stay where they are."""
    if ref and alt:
        return Normalised(start, end, ref, alt, True)
    if genome is None or (alt and any(b not in "ACGT" for b in alt)):
        return Normalised(start, end, ref, alt, False)
    if strand > 0:
        return _shift_right(genome, chrom, start, end, ref, alt)
    return _shift_left(genome, chrom, start, end, ref, alt)


def _shift_right(genome: ReferenceGenome, chrom: str, start: int, end: int, ref: str, alt: str) -> Normalised:
    """3' rule on the plus strand: a deletion's first base (an insertion's bases) rotate past equal bases after it."""
    unit = ref or alt
    moved = 0
    while moved < _MAX_SHIFT:
        # the bases after the allele (after the deletion, or at the insertion point)
        first = (end + 1) if ref else start
        window = genome.fetch(chrom, first, first + _STEP - 1)
        for base in window:
            if base == "N":
                return Normalised(start, end, ref, alt, False)
            if base != unit[0]:
                if ref:
                    return Normalised(start, end, genome.fetch(chrom, start, end), "", True)
                return Normalised(start, end, "", unit, True)
            unit = unit[1:] + base
            start, end, moved = start + 1, end + 1, moved + 1
        if len(window) < _STEP:  # the contig ends
            return Normalised(start, end, ref, alt, False)
    return Normalised(start, end, ref, alt, False)


def _shift_left(genome: ReferenceGenome, chrom: str, start: int, end: int, ref: str, alt: str) -> Normalised:
    """3' rule on the minus strand: the allele moves left while the base before it equals its last base."""
    unit = ref or alt
    moved = 0
    while moved < _MAX_SHIFT:
        last = start - 1  # the base before the allele
        window = genome.fetch(chrom, max(last - _STEP + 1, 1), last)
        for base in reversed(window):
            if base == "N":
                return Normalised(start, end, ref, alt, False)
            if base != unit[-1]:
                if ref:
                    return Normalised(start, end, genome.fetch(chrom, start, end), "", True)
                return Normalised(start, end, "", unit, True)
            unit = base + unit[:-1]
            start, end, moved = start - 1, end - 1, moved + 1
        if len(window) < min(_STEP, last):
            return Normalised(start, end, ref, alt, False)
        if start <= 1:
            return Normalised(start, end, ref, alt, False)
    return Normalised(start, end, ref, alt, False)


def annotate_transcript(
    transcript: Transcript, pos: int, ref: str, alt: str, genome: ReferenceGenome | None = None
) -> TranscriptConsequence | None:
    """Returns the consequence of a trimmed VCF allele on a transcript, or None beyond the flank.

    An insertion or deletion is first moved 3' on the transcript's strand (HGVS's rule), so that its terms
    and its HGVS c. describe the same place whichever way the VCF wrote it. Where sequence that decides
    the description is unknown (no FASTA, or N in it) the description is withheld and `note` says why.
    """
    t = transcript
    result = TranscriptConsequence(
        transcript=t.name, gene=t.gene, hgnc_id=t.hgnc_id, strand=t.strand, refseq=t.refseq_nm
    )
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return None
    start, end, ref_seq, alt_seq = minimal_allele(pos, ref, alt)
    if end - start > 2 * FLANK + (t.tx_end - t.tx_start) or not (
        min(start, end) - FLANK <= t.tx_end and max(start, end) + FLANK > t.tx_start
    ):
        normal = Normalised(start, end, ref_seq, alt_seq, True)  # far away or huge: its place does not matter
    else:
        normal = normalise_on_strand(genome, t.chrom, t.strand, start, end, ref_seq, alt_seq)
    start, end, ref_seq, alt_seq = normal.start, normal.end, normal.ref, normal.alt
    notes: list[str] = []
    insertion = end < start
    lo, hi = (end, start) if insertion else (start, end)
    first_base, last_base = t.tx_start + 1, t.tx_end
    if hi < first_base or lo > last_base:
        distance = first_base - hi if hi < first_base else lo - last_base
        if distance > FLANK:
            return None
        five_prime_side = (hi < first_base) == (t.strand > 0)
        result.terms = ["upstream_gene_variant" if five_prime_side else "downstream_gene_variant"]
        result.distance = distance
        return result

    if insertion and (lo < first_base or hi > last_base):
        # inserted just outside the first or last base: the bases land beside the transcript
        five_prime_side = (lo < first_base) == (t.strand > 0)
        result.terms = ["upstream_gene_variant" if five_prime_side else "downstream_gene_variant"]
        result.distance = 1
        return result
    if not insertion and lo <= first_base and hi >= last_base:
        result.terms = ["transcript_ablation"]
        return result
    terms: set[str] = set()
    exonic, n_exonic, intronic, n_intronic = _overlap(t, lo, hi)
    if insertion:
        # an insertion sits inside a region only when both flanking bases are in it
        in_exon = n_exonic == 2 and t.exon_index(lo) == t.exon_index(hi)
        in_intron = n_intronic == 2
    else:
        in_exon = bool(n_exonic)
        in_intron = bool(n_intronic)
    _splice_terms(t, lo, hi, insertion, terms)
    n_exons = len(t.exons)
    exon_index = t.exon_index(exonic[0]) if exonic else None
    if exon_index is not None:
        result.exon = f"{exon_index + 1}/{n_exons}"
    if intronic is not None or (insertion and not in_exon):
        anchor = t.intron_anchor(intronic if intronic is not None else lo)
        if anchor is not None:
            result.intron = f"{anchor[0] + 1}/{n_exons - 1}"
    if in_intron or (insertion and not in_exon) or intronic is not None:
        terms.add("intron_variant")

    sequence = transcript_sequence(t, genome) if genome is not None else None
    if in_exon or (n_exonic and not insertion):
        if not t.coding:
            terms.add("non_coding_transcript_exon_variant")
        else:
            spans_boundary = not insertion and n_exonic != hi - lo + 1
            args = (ref_seq, alt_seq, exonic, spans_boundary, sequence, terms, result)
            _coding_terms(t, lo, hi, insertion, *args)
            if "coding_sequence_variant" in terms:
                notes.append(NOTE_BOUNDARY if spans_boundary else f"{NOTE_CODON} ({_missing(genome)})")
    if not t.coding:
        terms.add("non_coding_transcript_variant")
    if normal.known:
        result.hgvs_c = _hgvs_c(t, start, end, ref_seq, alt_seq, genome)
    else:
        notes.insert(0, f"{NOTE_SHIFT} ({_missing(genome)})")
    result.terms = sorted(terms, key=SO_RANK.__getitem__)
    if {"stop_gained", "frameshift_variant"} & terms and t.coding:
        result.nmd_escape = _escapes_nmd(t, exonic[0] if exonic else lo)
    result.note = "; ".join(notes) or None
    return result


def _overlap(t: Transcript, lo: int, hi: int) -> tuple[list[int], int, int | None, int]:
    """Exonic span ends, exonic base count, first intronic base and intronic count of lo-hi in the transcript."""
    first, last = max(lo, t.tx_start + 1), min(hi, t.tx_end)
    ends: list[int] = []
    n_exonic = 0
    covered: list[tuple[int, int]] = []
    for s, e in zip(t.exon_starts, t.exon_ends, strict=True):
        a, b = max(first, s + 1), min(last, e)
        if a <= b:
            ends += [a, b]
            n_exonic += b - a + 1
            covered.append((a, b))
    n_intronic = max(last - first + 1, 0) - n_exonic
    intronic = None
    if n_intronic:
        # the first base of the span that no exon covers
        intronic = first
        for a, b in sorted(covered):
            if a <= intronic <= b:
                intronic = b + 1
    return ends, n_exonic, intronic, n_intronic


def _splice_terms(t: Transcript, lo: int, hi: int, insertion: bool, terms: set[str]) -> None:
    """Adds splice donor/acceptor/region terms from the intron boundaries.

    An insertion (between flanking bases lo and hi) breaks a donor or acceptor site only when it goes between
    the site's two bases, as Sequence Ontology and VEP define it; beside the site it is in the splice region.
    """
    starts, ends = t.exon_starts, t.exon_ends
    for i in range(len(starts) - 1):
        intron_first, intron_last = ends[i] + 1, starts[i + 1]
        if hi < intron_first - 3 or lo > intron_last + 3:
            continue
        five_prime = (intron_first, intron_first + 1)
        three_prime = (intron_last - 1, intron_last)
        donor, acceptor = (five_prime, three_prime) if t.strand > 0 else (three_prime, five_prime)
        region = [
            (intron_first - 3, intron_first - 1),
            (intron_first + 2, intron_first + 7),
            (intron_last - 7, intron_last - 2),
            (intron_last + 1, intron_last + 3),
        ]
        for site, term in ((donor, "splice_donor_variant"), (acceptor, "splice_acceptor_variant")):
            if insertion:
                if (lo, hi) == site:
                    terms.add(term)
                elif site[0] - 1 <= lo <= site[1]:
                    terms.add("splice_region_variant")  # right beside the site's bases
            elif lo <= site[1] and hi >= site[0]:
                terms.add(term)
        for a, b in region:
            if lo <= b and hi >= a:
                terms.add("splice_region_variant")


def _coding_terms(
    t: Transcript,
    lo: int,
    hi: int,
    insertion: bool,
    ref_seq: str,
    alt_seq: str,
    exonic: list[int],
    spans_boundary: bool,
    sequence: str | None,
    terms: set[str],
    result: TranscriptConsequence,
) -> None:
    """Adds UTR/coding terms and, with the transcript sequence, codon-level terms and HGVS p."""
    cdna = sorted(c for c in (t.cdna_position(p) for p in exonic) if c is not None)
    c_lo, c_hi = cdna[0], cdna[-1]
    if insertion and c_hi - c_lo != 1:
        return
    if insertion:
        in_cds = c_lo >= t.cds_first and c_hi <= t.cds_last
        five_utr, three_utr = c_hi <= t.cds_first, c_lo >= t.cds_last
    else:
        in_cds = c_hi >= t.cds_first and c_lo <= t.cds_last
        five_utr, three_utr = c_lo < t.cds_first, c_hi > t.cds_last
    if five_utr:
        terms.add("5_prime_UTR_variant")
    if three_utr:
        terms.add("3_prime_UTR_variant")
    if not in_cds:
        return
    cds_lo = max(c_lo, t.cds_first) - t.cds_first + 1
    result.cds_position = cds_lo
    result.protein_position = (cds_lo - 1) // 3 + 1
    delta = len(alt_seq) - len(ref_seq)
    touches_start = cds_lo <= 3
    if delta % 3:
        terms.add("frameshift_variant")
    elif delta > 0:
        terms.add("inframe_insertion")
    elif delta < 0:
        terms.add("inframe_deletion")
    if touches_start and not insertion:
        terms.add("start_lost")
    if spans_boundary:
        terms.add("coding_sequence_variant")
        return
    if sequence is not None and _codon_terms(t, c_lo, c_hi, insertion, ref_seq, alt_seq, sequence, terms, result):
        return
    if delta == 0 and not (touches_start and "start_lost" in terms):
        terms.add("coding_sequence_variant")
    elif delta and delta % 3 == 0:
        # an in-frame indel whose codons are unknown may also gain or lose a stop
        terms.add("coding_sequence_variant")


#: Protein changes by the HGVS rules -> the SO terms they add, beside the indel terms set from lengths.
_CODON_TERMS = ("synonymous_variant", "stop_retained_variant", "missense_variant", "stop_gained", "stop_lost",
                "start_lost", "inframe_deletion", "inframe_insertion", "protein_altering_variant",
                "frameshift_variant")


def _codon_terms(
    t: Transcript,
    c_lo: int,
    c_hi: int,
    insertion: bool,
    ref_seq: str,
    alt_seq: str,
    sequence: str,
    terms: set[str],
    result: TranscriptConsequence,
) -> bool:
    """Applies the allele to the transcript sequence and names the protein change; False if the reference
    disagrees with the allele (then nothing is claimed)."""
    ref_t = ref_seq if t.strand > 0 else reverse_complement(ref_seq)
    alt_t = alt_seq if t.strand > 0 else reverse_complement(alt_seq)
    if insertion:
        mutated = sequence[:c_lo] + alt_t + sequence[c_lo:]
        first_changed = c_hi
    else:
        if sequence[c_lo - 1 : c_hi] != ref_t:
            return False
        mutated = sequence[: c_lo - 1] + alt_t + sequence[c_hi:]
        first_changed = c_lo
    table = t.codon_table
    cds0 = t.cds_first - 1
    codon = (max(first_changed, t.cds_first) - t.cds_first) // 3
    reference = _reference_protein(t, sequence)
    if reference is None or codon >= len(reference):
        return False
    delta = len(alt_t) - len(ref_t)
    offset = cds0 + 3 * codon
    last = codon if insertion else (min(c_hi, t.cds_last) - t.cds_first) // 3
    if delta % 3 == 0 and last < len(reference) - 1:
        # in frame and clear of the stop codon: only the codons the change covers are new; after them the
        # protein is the reference's
        window = translate(mutated[offset : cds0 + 3 * (last + 1) + delta], table=table)
        if "*" in window:
            window = window[: window.index("*") + 1]
            alternate = reference[:codon] + window
        else:
            alternate = reference[:codon] + window + reference[last + 1 :]
    else:
        # a frameshift, or a change to the stop codon: read on to the next stop; where the read-through meets
        # unknown sequence first, no stop lies before it and the new length is unknown (fsTer?, extTer?)
        alternate = reference[:codon] + translate(mutated[offset:], to_stop=True, table=table)
        if "?" in alternate[codon:]:
            alternate = alternate[: alternate.index("?", codon)]
    if t.chrom == "MT" and codon == 0:
        first_codon = mutated[cds0 : cds0 + 3]
        alternate = ("M" if first_codon in MITOCHONDRIAL_STARTS else "?") + alternate[1:]
    if "?" in alternate:
        return False
    change = protein_change(reference, alternate, frameshift=bool(delta % 3), changed=codon)
    for term in ("coding_sequence_variant", "start_lost"):
        terms.discard(term)
    if change.term == "stop_gained" or change.term == "stop_lost" or change.term == "start_lost":
        terms.add(change.term)
    elif change.term in ("synonymous_variant", "stop_retained_variant", "missense_variant"):
        if not delta:
            terms.add(change.term)
        elif change.term == "missense_variant" and "inframe_deletion" not in terms and "inframe_insertion" not in terms:
            terms.add("protein_altering_variant")
    elif change.term == "protein_altering_variant" and not delta % 3:
        terms.add(change.term)
    result.hgvs_p = change.hgvs_p
    result.protein_position = change.position
    return True


_PROTEINS: dict[str, str | None] = {}


def _reference_protein(t: Transcript, sequence: str) -> str | None:
    """The transcript's protein from its known CDS, with its stop (for mitochondrial CDSs whose stop the
    polyA tail completes, without one); None when the CDS holds no whole codons."""
    key = f"{t.name}:{hash(sequence)}"
    if key not in _PROTEINS:
        cds = sequence[t.cds_first - 1 : t.cds_last]
        protein = translate(cds, to_stop=True, table=t.codon_table)
        if t.chrom == "MT" and protein:
            protein = "M" + protein[1:]  # alternative start codons are read as Met
        if len(_PROTEINS) > 10_000:
            _PROTEINS.clear()
        _PROTEINS[key] = protein or None
    return _PROTEINS[key]


def mitochondrial_hgvs(
    pos: int, ref: str, alt: str, genome: ReferenceGenome | None
) -> tuple[str | None, str | None]:
    """The HGVS m. description of a chrM allele (rCRS numbering, 3' rule on the plus strand), or None and the
    note saying why it is withheld."""
    start, end, ref_seq, alt_seq = minimal_allele(pos, ref, alt)
    if genome is not None and not genome.rcrs:
        genome = None  # another mitochondrial sequence (e.g. hg19's chrM): m. positions are rCRS positions
    normal = normalise_on_strand(genome, "MT", 1, start, end, ref_seq, alt_seq)
    if not normal.known:
        return None, f"{NOTE_MITO} ({_missing(genome)})"
    start, end, ref_seq, alt_seq = normal.start, normal.end, normal.ref, normal.alt
    if end < start:
        k = len(alt_seq)
        before = genome.sequence_or_none("MT", end - k + 1, end) if genome is not None else None
        if before is None:
            return None, f"{NOTE_MITO} ({_missing(genome)})"
        if before == alt_seq:
            return f"m.{c_range(str(end - k + 1), str(end))}dup", None
        return f"m.{end}_{start}ins{alt_seq}", None
    if not alt_seq:
        return f"m.{c_range(str(start), str(end))}del", None
    if len(ref_seq) == 1 and len(alt_seq) == 1:
        return f"m.{start}{ref_seq}>{alt_seq}", None
    return f"m.{c_range(str(start), str(end))}delins{alt_seq}", None


def _escapes_nmd(t: Transcript, pos: int) -> bool:
    """True when a premature stop at this exonic position lies in the last exon or near the last junction."""
    index = t.exon_index(pos)
    if index is None or len(t.exons) == 1:
        return True
    last = len(t.exons) - 1
    if index == last:
        return True
    if index == last - 1:
        last_junction = t.exons[last][2] - 1
        cdna = t.cdna_position(pos) or 0
        return last_junction - cdna < NMD_JUNCTION_DISTANCE
    return False


def _hgvs_c(
    t: Transcript, start: int, end: int, ref_seq: str, alt_seq: str, genome: ReferenceGenome | None
) -> str | None:
    """The HGVS c. (n. when non-coding) description of an allele already moved 3' on the transcript's strand.

    An insertion that repeats the bases just 5' of it (on the transcript) is a dup; that needs those bases.
    """
    prefix = "c." if t.coding else "n."
    plus = t.strand > 0
    ref_t = ref_seq if plus else reverse_complement(ref_seq)
    alt_t = alt_seq if plus else reverse_complement(alt_seq)
    if end < start:  # insertion between end and start
        left, right = (end, start) if plus else (start, end)
        a, b = t.c_coordinate(left), t.c_coordinate(right)
        if a is None or b is None or genome is None:
            return None
        k = len(alt_t)
        # the bases just 5' of the insertion, in transcript order
        span = (end - k + 1, end) if plus else (start, start + k - 1)
        before = genome.sequence_or_none(t.chrom, *span)
        if before is None:
            return None
        if (before if plus else reverse_complement(before)) == alt_t:
            first = t.c_coordinate(span[0] if plus else span[1])
            last = a
            if first is not None:
                return f"{prefix}{c_range(first, last)}dup"
        return f"{prefix}{a}_{b}ins{alt_t}"
    first, last = (start, end) if plus else (end, start)
    a, b = t.c_coordinate(first), t.c_coordinate(last)
    if a is None or b is None:
        return None
    if not alt_t:
        return f"{prefix}{c_range(a, b)}del"
    if len(ref_t) == 1 and len(alt_t) == 1:
        return f"{prefix}{a}{ref_t}>{alt_t}"
    return f"{prefix}{c_range(a, b)}delins{alt_t}"


#: Structural allele kinds by SVTYPE (and the symbolic ALT): what the event does to the sequence it spans.
_LOSS_TYPES = frozenset({"DEL", "DEL:ME", "LOSS"})
_GAIN_TYPES = frozenset({"DUP", "DUP:TANDEM", "DUP:INT", "GAIN"})
_POINT_TYPES = frozenset({"INS", "INS:ME", "BND", "TRA"})


def structural_kind(svtype: str, copy_number: float | None, ploidy: int = 2) -> str:
    """loss, gain, unknown (a copy-number change of unknown direction), neutral, point (INS, BND) or span (INV)."""
    svtype = (svtype or "").upper()
    if svtype.startswith("CNV") or svtype == "CN" or copy_number is not None and svtype not in _POINT_TYPES:
        if copy_number is None:
            return "loss" if svtype in _LOSS_TYPES else "gain" if svtype in _GAIN_TYPES else "unknown"
        return "loss" if copy_number < ploidy else "gain" if copy_number > ploidy else "neutral"
    if svtype in _LOSS_TYPES or svtype.startswith("DEL"):
        return "loss"
    if svtype in _GAIN_TYPES or svtype.startswith("DUP"):
        return "gain"
    if svtype in _POINT_TYPES or svtype.startswith("INS"):
        return "point"
    return "span"


def structural_consequence(
    transcript: Transcript, start: int, end: int, svtype: str, copy_number: float | None = None
) -> TranscriptConsequence | None:
    """What a structural allele over start..end (1-based; a point event has start == end) does to a transcript,
    by interval overlap: transcript_ablation/amplification when it covers the transcript, exon_loss_variant
    when it deletes whole exons, feature_truncation/elongation when it cuts into exons, copy_number_loss/gain for
    copy-number calls, intron or up/downstream terms otherwise. The exon column names the exons it reaches
    ("3-5/24"); None beyond the up/downstream flank."""
    t = transcript
    result = TranscriptConsequence(transcript=t.name, gene=t.gene, hgnc_id=t.hgnc_id, strand=t.strand,
                                   refseq=t.refseq_nm)
    kind = structural_kind(svtype, copy_number)
    if kind == "neutral":
        return None
    first_base, last_base = t.tx_start + 1, t.tx_end
    if end < first_base or start > last_base:
        distance = first_base - end if end < first_base else start - last_base
        if distance > FLANK:
            return None
        five_prime_side = (end < first_base) == (t.strand > 0)
        result.terms = ["upstream_gene_variant" if five_prime_side else "downstream_gene_variant"]
        result.distance = distance
        return result
    n = len(t.exons)
    # transcript-order numbers of the exons the event reaches, and of those it holds whole
    reached = [i + 1 for i, (s, e, _) in enumerate(t.exons) if start <= e and end > s]
    whole = [i + 1 for i, (s, e, _) in enumerate(t.exons) if start <= s + 1 and end >= e]
    covers = start <= first_base and end >= last_base
    terms: set[str] = set()
    if reached:
        result.exon = f"{reached[0]}/{n}" if len(reached) == 1 else f"{min(reached)}-{max(reached)}/{n}"
    if kind in ("point", "span"):
        # a breakpoint (or an insertion point) inside the transcript interrupts it; an inversion holding the
        # whole transcript leaves it intact
        points = [start] if kind == "point" else [start, end]
        inside = [p for p in points if first_base <= p <= last_base]
        if not inside:
            return None
        in_exon = any(t.exon_index(p) is not None for p in inside)
        if svtype.upper().startswith("INS") and in_exon:
            terms.add("feature_elongation")
        elif in_exon or kind == "span" or svtype.upper() in ("BND", "TRA"):
            terms.add("feature_truncation")
        if not in_exon:
            terms.add("intron_variant")
            anchor = t.intron_anchor(inside[0])
            if anchor is not None:
                result.intron = f"{anchor[0] + 1}/{n - 1}"
    elif kind == "loss":
        if covers:
            terms.add("transcript_ablation")
        elif reached:
            terms.add("feature_truncation")
            if whole:
                terms.add("exon_loss_variant")
        else:
            terms.add("intron_variant")
    elif kind == "gain":
        terms.add("transcript_amplification" if covers else "feature_elongation" if reached else "intron_variant")
    else:
        terms.add("feature_truncation" if reached and not covers else "intron_variant" if not reached else
                  "copy_number_change")
    if copy_number is not None or svtype.upper().startswith("CNV"):
        terms.add({"loss": "copy_number_loss", "gain": "copy_number_gain"}.get(kind, "copy_number_change"))
    if not t.coding:
        terms.add("non_coding_transcript_variant")
    result.terms = sorted(terms, key=SO_RANK.__getitem__)
    return result
