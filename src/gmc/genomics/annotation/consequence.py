"""Sequence Ontology consequences, HGVS c./p. and exon/intron position of an allele on one transcript."""

from __future__ import annotations

from dataclasses import dataclass, field

from gmc.genomics.annotation.hgvs import c_range, protein_change, three, translate
from gmc.genomics.annotation.sequence import ReferenceGenome, reverse_complement
from gmc.genomics.annotation.transcripts import FLANK, Transcript

#: Sequence Ontology consequence terms, most severe first, with their impact (Ensembl VEP's order).
SO_TERMS: tuple[tuple[str, str], ...] = (
    ("transcript_ablation", "HIGH"),
    ("splice_acceptor_variant", "HIGH"),
    ("splice_donor_variant", "HIGH"),
    ("stop_gained", "HIGH"),
    ("frameshift_variant", "HIGH"),
    ("stop_lost", "HIGH"),
    ("start_lost", "HIGH"),
    ("inframe_insertion", "MODERATE"),
    ("inframe_deletion", "MODERATE"),
    ("missense_variant", "MODERATE"),
    ("protein_altering_variant", "MODERATE"),
    ("splice_region_variant", "LOW"),
    ("incomplete_terminal_codon_variant", "LOW"),
    ("start_retained_variant", "LOW"),
    ("stop_retained_variant", "LOW"),
    ("synonymous_variant", "LOW"),
    ("coding_sequence_variant", "MODIFIER"),
    ("5_prime_UTR_variant", "MODIFIER"),
    ("3_prime_UTR_variant", "MODIFIER"),
    ("non_coding_transcript_exon_variant", "MODIFIER"),
    ("intron_variant", "MODIFIER"),
    ("non_coding_transcript_variant", "MODIFIER"),
    ("upstream_gene_variant", "MODIFIER"),
    ("downstream_gene_variant", "MODIFIER"),
    ("intergenic_variant", "MODIFIER"),
)
SO_RANK: dict[str, int] = {term: rank for rank, (term, _) in enumerate(SO_TERMS)}
SO_IMPACT: dict[str, str] = dict(SO_TERMS)
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

    @property
    def consequence(self) -> str:
        """The SO terms joined by & (most severe first)."""
        return "&".join(self.terms)

    @property
    def impact(self) -> str:
        """The impact of the most severe term."""
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
    """Returns the spliced cDNA of a transcript in its own orientation, or None if the reference lacks it."""
    key = f"{genome.path}:{transcript.name}"
    if key in _SEQUENCES.cdna:
        return _SEQUENCES.cdna[key]
    if transcript.coding:
        # a sparse or partial reference: one look at the CDS start saves assembling a transcript of N
        probe = genome.fetch(transcript.chrom, transcript.cds_start + 1, transcript.cds_start + 3)
        if not probe or set(probe) == {"N"}:
            _SEQUENCES.cdna[key] = None
            return None
    exons = zip(transcript.exon_starts, transcript.exon_ends, strict=True)
    parts = [genome.fetch(transcript.chrom, s + 1, e) for s, e in exons]
    sequence = "".join(parts)
    if transcript.strand < 0:
        sequence = reverse_complement(sequence)
    result = (
        None if (len(sequence) != transcript.length or _mostly_unknown(sequence, transcript)) else sequence
    )
    if len(_SEQUENCES.cdna) > 50_000:
        _SEQUENCES.cdna.clear()
    _SEQUENCES.cdna[key] = result
    return result


def _mostly_unknown(sequence: str, transcript: Transcript) -> bool:
    if transcript.coding:
        return "N" in sequence[transcript.cds_first - 1 : transcript.cds_last]
    return sequence.count("N") > len(sequence) // 2


