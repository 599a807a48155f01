"""Reference genome sequence by region (htslib faidx through pysam); N bases are unknown sequence, not bases."""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from gmc.genomics.annotation.grouping import groups_of
from gmc.genomics.vcf import BUILD_CONTIG_LENGTHS, normalise_build, normalise_chrom

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")

#: Length of the revised Cambridge Reference Sequence (NC_012920.1), GRCh38's chrM and b37's MT.
RCRS_LENGTH = 16569

#: BGZF blocks compressed to at most this many bytes are candidates for "all N" (checked by content).
_SMALL_BLOCK = 2048


class ReferenceSequenceError(ValueError):
    """A reference FASTA is missing, lacks its index, or does not fit the genome build; names the file."""


def reverse_complement(sequence: str) -> str:
    """Returns the reverse complement of a DNA sequence."""
    return sequence.translate(_COMPLEMENT)[::-1]


def known(sequence: str) -> bool:
    """True when every base of a fetched sequence is known (no N, and not cut short)."""
    return bool(sequence) and "N" not in sequence


class ReferenceGenome:
    """Random access to a faidx-indexed FASTA (plain, or bgzipped with .gzi); contig names normalised.

    Bases written N (an N-masked or gapped reference) are unknown: callers treat them as missing sequence.
    """

    def __init__(self, path: str | Path, *, build: str | None = None) -> None:
        self.path = Path(path)
        fai = Path(f"{self.path}.fai")
        if not self.path.is_file():
            raise ReferenceSequenceError(f"{self.path}: reference FASTA not found")
        if not fai.is_file():
            raise ReferenceSequenceError(f"{self.path}: no .fai index beside it (run samtools faidx)")
        with self.path.open("rb") as handle:
            self.bgzipped = handle.read(2) == b"\x1f\x8b"
        if self.bgzipped and not Path(f"{self.path}.gzi").is_file():
            raise ReferenceSequenceError(f"{self.path}: bgzipped FASTA needs a .gzi index beside it (samtools faidx)")
        #: normalised contig -> (name in the FASTA, length, offset, bases per line, bytes per line)
        self.contigs: dict[str, tuple[str, int, int, int, int]] = {}
        for number, line in enumerate(fai.read_text().splitlines(), start=1):
            fields = line.split("\t")
            if len(fields) < 5 or not all(f.isdigit() for f in fields[1:5]):
                raise ReferenceSequenceError(f"{fai} line {number}: expected name and 4 numbers, tab-separated")
            name, length, offset, line_bases, line_bytes = fields[:5]
            self.contigs[normalise_chrom(name)] = (name, int(length), int(offset), int(line_bases), int(line_bytes))
        self.build = self._check_build(build) if build else None
        import pysam  # htslib's faidx; imported here so that runs without a FASTA do not pay for it

        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as error:
            raise ReferenceSequenceError(f"{self.path}: cannot open as an indexed FASTA ({error})") from None
        # a forked worker (ingest annotates in forked processes) must not share the parent's file position
        self._pid = os.getpid()
        self._unknown_blocks: tuple[list[int], set[int]] | None = None

    def _check_build(self, build: str) -> str:
        """Refuses a FASTA whose primary contigs are missing or have other lengths than the build's."""
        build = normalise_build(build)
        expected = BUILD_CONTIG_LENGTHS[build]
        present = {c: self.contigs[c][1] for c in expected if c in self.contigs}
        if not present:
            names = ", ".join(sorted(self.contigs)[:5]) or "none"
            raise ReferenceSequenceError(
                f"{self.path}: none of the {build} chromosomes (1-22, X, Y) is in the FASTA (its contigs: {names})"
            )
        wrong = [f"{c} is {n:,} long, {build} has {expected[c]:,}" for c, n in present.items() if n != expected[c]]
        if wrong:
            raise ReferenceSequenceError(f"{self.path}: contig lengths do not match {build}: " + "; ".join(wrong[:3]))
        return build

    @property
    def rcrs(self) -> bool:
        """True when the FASTA's mitochondrial contig is the rCRS (16,569 bases), the sequence m. positions use."""
        contig = self.contigs.get("MT")
        return contig is not None and contig[1] == RCRS_LENGTH

    def length(self, chrom: str) -> int | None:
        """The length of a contig, or None when the FASTA lacks it."""
        contig = self.contigs.get(normalise_chrom(chrom))
        return contig[1] if contig else None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Returns the upper-case bases of chrom:start-end (1-based, inclusive; clipped to the contig)."""
        contig = self.contigs.get(normalise_chrom(chrom))
        if contig is None:
            raise ReferenceSequenceError(f"{self.path.name}: contig {chrom!r} not in the FASTA")
        name, length = contig[0], contig[1]
        start, end = max(start, 1), min(end, length)
        if end < start:
            return ""
        if self._pid != os.getpid():
            import pysam

            self._fasta, self._pid = pysam.FastaFile(str(self.path)), os.getpid()
        return self._fasta.fetch(name, start - 1, end).upper()

    def sequence_or_none(self, chrom: str, start: int, end: int) -> str | None:
        """The bases of chrom:start-end when every one is known; None when any is N, off the contig or missing."""
        if normalise_chrom(chrom) not in self.contigs or start < 1:
            return None
        if not self.may_know(chrom, start, end):
            return None
        bases = self.fetch(chrom, start, end)
        return bases if len(bases) == end - start + 1 and "N" not in bases else None

    def may_know(self, chrom: str, start: int, end: int) -> bool:
        """False when chrom:start-end lies wholly in BGZF blocks of N (decided without inflating them).

        True means some base there may be known (fetch to find out). A plain FASTA always answers True.
        """
        contig = self.contigs.get(normalise_chrom(chrom))
        if contig is None:
            return False
        if not self.bgzipped:
            return True
        offsets, unknown = self._blocks()
        _, length, offset, line_bases, line_bytes = contig
        start, end = max(start, 1), min(end, length)
        if end < start:
            return False
        first = offset + (start - 1) // line_bases * line_bytes + (start - 1) % line_bases
        last = offset + (end - 1) // line_bases * line_bytes + (end - 1) % line_bases
        i, j = bisect.bisect_right(offsets, first) - 1, bisect.bisect_right(offsets, last) - 1
        return any(k not in unknown for k in range(i, j + 1))

    def may_know_many(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """may_know for many spans at once (numpy arrays; contigs normalised), without a Python call per span."""
        out = np.zeros(len(start), dtype=bool)
        if not self.bgzipped:
            for name, rows in groups_of(chrom):
                out[rows] = name in self.contigs
            return out
        offsets, unknown = self._blocks()
        offset_array = np.asarray(offsets, dtype=np.int64)
        is_unknown = np.zeros(len(offsets), dtype=bool)
        is_unknown[list(unknown)] = True
        # blocks up to each index that are known: a span is knowable when any of its blocks is
        known_before = np.concatenate([[0], np.cumsum(~is_unknown)])
        for name, rows in groups_of(chrom):
            contig = self.contigs.get(name)
            if contig is None:
                continue
            _, length, offset, line_bases, line_bytes = contig
            a = np.clip(start[rows].astype(np.int64), 1, length) - 1
            b = np.clip(end[rows].astype(np.int64), 1, length) - 1
            first = offset + a // line_bases * line_bytes + a % line_bases
            last = offset + b // line_bases * line_bytes + b % line_bases
            i = np.searchsorted(offset_array, first, side="right") - 1
            j = np.searchsorted(offset_array, last, side="right") - 1
            out[rows] = known_before[j + 1] - known_before[i] > 0
        return out

    def _blocks(self) -> tuple[list[int], set[int]]:
        """Uncompressed start offset of every BGZF block, and the blocks that hold only N and line breaks.

        Blocks of N compress to a few hundred bytes and repeat one of a few contents (one per line phase), so
        each distinct small block is inflated once. Built on first use.
        """
        if self._unknown_blocks is not None:
            return self._unknown_blocks
        data = Path(f"{self.path}.gzi").read_bytes()
        (count,) = struct.unpack_from("<Q", data, 0)
        pairs = struct.unpack_from(f"<{2 * count}Q", data, 8)
        compressed = [0, *pairs[0::2]]
        uncompressed = [0, *pairs[1::2]]
        size = self.path.stat().st_size
        ends = [*compressed[1:], size]
        unknown: set[int] = set()
        verdict: dict[bytes, bool] = {}
        with self.path.open("rb") as handle:
            whole = handle.read() if size <= 64 << 20 else None
            for index, (begin, stop) in enumerate(zip(compressed, ends, strict=True)):
                if stop - begin > _SMALL_BLOCK:
                    continue
                if whole is not None:
                    raw = whole[begin:stop]
                else:
                    handle.seek(begin)
                    raw = handle.read(stop - begin)
                digest = hashlib.blake2b(raw, digest_size=16).digest()
                all_n = verdict.get(digest)
                if all_n is None:
                    text = zlib.decompressobj(31).decompress(raw)
                    all_n = verdict[digest] = bool(text) and not text.translate(None, b"Nn\n\r")
                if all_n:
                    unknown.add(index)
        self._unknown_blocks = (uncompressed, unknown)
        return self._unknown_blocks


def left_align(
    genome: ReferenceGenome, chrom: str, pos: int, ref: str, alt: str, *, limit: int = 500
) -> tuple[int, str, str]:
    """Moves a trimmed indel to its leftmost equivalent position (as bcftools norm does); others unchanged."""
    if len(ref) == len(alt) or not ref or not alt or alt.startswith("<"):
        return pos, ref, alt
    original = (pos, ref, alt)
    for _ in range(limit):
        if ref[-1] != alt[-1]:
            break
        ref, alt = ref[:-1], alt[:-1]
        if not ref or not alt:
            base = genome.fetch(chrom, pos - 1, pos - 1)
            if base not in ("A", "C", "G", "T"):
                return original  # unknown sequence: leave the allele where it was written
            ref, alt, pos = base + ref, base + alt, pos - 1
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


@lru_cache(maxsize=4)
def load_reference(path: str, build: str | None = None) -> ReferenceGenome:
    """Opens a reference FASTA once per process, checked against the build when one is given."""
    return ReferenceGenome(path, build=build)
