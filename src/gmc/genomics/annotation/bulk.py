"""Vectorised annotation of the alleles away from exons: intergenic, up/downstream and deep intronic SNVs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmc.genomics.annotation.genes import GeneKnowledge
from gmc.genomics.annotation.transcripts import FLANK, TranscriptSet

#: Alleles this close to an exon go through the per-allele path (splice region reaches 8 bases in).
SPLICE_MARGIN = 8
_KEY = np.int64(1) << np.int64(32)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_INTRON, _UPSTREAM, _DOWNSTREAM = 20, 22, 23  # SO_RANK of the three terms this path writes
_TERM = {
    _INTRON: "intron_variant",
    _UPSTREAM: "upstream_gene_variant",
    _DOWNSTREAM: "downstream_gene_variant",
}
_TERM_ARRAY = np.array([_TERM.get(rank) for rank in range(max(_TERM) + 1)], dtype=object)


@dataclass
class BulkResult:
    """Columns for the alleles the vectorised path settled; `done` marks them among the input."""

    done: np.ndarray
    columns: dict[str, list]


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
        # the same as object arrays, for fancy indexing by transcript number
        self.gene_obj, self.hgnc_obj, self.name_obj, self.refseq_obj = (
            _objects(v) for v in (self.gene, self.hgnc, self.name, self.refseq)
        )
        self.pli_obj, self.loeuf_obj, self.hi_obj, self.ts_obj = (
            _objects(v) for v in (self.pli, self.loeuf, self.hi, self.ts)
        )
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

    def pairs(self, chrom: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (allele row, transcript) pairs within the flank, as two index arrays."""
        rows_out, tx_out = [], []
        for name in np.unique(chrom):
            index = self.transcripts._index.get(name)
            if index is None:
                continue
            starts, ends, cummax, ids = index
            rows = np.nonzero(chrom == name)[0]
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


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _c_notation(arrays: TranscriptArrays, tx: np.ndarray, cdna: np.ndarray) -> list[str]:
    first, last = arrays.cds_first[tx], arrays.cds_last[tx]
    coding = arrays.coding[tx]
    out = []
    for c, f, la, cod in zip(cdna.tolist(), first.tolist(), last.tolist(), coding.tolist(), strict=True):
        if not cod:
            out.append(str(c))
        elif c < f:
            out.append(f"-{f - c}")
        elif c > la:
            out.append(f"*{c - la}")
        else:
            out.append(str(c - f + 1))
    return out


def _c_scalar(arrays: TranscriptArrays, t: int, cdna: int) -> str:
    if not arrays.coding[t]:
        return str(cdna)
    first, last = int(arrays.cds_first[t]), int(arrays.cds_last[t])
    if cdna < first:
        return f"-{first - cdna}"
    if cdna > last:
        return f"*{cdna - last}"
    return str(cdna - first + 1)


def _intron_coordinate(arrays: TranscriptArrays, t: int, k: int, plus: bool, q: int) -> str:
    """HGVS coordinate of intronic position q between genomic-order exons k and k+1 (nearest-exon rule)."""
    d_left = q - int(arrays.exon_end[k])
    d_right = int(arrays.exon_start[k + 1]) + 1 - q
    after, before = (d_left, d_right) if plus else (d_right, d_left)
    if after <= before:
        anchor = int(arrays.cdna_at_end[k] if plus else arrays.cdna_at_start[k + 1])
        return f"{_c_scalar(arrays, t, anchor)}+{after}"
    anchor = int(arrays.cdna_at_start[k + 1] if plus else arrays.cdna_at_end[k])
    return f"{_c_scalar(arrays, t, anchor)}-{before}"


def _indel_hgvs(arrays: TranscriptArrays, t: int, k: int, plus: bool, pos: int, ref: str, alt: str) -> str:
    """HGVS c. of an intronic indel without reference sequence (no 3' shift), as the per-allele path."""
    if ref[:1] == alt[:1] and len(ref) != len(alt):
        pos, ref, alt = pos + 1, ref[1:], alt[1:]
    start, end = pos, pos + len(ref) - 1
    prefix = "c." if arrays.coding[t] else "n."
    alt_t = alt if plus else alt.translate(_COMPLEMENT)[::-1]
    if end < start:
        a, b = (end, start) if plus else (start, end)
        left, right = _intron_coordinate(arrays, t, k, plus, a), _intron_coordinate(arrays, t, k, plus, b)
        return f"{prefix}{left}_{right}ins{alt_t}"
    first, last = (start, end) if plus else (end, start)
    a, b = _intron_coordinate(arrays, t, k, plus, first), _intron_coordinate(arrays, t, k, plus, last)
    span = a if a == b else f"{a}_{b}"
    return f"{prefix}{span}del" if not alt else f"{prefix}{span}delins{alt_t}"