def annotate_transcript(
    transcript: Transcript, pos: int, ref: str, alt: str, genome: ReferenceGenome | None = None
) -> TranscriptConsequence | None:
    """Returns the consequence of a trimmed VCF allele on a transcript, or None beyond the flank."""
    t = transcript
    result = TranscriptConsequence(
        transcript=t.name, gene=t.gene, hgnc_id=t.hgnc_id, strand=t.strand, refseq=t.refseq_nm
    )
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return None
    start, end, ref_seq, alt_seq = minimal_allele(pos, ref, alt)
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
    if not t.coding:
        terms.add("non_coding_transcript_variant")
    result.hgvs_c = _hgvs_c(t, start, end, ref_seq, alt_seq, genome)
    result.terms = sorted(terms, key=SO_RANK.__getitem__)
    if {"stop_gained", "frameshift_variant"} & terms and t.coding:
        result.nmd_escape = _escapes_nmd(t, exonic[0] if exonic else lo)
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
    """Adds splice donor/acceptor/region terms from the intron boundaries."""
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
                # an insertion next to the intron's first or last two bases moves them: the site is broken
                if site[0] <= lo <= site[1] or site[0] <= hi <= site[1]:
                    terms.add(term)
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
    cds_hi = min(c_hi, t.cds_last) - t.cds_first + 1
    result.cds_position = cds_lo
    result.protein_position = (cds_lo - 1) // 3 + 1
    delta = len(alt_seq) - len(ref_seq)
    touches_start = cds_lo <= 3
    touches_stop = cds_hi > t.cds_length - 3
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
    if sequence is not None and _codon_terms(
        t, c_lo, c_hi, insertion, ref_seq, alt_seq, sequence, terms, result
    ):
        return
    if delta == 0 and not (touches_start and "start_lost" in terms):
        terms.add("coding_sequence_variant")
    elif touches_stop and delta < 0:
        terms.add("stop_lost")


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
    """Applies the allele to the transcript sequence and translates; False if the reference disagrees."""
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
    cds0 = t.cds_first - 1
    codon = (max(first_changed, t.cds_first) - t.cds_first) // 3
    offset = cds0 + 3 * codon
    ref_protein = translate(sequence[offset:], to_stop=True)
    alt_protein = translate(mutated[offset:], to_stop=True)
    start_residue = codon + 1
    delta = len(alt_t) - len(ref_t)
    for term in ("coding_sequence_variant", "start_lost"):
        terms.discard(term)
    if delta % 3:
        shared = 0
        while shared < min(len(ref_protein), len(alt_protein)) and ref_protein[shared] == alt_protein[shared]:
            shared += 1
        position = start_residue + shared
        result.protein_position = position
        if shared >= len(alt_protein) or shared >= len(ref_protein):
            result.hgvs_p = "p.?"
        elif alt_protein[shared] == "*":
            terms.add("stop_gained")
            result.hgvs_p = f"p.{three(ref_protein[shared])}{position}Ter"
        else:
            new_length = len(alt_protein) - shared if alt_protein.endswith("*") else None
            tail = f"Ter{new_length}" if new_length else "Ter?"
            result.hgvs_p = f"p.{three(ref_protein[shared])}{position}{three(alt_protein[shared])}fs{tail}"
        if position == 1:
            terms.add("start_lost")
        return True
    # in frame: first compare only the affected codons, where stops are won or lost
    last_codon = codon if insertion else (min(c_hi, t.cds_last) - t.cds_first) // 3
    ref_window = translate(sequence[offset : cds0 + 3 * (last_codon + 1)])
    alt_window = translate(mutated[offset : cds0 + 3 * (last_codon + 1) + delta])
    if delta:
        terms.add("inframe_insertion" if delta > 0 else "inframe_deletion")
    if start_residue == 1 and alt_window[:1] != "M":
        terms.add("start_lost")
        result.hgvs_p = "p.Met1?"
        result.protein_position = 1
        return True
    if "*" in alt_window and "*" not in ref_window:
        terms.add("stop_gained")
        alt_window = alt_window[: alt_window.index("*") + 1]
        d = 0
        while d < min(len(ref_protein), len(alt_window)) and ref_protein[d] == alt_window[d]:
            d += 1
        position = start_residue + d
        result.protein_position = position
        residue = three(ref_protein[d] if d < len(ref_protein) else "X")
        if alt_window[d] == "*":
            result.hgvs_p = f"p.{residue}{position}Ter"
        else:
            result.hgvs_p = f"p.{residue}{position}delins{three(alt_window[d:])}"
        return True
    if "*" in ref_window and alt_window[ref_window.index("*") :][:1] != "*":
        terms.add("stop_lost")
        stop_index = ref_window.index("*")
        position = start_residue + stop_index
        new_residue = alt_window[stop_index : stop_index + 1] or "X"
        result.protein_position = position
        result.hgvs_p = (
            f"p.Ter{position}{three(new_residue)}ext{_stop_extension(mutated, offset, ref_protein)}"
        )
        return True
    # no stop involved: compare whole proteins so repeats shift to their 3' end
    hgvs_p, kind = protein_change(ref_protein, alt_protein, start_residue)
    if kind == "synonymous":
        terms.add("stop_retained_variant" if "*" in ref_window else "synonymous_variant")
        if delta == 0 and ref_window:
            # name the residue the base change is in, not the first residue of the window
            within = (min(c_hi, t.cds_last) - t.cds_first) // 3 - codon
            hgvs_p = f"p.{three(ref_window[within])}{start_residue + within}="
    elif delta == 0:
        terms.add("missense_variant")
    result.hgvs_p = hgvs_p
    digits = "".join(ch if ch.isdigit() else " " for ch in hgvs_p).split()
    if digits:
        result.protein_position = int(digits[0])
    return True


