"""Vectorised annotation: intergenic, up/downstream and deep intronic alleles, and SNVs in or near exons."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmc.genomics.annotation.consequence import NOTE_CODON, NOTE_SHIFT, SO_RANK, SO_TERMS, transcript_sequence
from gmc.genomics.annotation.genes import GeneKnowledge
from gmc.genomics.annotation.grouping import groups_of
from gmc.genomics.annotation.sequence import ReferenceGenome
from gmc.genomics.annotation.transcripts import FLANK, TranscriptSet

#: Alleles this close to an exon go through the per-allele path (splice region reaches 8 bases in).
SPLICE_MARGIN = 8
_KEY = np.int64(1) << np.int64(32)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
# SO_RANK of the three terms this path writes
_INTRON, _UPSTREAM, _DOWNSTREAM = (SO_RANK[t] for t in ("intron_variant", "upstream_gene_variant",
                                                         "downstream_gene_variant"))
_SO_NAMES = tuple(term for term, _ in SO_TERMS)
_BIT = {term: np.int64(1) << np.int64(rank) for rank, term in enumerate(_SO_NAMES)}
_IMPACT_ARRAY = np.array([impact for _, impact in SO_TERMS], dtype=object)
_PLAIN_BASES = pa.array(list("ACGT"), pa.string())
#: SNVs near exons are settled in bulk only where the neighbouring exons and introns are at least this long,
#: so that no third intron's splice windows can reach them.
REGULAR_MIN = 10


#: Columns that are an attribute of the allele's top transcript, and the TranscriptArrays list holding it.
PER_TRANSCRIPT = {
    "gene": "gene", "hgnc_id": "hgnc", "transcript": "name", "refseq": "refseq", "pli": "pli", "loeuf": "loeuf",
    "clingen_hi": "hi", "clingen_ts": "ts",
}


@dataclass
class BulkResult:
    """Columns for the alleles the vectorised path settled; `done` marks them among the input.

    The PER_TRANSCRIPT columns are not among `columns`: `top` gives each settled allele's top transcript
    (-1 for none, e.g. intergenic), and TranscriptArrays.arrow_column their values.
    """

    done: np.ndarray
    columns: dict[str, list]
    top: np.ndarray


class TranscriptArrays:
    """Flat numpy views of a transcript set: per-transcript attributes and all exons keyed by transcript."""

    def __init__(self, transcripts: TranscriptSet, genes: GeneKnowledge) -> None:
        models = transcripts.transcripts
        self.transcripts = transcripts
        self.strand = np.array([t.strand for t in models], dtype=np.int8)
        self.tx_start = np.array([t.tx_start for t in models], dtype=np.int64)
        self.tx_end = np.array([t.tx_end for t in models], dtype=np.int64)
        self.coding = np.array([t.coding for t in models], dtype=bool)
        self.cds_first = np.array([t.cds_first for t in models], dtype=np.int64)
        self.cds_last = np.array([t.cds_last for t in models], dtype=np.int64)
        self.n_exons = np.array([len(t.exons) for t in models], dtype=np.int64)
        self.no_hgnc = np.array([not t.hgnc_id for t in models], dtype=bool)
        self.gene = [t.gene for t in models]
        self.hgnc = [t.hgnc_id or None for t in models]
        self.name = [t.name for t in models]
        self.refseq = [t.refseq_nm or None for t in models]
        constraint = [genes.constraint_of(t.gene_id) for t in models]
        dosage = [genes.dosage_of(t.gene) for t in models]
        self.pli = [c.pli if c else None for c in constraint]
        self.loeuf = [c.loeuf if c else None for c in constraint]
        self.hi = [d.haploinsufficiency if d else None for d in dosage]
        self.ts = [d.triplosensitivity if d else None for d in dosage]
        starts, ends, cdna_at_start, cdna_at_end, owner = [], [], [], [], []
        self.exon_offset = np.zeros(len(models) + 1, dtype=np.int64)
        for i, t in enumerate(models):
            for s, e, first in sorted(t.exons):
                starts.append(s)
                ends.append(e)
                last = first + (e - s) - 1
                # cDNA of the exon's lowest and highest genomic base
                cdna_at_start.append(first if t.strand > 0 else last)
                cdna_at_end.append(last if t.strand > 0 else first)
                owner.append(i)
            self.exon_offset[i + 1] = len(starts)
        self.exon_start = np.array(starts, dtype=np.int64)
        self.exon_end = np.array(ends, dtype=np.int64)
        self.cdna_at_start = np.array(cdna_at_start, dtype=np.int64)
        self.cdna_at_end = np.array(cdna_at_end, dtype=np.int64)
        self.exon_key = np.array(owner, dtype=np.int64) * _KEY + self.exon_start
        # each transcript's place in its chromosome's overlap index: the per-allele path's order among ties
        self.index_order = np.zeros(len(models), dtype=np.int64)
        for _, _, _, ids in transcripts._index.values():
            self.index_order[ids] = np.arange(len(ids))
        self._arrow: dict[str, pa.Array] = {}

    def arrow_column(self, name: str, kind: pa.DataType) -> pa.Array:
        """A PER_TRANSCRIPT column's value of every transcript, as Arrow (built once)."""
        if name not in self._arrow:
            self._arrow[name] = pa.array(getattr(self, PER_TRANSCRIPT[name]), kind)
        return self._arrow[name]

    def pairs(self, chrom: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (allele row, transcript) pairs within the flank, as two index arrays."""
        rows_out, tx_out = [], []
        for name, rows in groups_of(chrom):
            index = self.transcripts._index.get(name)
            if index is None:
                continue
            starts, ends, cummax, ids = index
            first = np.searchsorted(cummax, lo[rows], side="left")
            last = np.searchsorted(starts, hi[rows], side="left")
            counts = np.maximum(last - first, 0)
            total = int(counts.sum())
            if not total:
                continue
            row_of = np.repeat(rows, counts)
            step = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            k = np.repeat(first, counts) + step
            keep = ends[k] >= lo[row_of]
            rows_out.append(row_of[keep])
            tx_out.append(ids[k[keep]])
        if not rows_out:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(rows_out), np.concatenate(tx_out)


def _in_bases(alleles: pa.Array) -> np.ndarray:
    """True where an allele is one of A, C, G, T."""
    return pc.fill_null(pc.is_in(alleles, value_set=_PLAIN_BASES), False).to_numpy(zero_copy_only=False)


def _snv_hgvs(
    arrays: TranscriptArrays,
    tx: np.ndarray,
    cdna: np.ndarray,
    offset: np.ndarray | None,
    plus: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
) -> np.ndarray:
    """HGVS c./n. of single-base changes at cDNA positions (plus an intronic offset), built by Arrow string
    kernels: the per-allele path's text without a Python format per pair."""
    parts = [pa.array(np.where(arrays.coding[tx], "c.", "n.")), _c_text(arrays, tx, cdna)]
    if offset is not None:
        parts += [pa.array(np.where(offset > 0, "+", "-")), pc.cast(pa.array(np.abs(offset)), pa.string())]
    parts += [_on_transcript_strand(ref, plus), pa.scalar(">"), _on_transcript_strand(alt, plus)]
    return pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False)