def annotate_bulk(
    arrays: TranscriptArrays,
    chrom: np.ndarray,
    pos: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
    *,
    indels: bool = False,
) -> BulkResult:
    """Settles every allele whose transcripts are all far from exons; leaves the rest (done=False).

    `indels` lets deep intronic indels through too: right only without a reference sequence, since with
    one the per-allele path shifts them 3' and spots duplications.
    """
    n = len(pos)
    pos = pos.astype(np.int64)
    ref_arrow, alt_arrow = pa.array(ref, pa.string()), pa.array(alt, pa.string())
    ref_len = pc.utf8_length(ref_arrow).to_numpy().astype(np.int64)
    alt_len = pc.utf8_length(alt_arrow).to_numpy().astype(np.int64)
    snv = (ref_len == 1) & (alt_len == 1)
    symbolic = (
        pc.starts_with(alt_arrow, "<").to_numpy(zero_copy_only=False)
        | pc.match_substring(alt_arrow, "[").to_numpy(zero_copy_only=False)
        | pc.match_substring(alt_arrow, "]").to_numpy(zero_copy_only=False)
    )
    # the span the per-allele path uses: a shared anchor base dropped; an insertion spans its two flanks
    same_first = pc.equal(pc.utf8_slice_codeunits(ref_arrow, 0, 1), pc.utf8_slice_codeunits(alt_arrow, 0, 1))
    anchored = same_first.to_numpy(zero_copy_only=False) & (ref_len != alt_len)
    start, end = pos + anchored, pos + ref_len - 1
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
    kind_ok = snv[row] | (indels & (ref_len[row] + alt_len[row] <= 200))
    deep = kind_ok & has_next & (d_left > SPLICE_MARGIN) & (d_right_hi > SPLICE_MARGIN)
    settled_pair = outside | deep
    rank = np.where(outside, rank, _INTRON)
    # an allele is settled here only when every one of its transcript pairs is
    unsettled = np.zeros(n, dtype=bool)
    unsettled[row[~settled_pair]] = True
    done = ~unsettled & ~symbolic
    keep = done[row]
    row, tx, rank, distance, outside, plus, k, next_k, d_left, d_right = (
        row[keep],
        tx[keep],
        rank[keep],
        distance[keep],
        outside[keep],
        plus[keep],
        k[keep],
        next_k[keep],
        d_left[keep],
        d_right[keep],
    )
    # most severe pair first, then transcripts with an HGNC id, then transcript order (as the slow path)
    order = np.lexsort((tx, arrays.no_hgnc[tx], rank, row))
    row, tx, rank, distance, outside, plus, k, next_k, d_left, d_right = (
        a[order] for a in (row, tx, rank, distance, outside, plus, k, next_k, d_left, d_right)
    )
    intronic = ~outside
    after = np.where(plus, d_left, d_right)
    before = np.where(plus, d_right, d_left)
    upstream_anchor = np.where(plus, arrays.cdna_at_end[k], arrays.cdna_at_start[next_k])
    downstream_anchor = np.where(plus, arrays.cdna_at_start[next_k], arrays.cdna_at_end[k])
    use_up = after <= before
    anchor = np.where(use_up, upstream_anchor, downstream_anchor)
    offset = np.where(use_up, after, -before)
    local = k - arrays.exon_offset[tx]
    intron_number = np.where(plus, local + 1, arrays.n_exons[tx] - 1 - local)

    hgvs = [None] * len(row)
    idx = np.nonzero(intronic)[0]
    if len(idx):
        coords = _c_notation(arrays, tx[idx], anchor[idx])
        refs, alts = ref[row[idx]], alt[row[idx]]
        for j, i in enumerate(idx.tolist()):
            r, a = refs[j], alts[j]
            if len(r) != 1 or len(a) != 1:
                hgvs[i] = _indel_hgvs(arrays, int(tx[i]), int(k[i]), bool(plus[i]), int(pos[row[i]]), r, a)
                continue
            if not plus[i]:
                r, a = r.translate(_COMPLEMENT), a.translate(_COMPLEMENT)
            prefix = "c." if arrays.coding[tx[i]] else "n."
            sign = "+" if offset[i] > 0 else "-"
            hgvs[i] = f"{prefix}{coords[j]}{sign}{abs(int(offset[i]))}{r}>{a}"

    columns: dict[str, np.ndarray] = {name: np.full(n, None, dtype=object) for name in _BULK_COLUMNS}
    settled = np.nonzero(done)[0]
    columns["consequence"][settled] = "intergenic_variant"
    columns["impact"][settled] = "MODIFIER"
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    rows_first, tx_first = row[first], tx[first]
    for name, values in (
        ("gene", arrays.gene_obj),
        ("hgnc_id", arrays.hgnc_obj),
        ("transcript", arrays.name_obj),
        ("refseq", arrays.refseq_obj),
        ("pli", arrays.pli_obj),
        ("loeuf", arrays.loeuf_obj),
        ("clingen_hi", arrays.hi_obj),
        ("clingen_ts", arrays.ts_obj),
    ):
        columns[name][rows_first] = values[tx_first]
    columns["consequence"][rows_first] = _TERM_ARRAY[rank[first]]
    hgvs_array = np.empty(len(row), dtype=object)
    hgvs_array[:] = hgvs
    columns["hgvs_c"][rows_first] = hgvs_array[first]
    in_intron = first & intronic
    columns["intron"][row[in_intron]] = [
        f"{number}/{exons - 1}"
        for number, exons in zip(
            intron_number[in_intron].tolist(), arrays.n_exons[tx[in_intron]].tolist(), strict=True
        )
    ]
    flanking = first & outside
    columns["distance"][row[flanking]] = distance[flanking].tolist()
    others = np.nonzero(~first)[0]
    for i in others.tolist():
        r, t = int(row[i]), int(tx[i])
        entry = f"{arrays.gene[t]}:{arrays.name[t]}:{_TERM[int(rank[i])]}:{hgvs[i] or ''}:"
        previous = columns["other_transcripts"][r]
        columns["other_transcripts"][r] = entry if previous is None else f"{previous},{entry}"
    return BulkResult(done=done, columns=columns)


_BULK_COLUMNS = (
    "gene",
    "hgnc_id",
    "transcript",
    "refseq",
    "consequence",
    "impact",
    "hgvs_c",
    "intron",
    "distance",
    "pli",
    "loeuf",
    "clingen_hi",
    "clingen_ts",
    "other_transcripts",
)