def _stop_extension(mutated: str, offset: int, ref_protein: str) -> str:
    """Returns the HGVS extension text (Ter<n> or Ter?) for a lost stop codon."""
    read_through = translate(mutated[offset:], to_stop=True)
    stop_codon_index = len(ref_protein) - 1
    if read_through.endswith("*") and len(read_through) > stop_codon_index + 1:
        return f"Ter{len(read_through) - 1 - stop_codon_index}"
    return "Ter?"


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


def _shift_three_prime(
    t: Transcript, start: int, end: int, ref_seq: str, alt_seq: str, genome: ReferenceGenome
) -> tuple[int, int, str, str]:
    """Moves a pure insertion or deletion as far 3' in the transcript's direction as the sequence allows."""
    window = 200
    if ref_seq and not alt_seq:
        if t.strand > 0:
            context = genome.fetch(t.chrom, start, end + window)
            i = 0
            while len(ref_seq) + i < len(context) and context[i] == context[len(ref_seq) + i] != "N":
                i += 1
            new_start = start + i
            return new_start, new_start + len(ref_seq) - 1, context[i : i + len(ref_seq)], ""
        context = genome.fetch(t.chrom, start - window, end)
        j = len(context) - len(ref_seq)
        i = 0
        while j - i - 1 >= 0 and context[j - i - 1] == context[j - i - 1 + len(ref_seq)] != "N":
            i += 1
        new_start = start - i
        return new_start, new_start + len(ref_seq) - 1, context[j - i : j - i + len(ref_seq)], ""
    if alt_seq and not ref_seq:
        inserted = alt_seq
        if t.strand > 0:
            context = genome.fetch(t.chrom, start, start + window)
            i = 0
            while i < len(context) and context[i] == inserted[0] != "N":
                inserted = inserted[1:] + inserted[0]
                i += 1
            return start + i, start + i - 1, "", inserted
        context = genome.fetch(t.chrom, start - window, start - 1)
        i = 0
        while i < len(context) and context[len(context) - 1 - i] == inserted[-1] != "N":
            inserted = inserted[-1] + inserted[:-1]
            i += 1
        return start - i, start - i - 1, "", inserted
    return start, end, ref_seq, alt_seq


def _hgvs_c(
    t: Transcript, start: int, end: int, ref_seq: str, alt_seq: str, genome: ReferenceGenome | None
) -> str | None:
    """Returns the HGVS c. (n. when non-coding) description, 3'-shifted when the reference is known."""
    prefix = "c." if t.coding else "n."
    if genome is not None and (not ref_seq or not alt_seq):
        start, end, ref_seq, alt_seq = _shift_three_prime(t, start, end, ref_seq, alt_seq, genome)
    plus = t.strand > 0
    ref_t = ref_seq if plus else reverse_complement(ref_seq)
    alt_t = alt_seq if plus else reverse_complement(alt_seq)
    if end < start:  # insertion between end and start
        left, right = (end, start) if plus else (start, end)
        a, b = t.c_coordinate(left), t.c_coordinate(right)
        if a is None or b is None:
            return None
        if genome is not None:
            k = len(alt_t)
            # the bases just 5' of the insertion, in transcript order, equal to the insertion: a duplication
            before = (
                genome.fetch(t.chrom, end - k + 1, end)
                if plus
                else reverse_complement(genome.fetch(t.chrom, start, start + k - 1))
            )
            if before == alt_t:
                first = t.c_coordinate(end - k + 1 if plus else start + k - 1)
                if first is not None:
                    return f"{prefix}{c_range(first, a)}dup"
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
