"""Pure-Python UCSC chain-file liftover of genomic positions, intervals and alleles between builds."""

from __future__ import annotations

import gzip
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


class ChainFormatError(ValueError):
    """A chain file cannot be read; names the file and line."""


@dataclass(frozen=True)
class LiftedPosition:
    """A 1-based position in the target build, and the strand it maps to."""

    #: Chromosome without a chr prefix (MT for the mitochondrion).
    chrom: str
    #: 1-based position in the target build.
    pos: int
    #: "+" when the source and target run the same way, "-" when the block is reverse-complemented.
    strand: str


def _plain_chrom(chrom: str) -> str:
    """Drops a chr prefix and spells the mitochondrion MT, as gmc does everywhere."""
    name = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "MT" if name in {"M", "m"} else name


class ChainMap:
    """The ungapped aligned blocks of one chain file, indexed by source chromosome."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Per source chromosome: parallel lists of block starts (0-based), ends, and target data.
        self._starts: dict[str, list[int]] = {}
        self._blocks: dict[str, list[tuple[int, int, str, int, str, int, int]]] = {}
        self._load()

    def _load(self) -> None:
        """Reads every chain header and its block lines."""
        blocks: dict[str, list[tuple[int, int, str, int, str, int, int]]] = {}
        opener = gzip.open if self.path.suffix == ".gz" else open
        t_chrom = q_chrom = q_strand = ""
        t_pos = q_pos = q_size = score = 0
        in_chain = False
        with opener(self.path, "rt") as handle:
            for line_no, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields:
                    in_chain = False
                    continue
                if fields[0] == "chain":
                    if len(fields) < 12:
                        raise ChainFormatError(f"{self.path.name} line {line_no}: chain header has {len(fields)} fields, 12 expected")
                    score = int(float(fields[1]))
                    t_chrom, q_chrom = _plain_chrom(fields[2]), _plain_chrom(fields[7])
                    if fields[4] != "+":
                        raise ChainFormatError(f"{self.path.name} line {line_no}: source strand must be +")
                    t_pos, q_size, q_strand, q_pos = int(fields[5]), int(fields[8]), fields[9], int(fields[10])
                    in_chain = True
                    continue
                if not in_chain:
                    raise ChainFormatError(f"{self.path.name} line {line_no}: block line outside a chain")
                try:
                    size = int(fields[0])
                    blocks.setdefault(t_chrom, []).append(
                        (t_pos, t_pos + size, q_chrom, q_pos, q_strand, q_size, score)
                    )
                    if len(fields) >= 3:
                        t_pos += size + int(fields[1])
                        q_pos += size + int(fields[2])
                    else:
                        in_chain = False
                except ValueError as exc:
                    raise ChainFormatError(f"{self.path.name} line {line_no}: bad block line {line.strip()!r}") from exc
        for chrom, chrom_blocks in blocks.items():
            chrom_blocks.sort()
            self._blocks[chrom] = chrom_blocks
            self._starts[chrom] = [block[0] for block in chrom_blocks]

    def lift_position(self, chrom: str, pos: int) -> LiftedPosition | None:
        """Maps a 1-based position to the target build; None when it falls outside every aligned block."""
        chrom = _plain_chrom(chrom)
        starts = self._starts.get(chrom)
        if not starts:
            return None
        zero = pos - 1
        index = bisect_right(starts, zero) - 1
        best: tuple[int, LiftedPosition] | None = None
        # Netted chains rarely overlap; look back a few blocks so an overlap picks the best-scoring chain.
        for candidate in range(index, max(index - 8, -1), -1):
            t_start, t_end, q_chrom, q_start, q_strand, q_size, score = self._blocks[chrom][candidate]
            if not t_start <= zero < t_end:
                continue
            q_zero = q_start + (zero - t_start)
            target = q_zero + 1 if q_strand == "+" else q_size - q_zero
            if best is None or score > best[0]:
                best = (score, LiftedPosition(q_chrom, target, q_strand))
        return best[1] if best else None

    def lift_interval(self, chrom: str, start: int, end: int) -> tuple[str, int, int] | None:
        """Maps a 1-based closed interval by its two ends; None when they split across chromosomes or strands."""
        first, last = self.lift_position(chrom, start), self.lift_position(chrom, end)
        if first is None or last is None or first.chrom != last.chrom or first.strand != last.strand:
            return None
        low, high = sorted((first.pos, last.pos))
        # An interval whose length changes by more than half crossed a large gap: not a faithful copy.
        if abs((high - low) - (end - start)) > max(10, (end - start) // 2):
            return None
        return first.chrom, low, high

    def lift_allele(self, chrom: str, pos: int, ref: str, alt: str) -> tuple[str, int, str, str] | None:
        """Maps a VCF-style allele; reverse-complements it when the target block runs the other way."""
        span = self.lift_interval(chrom, pos, pos + max(len(ref), 1) - 1)
        if span is None:
            return None
        lifted_chrom, low, _high = span
        first = self.lift_position(chrom, pos)
        if first is not None and first.strand == "-":
            return lifted_chrom, low, reverse_complement(ref), reverse_complement(alt)
        return lifted_chrom, low, ref, alt


def reverse_complement(sequence: str) -> str:
    """The reverse complement of a DNA sequence (N stays N)."""
    return sequence.translate(_COMPLEMENT)[::-1]


@lru_cache(maxsize=4)
def load_chain(path: str | Path) -> ChainMap:
    """Reads a chain file once per process (they are immutable reference data)."""
    return ChainMap(path)


def grch37_to_grch38() -> ChainMap:
    """The UCSC hg19ToHg38 chain from GMC_REFDATA."""
    from gmc.settings import get_settings

    return load_chain(str(get_settings().refdata_path("liftover", "hg19ToHg38.over.chain.gz")))
