"""Reference genome sequence by region from a faidx-indexed FASTA (plain or bgzipped with .gzi)."""

from __future__ import annotations

import bisect
import struct
import zlib
from functools import lru_cache
from pathlib import Path

from gmc.genomics.vcf import normalise_chrom

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


class ReferenceSequenceError(ValueError):
    """A reference FASTA is missing its index, or a contig is not in it."""


def reverse_complement(sequence: str) -> str:
    """Returns the reverse complement of a DNA sequence."""
    return sequence.translate(_COMPLEMENT)[::-1]


class ReferenceGenome:
    """Random access to a FASTA through its .fai (and .gzi when bgzipped); contig names normalised."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        fai = Path(f"{self.path}.fai")
        if not self.path.is_file():
            raise ReferenceSequenceError(f"{self.path}: reference FASTA not found")
        if not fai.is_file():
            raise ReferenceSequenceError(f"{self.path}: no .fai index beside it (run samtools faidx)")
        #: normalised contig -> (length, offset, bases per line, bytes per line)
        self.contigs: dict[str, tuple[int, int, int, int]] = {}
        for number, line in enumerate(fai.read_text().splitlines(), start=1):
            fields = line.split("\t")
            if len(fields) < 5:
                raise ReferenceSequenceError(f"{fai} line {number}: expected 5 tab-separated fields")
            name, length, offset, line_bases, line_bytes = fields[:5]
            self.contigs[normalise_chrom(name)] = (int(length), int(offset), int(line_bases), int(line_bytes))
        with self.path.open("rb") as handle:
            self.bgzipped = handle.read(2) == b"\x1f\x8b"
        self._blocks_compressed: list[int] = [0]
        self._blocks_uncompressed: list[int] = [0]
        if self.bgzipped:
            gzi = Path(f"{self.path}.gzi")
            if not gzi.is_file():
                raise ReferenceSequenceError(
                    f"{self.path}: bgzipped FASTA needs a .gzi index (samtools faidx)"
                )
            data = gzi.read_bytes()
            (count,) = struct.unpack_from("<Q", data, 0)
            pairs = struct.unpack_from(f"<{2 * count}Q", data, 8)
            self._blocks_compressed += list(pairs[0::2])
            self._blocks_uncompressed += list(pairs[1::2])
        self._handle = self.path.open("rb")
        self._cache: dict[int, bytes] = {}

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Returns the upper-case bases of chrom:start-end (1-based, inclusive)."""
        contig = self.contigs.get(normalise_chrom(chrom))
        if contig is None:
            raise ReferenceSequenceError(f"{self.path.name}: contig {chrom!r} not in the FASTA")
        length, offset, line_bases, line_bytes = contig
        start = max(start, 1)
        end = min(end, length)
        if end < start:
            return ""
        first = offset + (start - 1) // line_bases * line_bytes + (start - 1) % line_bases
        last = offset + (end - 1) // line_bases * line_bytes + (end - 1) % line_bases
        raw = self._read(first, last + 1 - first)
        return raw.replace(b"\n", b"").replace(b"\r", b"").decode("ascii").upper()

    def _read(self, offset: int, size: int) -> bytes:
        if not self.bgzipped:
            self._handle.seek(offset)
            return self._handle.read(size)
        parts = []
        index = bisect.bisect_right(self._blocks_uncompressed, offset) - 1
        skip = offset - self._blocks_uncompressed[index]
        remaining = size
        # slice each block rather than joining whole 64 KiB blocks: most fetches are a few hundred bases
        while remaining > 0 and index < len(self._blocks_compressed):
            block = self._block(index)
            piece = block[skip : skip + remaining]
            parts.append(piece)
            remaining -= len(piece)
            skip = 0
            index += 1
        return b"".join(parts)

    def _block(self, index: int) -> bytes:
        cached = self._cache.get(index)
        if cached is None:
            self._handle.seek(self._blocks_compressed[index])
            # a BGZF block is at most 64 KiB compressed; one gzip member each
            decompressor = zlib.decompressobj(31)
            cached = decompressor.decompress(self._handle.read(65536 + 1024))
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[index] = cached
        return cached


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
def load_reference(path: str) -> ReferenceGenome:
    """Opens a reference FASTA once per process."""
    return ReferenceGenome(path)