def _on_transcript_strand(bases: np.ndarray, plus: np.ndarray, *, reverse: bool = False) -> pa.Array:
    """The bases as written on plus-strand transcripts and complemented (reversed too) on minus-strand ones."""
    values = pa.array(bases, pa.string())
    encoded = pc.dictionary_encode(values)
    step = -1 if reverse else 1
    complement = pa.array([v.translate(_COMPLEMENT)[::step] for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.if_else(pa.array(plus), values, complement.take(encoded.indices))


def _c_text(arrays: TranscriptArrays, tx: np.ndarray, cdna: np.ndarray) -> pa.Array:
    """HGVS c./n. coordinates (without the prefix) of cDNA positions: -N before the CDS, *N after, else N."""
    coding = arrays.coding[tx]
    first, last = arrays.cds_first[tx], arrays.cds_last[tx]
    before_cds, after_cds = coding & (cdna < first), coding & (cdna > last)
    number = np.where(
        ~coding, cdna, np.where(before_cds, first - cdna, np.where(after_cds, cdna - last, cdna - first + 1))
    )
    sign = pa.array(np.where(before_cds, "-", np.where(after_cds, "*", "")))
    return pc.binary_join_element_wise(sign, pc.cast(pa.array(number), pa.string()), "")


def _intron_text(arrays: TranscriptArrays, tx: np.ndarray, k: np.ndarray, plus: np.ndarray, q: np.ndarray) -> pa.Array:
    """HGVS coordinates of intronic positions q between genomic-order exons k and k+1 (nearest-exon rule)."""
    d_left = q - arrays.exon_end[k]
    d_right = arrays.exon_start[k + 1] + 1 - q
    after, before = np.where(plus, d_left, d_right), np.where(plus, d_right, d_left)
    use_up = after <= before
    up_anchor = np.where(plus, arrays.cdna_at_end[k], arrays.cdna_at_start[k + 1])
    down_anchor = np.where(plus, arrays.cdna_at_start[k + 1], arrays.cdna_at_end[k])
    return pc.binary_join_element_wise(
        _c_text(arrays, tx, np.where(use_up, up_anchor, down_anchor)),
        pa.array(np.where(use_up, "+", "-")),
        pc.cast(pa.array(np.where(use_up, after, before)), pa.string()),
        "",
    )


def _indel_hgvs(
    arrays: TranscriptArrays,
    tx: np.ndarray,
    k: np.ndarray,
    plus: np.ndarray,
    pos: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
) -> np.ndarray:
    """HGVS c./n. of intronic indels without reference sequence (no 3' shift), as the per-allele path gives them."""
    ref_a, alt_a = pa.array(ref, pa.string()), pa.array(alt, pa.string())
    ref_len = pc.utf8_length(ref_a).to_numpy().astype(np.int64)
    alt_len = pc.utf8_length(alt_a).to_numpy().astype(np.int64)
    same_first = pc.equal(pc.utf8_slice_codeunits(ref_a, 0, 1), pc.utf8_slice_codeunits(alt_a, 0, 1))
    # a shared anchor base is dropped (as VCF writes an indel)
    anchored = same_first.to_numpy(zero_copy_only=False) & (ref_len != alt_len)
    start = pos + anchored
    end = start + ref_len - anchored - 1
    alt_a = pc.if_else(pa.array(anchored), pc.utf8_slice_codeunits(alt_a, 1), alt_a)
    alt_t = _on_transcript_strand(alt_a.to_numpy(zero_copy_only=False), plus, reverse=True)
    insertion = end < start
    # the positions in transcript order: an insertion lies between its two flanks
    first = np.where(plus, np.where(insertion, end, start), np.where(insertion, start, end))
    last = np.where(plus, np.where(insertion, start, end), np.where(insertion, end, start))
    a, b = _intron_text(arrays, tx, k, plus, first), _intron_text(arrays, tx, k, plus, last)
    span = pc.if_else(pc.and_(pc.equal(a, b), pa.array(~insertion)), a, pc.binary_join_element_wise(a, b, "_"))
    change = pc.if_else(
        pa.array(insertion),
        pc.binary_join_element_wise("ins", alt_t, ""),
        pc.if_else(pc.equal(pc.utf8_length(alt_t), 0), pa.scalar("del"), pc.binary_join_element_wise("delins", alt_t, "")),
    )
    prefix = pa.array(np.where(arrays.coding[tx], "c.", "n."))
    return pc.binary_join_element_wise(prefix, span, change, "").to_numpy(zero_copy_only=False)


def annotate_bulk(
    arrays: TranscriptArrays,
    chrom: np.ndarray,
    pos: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
    *,
    indels: bool = False,
    columns: Collection[str] | None = None,
    genome: ReferenceGenome | None = None,
) -> BulkResult:
    """Settles every allele whose transcripts are all far from exons; leaves the rest (done=False).

    `indels` lets deep intronic indels through too where the reference sequence around them is unknown (no
    `genome`, or blocks of N in it): their HGVS c. is withheld with a note, as the per-allele path does; where
    the sequence is known the per-allele path moves them 3' and spots duplications. `columns` names the output columns
    wanted (default all; e.g. without other_transcripts its per-pair text is never built). SNVs in or near exons are settled
    here too, except on coding bases of transcripts whose sequence `genome` holds (codon-level terms).
    """
    n = len(pos)
    pos = pos.astype(np.int64)
    ref_arrow, alt_arrow = pa.array(ref, pa.string()), pa.array(alt, pa.string())
    ref_len = pc.utf8_length(ref_arrow).to_numpy().astype(np.int64)
    alt_len = pc.utf8_length(alt_arrow).to_numpy().astype(np.int64)
    snv = (ref_len == 1) & (alt_len == 1)
    plain_snv = snv & _in_bases(ref_arrow) & _in_bases(alt_arrow)
    symbolic = (
        pc.starts_with(alt_arrow, "<").to_numpy(zero_copy_only=False)
        | pc.match_substring(alt_arrow, "[").to_numpy(zero_copy_only=False)
        | pc.match_substring(alt_arrow, "]").to_numpy(zero_copy_only=False)
    )
    # the span the per-allele path uses: a shared anchor base dropped; an insertion spans its two flanks
    same_first = pc.equal(pc.utf8_slice_codeunits(ref_arrow, 0, 1), pc.utf8_slice_codeunits(alt_arrow, 0, 1))
    anchored = same_first.to_numpy(zero_copy_only=False) & (ref_len != alt_len)
    start, end = pos + anchored, pos + ref_len - 1
    # a pure insertion or deletion is placed by the sequence around it: where some of it may be known, the
    # per-allele path moves it 3' on each transcript (and names the dup)
    pure_indel = anchored & (np.minimum(ref_len, alt_len) == 1) & ~symbolic
    shiftable = np.zeros(n, dtype=bool)
    if genome is not None and pure_indel.any():
        rows_indel = np.nonzero(pure_indel)[0]
        shiftable[rows_indel] = genome.may_know_many(chrom[rows_indel], start[rows_indel] - 1, end[rows_indel] + 1)
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    row, tx = arrays.pairs(chrom, lo, hi)
    tx_first, tx_last = arrays.tx_start[tx] + 1, arrays.tx_end[tx]
    plus = arrays.strand[tx] > 0
    left_of, right_of = hi[row] < tx_first, lo[row] > tx_last
    outside = left_of | right_of
    distance = np.where(left_of, tx_first - hi[row], lo[row] - tx_last)
    rank = np.where(left_of == plus, _UPSTREAM, _DOWNSTREAM)
    in_flank = ~outside | (distance <= FLANK)
    row, tx, rank, distance, outside, plus = (
        row[in_flank],
        tx[in_flank],
        rank[in_flank],
        distance[in_flank],
        outside[in_flank],
        plus[in_flank],
    )
    # inside a transcript: only alleles deep in an intron are settled here
    p, p_hi = lo[row], hi[row]
    k = np.searchsorted(arrays.exon_key, tx * _KEY + p - 1, side="right") - 1
    k = np.clip(k, 0, len(arrays.exon_key) - 1)
    next_k = np.minimum(k + 1, len(arrays.exon_key) - 1)
    has_next = (k + 1) < arrays.exon_offset[tx + 1]
    d_left = p - arrays.exon_end[k]
    d_right = arrays.exon_start[next_k] + 1 - p
    d_right_hi = arrays.exon_start[next_k] + 1 - p_hi
    kind_ok = snv[row] | (indels & (ref_len[row] + alt_len[row] <= 200) & ~shiftable[row])
    deep = kind_ok & has_next & (d_left > SPLICE_MARGIN) & (d_right_hi > SPLICE_MARGIN)
    near = _near_exon_snvs(arrays, row, tx, k, p, ~outside & ~deep, plain_snv, genome)
    settled_pair = (outside & ~shiftable[row]) | deep | near.settled
    # an allele is settled here only when every one of its transcript pairs is
    unsettled = np.zeros(n, dtype=bool)
    unsettled[row[~settled_pair]] = True
    # chrM alleles are described in m. numbering by the per-allele path
    done = ~unsettled & ~symbolic & (chrom != "MT")
    keep = done[row]
    mask = np.where(outside, np.int64(1) << rank, np.int64(1) << _INTRON)
    mask = np.where(near.settled, near.mask, mask)
    exonic = near.settled & near.exonic
    # alleles with a pair near an exon sort their ties in the index order of the per-allele path
    near_allele = np.zeros(n, dtype=bool)
    near_allele[row[near.settled]] = True
    tiebreak = np.where(near_allele[row], arrays.index_order[tx], tx)
    row, tx, mask, distance, outside, exonic, plus, k, next_k, d_left, d_right, tiebreak, cdna = (
        a[keep] for a in (row, tx, mask, distance, outside, exonic, plus, k, next_k, d_left, d_right, tiebreak,
                          near.cdna)
    )
    rank = _lowest_bit(mask)
    # most severe pair first, then coding transcripts, then transcripts with an HGNC id, then transcript order
    # (the per-allele path's sort: a pair without HGVS c. counts as non-coding)
    non_coding = outside | ~arrays.coding[tx]
    order = _pair_order(row, rank, non_coding, arrays.no_hgnc[tx], tiebreak)
    row, tx, rank, mask, distance, outside, exonic, plus, k, next_k, d_left, d_right, cdna = (
        a[order] for a in (row, tx, rank, mask, distance, outside, exonic, plus, k, next_k, d_left, d_right, cdna)
    )
    intronic = ~outside & ~exonic
    after = np.where(plus, d_left, d_right)
    before = np.where(plus, d_right, d_left)
    upstream_anchor = np.where(plus, arrays.cdna_at_end[k], arrays.cdna_at_start[next_k])
    downstream_anchor = np.where(plus, arrays.cdna_at_start[next_k], arrays.cdna_at_end[k])
    use_up = after <= before
    anchor = np.where(use_up, upstream_anchor, downstream_anchor)
    offset = np.where(use_up, after, -before)
    local = k - arrays.exon_offset[tx]
    intron_number = np.where(plus, local + 1, arrays.n_exons[tx] - 1 - local)
    exon_number = np.where(plus, local + 1, arrays.n_exons[tx] - local)

    hgvs = np.full(len(row), None, dtype=object)
    single = snv[row]
    idx = np.nonzero(intronic & single)[0]
    if len(idx):
        hgvs[idx] = _snv_hgvs(arrays, tx[idx], anchor[idx], offset[idx], plus[idx], ref[row[idx]], alt[row[idx]])
    idx = np.nonzero(exonic)[0]
    if len(idx):
        hgvs[idx] = _snv_hgvs(arrays, tx[idx], cdna[idx], None, plus[idx], ref[row[idx]], alt[row[idx]])
    idx = np.nonzero(intronic & ~single & ~pure_indel[row])[0]
    if len(idx):  # delins: named from REF and ALT as written, no sequence needed
        hgvs[idx] = _indel_hgvs(arrays, tx[idx], k[idx], plus[idx], pos[row[idx]], ref[row[idx]], alt[row[idx]])
    # what the per-allele path withholds, with its note: an indel's place without sequence, an unknown codon
    missing = "no reference FASTA" if genome is None else "the reference FASTA has N there"
    note = np.full(len(row), None, dtype=object)
    note[intronic & pure_indel[row]] = f"{NOTE_SHIFT} ({missing})"
    coding_unknown = (mask & _BIT["coding_sequence_variant"]) != 0
    note[coding_unknown] = f"{NOTE_CODON} ({missing})"

    wanted = set(_BULK_COLUMNS if columns is None else columns) & set(_BULK_COLUMNS) - set(PER_TRANSCRIPT)
    # only the columns a caller keeps: a genome's 5 M-row object columns cost memory and page faults
    out: dict[str, np.ndarray] = {name: np.full(n, None, dtype=object) for name in _BULK_COLUMNS if name in wanted}
    settled = np.nonzero(done)[0]
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    rows_first, tx_first = row[first], tx[first]
    # the top transcript's own attributes are taken from Arrow arrays by this index, not copied as objects
    top = np.full(n, -1, dtype=np.int64)
    top[rows_first] = tx_first
    terms = _terms_of(mask)
    if "consequence" in out:
        out["consequence"][settled] = "intergenic_variant"
        out["consequence"][rows_first] = terms[first]
    if "impact" in out:
        out["impact"][settled] = "MODIFIER"
        out["impact"][rows_first] = _IMPACT_ARRAY[rank[first]]
    if "hgvs_c" in out:
        out["hgvs_c"][rows_first] = hgvs[first]
    if "hgvs_note" in out:
        out["hgvs_note"][rows_first] = note[first]
    if "intron" in out:
        in_intron = first & intronic
        out["intron"][row[in_intron]] = [
            f"{number}/{exons - 1}"
            for number, exons in zip(
                intron_number[in_intron].tolist(), arrays.n_exons[tx[in_intron]].tolist(), strict=True
            )
        ]
    in_exon = first & exonic
    if "exon" in out:
        out["exon"][row[in_exon]] = [
            f"{number}/{exons}"
            for number, exons in zip(exon_number[in_exon].tolist(), arrays.n_exons[tx[in_exon]].tolist(),
                                     strict=True)
        ]
    if "protein_position" in out:
        residue = _protein_position(arrays, tx, cdna, exonic)
        coding_first = in_exon & (residue > 0)
        out["protein_position"][row[coding_first]] = residue[coding_first].tolist()
    if "distance" in out:
        flanking = first & outside
        out["distance"][row[flanking]] = distance[flanking].tolist()
    others = np.nonzero(~first)[0] if "other_transcripts" in out else np.zeros(0, dtype=np.int64)
    for i in others.tolist():
        r, t = int(row[i]), int(tx[i])
        entry = f"{arrays.gene[t]}:{arrays.name[t]}:{terms[i]}:{hgvs[i] or ''}:"
        previous = out["other_transcripts"][r]
        out["other_transcripts"][r] = entry if previous is None else f"{previous},{entry}"
    return BulkResult(done=done, columns=out, top=top)


@dataclass
class _NearExon:
    """Per pair: settled here (an SNV near or in an exon), its SO term bits, exonic or not, and its cDNA."""

    settled: np.ndarray
    mask: np.ndarray
    exonic: np.ndarray
    cdna: np.ndarray


def _near_exon_snvs(
    arrays: TranscriptArrays,
    row: np.ndarray,
    tx: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    candidate: np.ndarray,
    plain_snv: np.ndarray,
    genome: ReferenceGenome | None,
) -> _NearExon:
    """Terms of SNVs in an exon or near one, as the per-allele path gives them, where that is plain arithmetic.

    Left to the per-allele path: alleles other than A/C/G/T SNVs, exons or introns shorter than
    REGULAR_MIN (where a third intron's splice windows could reach), and coding bases of transcripts whose
    sequence the reference holds (codon-level terms).
    """
    full = len(row)
    # only the few pairs near an exon are worked on (a genome has millions of pairs, mostly far from exons)
    chosen = np.nonzero(candidate & plain_snv[row])[0]
    near = _NearExon(np.zeros(full, dtype=bool), np.zeros(full, dtype=np.int64), np.zeros(full, dtype=bool),
                     np.zeros(full, dtype=np.int64))
    if not len(chosen):
        return near
    tx, k, p = tx[chosen], k[chosen], p[chosen]
    m = len(chosen)
    mask = np.zeros(m, dtype=np.int64)
    settled = np.ones(m, dtype=bool)
    last = len(arrays.exon_start) - 1
    first_k, last_k = arrays.exon_offset[tx], arrays.exon_offset[tx + 1] - 1
    has_prev, has_next = k > first_k, k < last_k
    prev_k, next_k = np.maximum(k - 1, 0), np.minimum(k + 1, last)
    start0, end = arrays.exon_start[k], arrays.exon_end[k]
    exonic = p <= end
    prev_intron = start0 - arrays.exon_end[prev_k]
    next_intron = arrays.exon_start[next_k] - end
    exon_length = end - start0
    next_exon_length = arrays.exon_end[next_k] - arrays.exon_start[next_k]
    regular = np.where(
        exonic,
        (~has_prev | (prev_intron >= REGULAR_MIN)) & (~has_next | (next_intron >= REGULAR_MIN)),
        has_next & (exon_length >= REGULAR_MIN) & (next_exon_length >= REGULAR_MIN),
    )
    settled &= regular
    plus = arrays.strand[tx] > 0
    # splice terms from the intron before the exon (exonic bases only) and the one after it
    for use, intron_first, intron_last in (
        (exonic & has_prev, arrays.exon_end[prev_k] + 1, start0),
        (has_next, end + 1, arrays.exon_start[next_k]),
    ):
        site5 = (p >= intron_first) & (p <= intron_first + 1)
        site3 = (p >= intron_last - 1) & (p <= intron_last)
        donor, acceptor = np.where(plus, site5, site3), np.where(plus, site3, site5)
        region = (
            ((p >= intron_first - 3) & (p <= intron_first - 1))
            | ((p >= intron_first + 2) & (p <= intron_first + 7))
            | ((p >= intron_last - 7) & (p <= intron_last - 2))
            | ((p >= intron_last + 1) & (p <= intron_last + 3))
        )
        mask |= np.where(use & donor, _BIT["splice_donor_variant"], 0)
        mask |= np.where(use & acceptor, _BIT["splice_acceptor_variant"], 0)
        mask |= np.where(use & region, _BIT["splice_region_variant"], 0)
    coding = arrays.coding[tx]
    mask |= np.where(~exonic, _BIT["intron_variant"], 0)
    mask |= np.where(~coding, _BIT["non_coding_transcript_variant"], 0)
    mask |= np.where(exonic & ~coding, _BIT["non_coding_transcript_exon_variant"], 0)
    step = p - start0 - 1
    cdna = np.where(plus, arrays.cdna_at_start[k] + step, arrays.cdna_at_start[k] - step)
    cds_first, cds_last = arrays.cds_first[tx], arrays.cds_last[tx]
    in_coding_exon = exonic & coding
    mask |= np.where(in_coding_exon & (cdna < cds_first), _BIT["5_prime_UTR_variant"], 0)
    mask |= np.where(in_coding_exon & (cdna > cds_last), _BIT["3_prime_UTR_variant"], 0)
    in_cds = in_coding_exon & (cdna >= cds_first) & (cdna <= cds_last)
    # without the transcript's sequence a base change in the CDS is only start_lost (first codon) or
    # coding_sequence_variant; with it, codon-level terms need the per-allele path
    touches_start = cdna - cds_first + 1 <= 3
    mask |= np.where(in_cds & touches_start, _BIT["start_lost"], 0)
    mask |= np.where(in_cds & ~touches_start, _BIT["coding_sequence_variant"], 0)
    if genome is not None:
        sequenced = np.zeros(len(arrays.strand), dtype=bool)
        for t in np.unique(tx[settled & in_cds]).tolist():
            sequenced[t] = transcript_sequence(arrays.transcripts.transcripts[t], genome) is not None
        settled &= ~(in_cds & sequenced[tx])
    near.settled[chosen] = settled
    near.mask[chosen] = mask
    near.exonic[chosen] = exonic & settled
    near.cdna[chosen] = np.where(settled, cdna, 0)
    return near


def _protein_position(arrays: TranscriptArrays, tx: np.ndarray, cdna: np.ndarray, exonic: np.ndarray) -> np.ndarray:
    """Residue number of an exonic base in the CDS, else 0."""
    first, last = arrays.cds_first[tx], arrays.cds_last[tx]
    in_cds = exonic & arrays.coding[tx] & (cdna >= first) & (cdna <= last)
    return np.where(in_cds, (cdna - first) // 3 + 1, 0)


def _pair_order(
    row: np.ndarray, rank: np.ndarray, non_coding: np.ndarray, no_hgnc: np.ndarray, tiebreak: np.ndarray
) -> np.ndarray:
    """np.lexsort((tiebreak, no_hgnc, non_coding, rank, row)): one sort of a packed key when the fields fit."""
    tie_bits = max(int(tiebreak.max(initial=0)).bit_length(), 1)
    row_bits = max(int(row.max(initial=0)).bit_length(), 1)
    if row_bits + 5 + 2 + tie_bits > 62 or int(rank.max(initial=0)) >= 32:
        return np.lexsort((tiebreak, no_hgnc, non_coding, rank, row))
    key = row.astype(np.int64) << np.int64(5)
    key |= rank.astype(np.int64)
    key = (key << np.int64(1)) | non_coding.astype(np.int64)
    key = (key << np.int64(1)) | no_hgnc.astype(np.int64)
    key = (key << np.int64(tie_bits)) | tiebreak.astype(np.int64)
    # every (row, transcript) pair is distinct, so the packed keys are too and any sort gives the same order
    return np.argsort(key)


def _lowest_bit(mask: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit (the most severe SO term) of each non-zero mask."""
    low = mask & -mask
    return np.log2(low.astype(np.float64)).astype(np.int64)


def _terms_of(mask: np.ndarray) -> np.ndarray:
    """The consequence text (SO terms, most severe first, joined by &) of each term mask."""
    out = np.empty(len(mask), dtype=object)
    if not len(mask):
        return out
    values, inverse = np.unique(mask, return_inverse=True)
    texts = np.empty(len(values), dtype=object)
    texts[:] = ["&".join(term for bit, term in enumerate(_SO_NAMES) if int(v) >> bit & 1) for v in values.tolist()]
    return texts[inverse.reshape(-1)]


_BULK_COLUMNS = (
    "hgvs_note",
    "gene",
    "hgnc_id",
    "transcript",
    "refseq",
    "consequence",
    "impact",
    "hgvs_c",
    "exon",
    "intron",
    "protein_position",
    "distance",
    "pli",
    "loeuf",
    "clingen_hi",
    "clingen_ts",
    "other_transcripts",
)
