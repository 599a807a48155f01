"""Tests for reference sequence access (bgzipped with .gzi, or plain) by faidx offsets."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from gmc.genomics.annotation.sequence import ReferenceGenome, ReferenceSequenceError, reverse_complement


def test_sparse_fasta_matches_its_segments(sparse_fasta: Path, refdata_dir: Path):
    """Every real segment of the sparse GRCh38 must read back from the N-masked bgzipped genome."""
    genome = ReferenceGenome(sparse_fasta)
    segments: dict[str, list[str]] = {}
    with gzip.open(refdata_dir / "grch38/sequence/GRCh38_sparse_segments.fa.gz", "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].strip()
                segments[name] = []
            else:
                segments[name].append(line.strip().upper())
    assert len(segments) == 1084
    for name, lines in segments.items():
        chrom, span = name.split(":")
        start, end = map(int, span.split("-"))
        assert genome.fetch(chrom, start, end) == "".join(lines), name
    assert set(genome.fetch("chr1", 1_000, 1_100)) == {"N"}  # outside the covered genes


def test_plain_fasta_across_line_breaks(tmp_path: Path):
    fasta = tmp_path / "tiny.fa"
    fasta.write_text(">chrM\nACGTACGTAC\nGGGGTTTTCC\nAT\n")
    # samtools faidx layout: name, length, offset of the first base, bases per line, bytes per line
    Path(f"{fasta}.fai").write_text("chrM\t22\t6\t10\t11\n")
    genome = ReferenceGenome(fasta)
    assert genome.fetch("MT", 9, 12) == "ACGG" and genome.fetch("chrM", 20, 30) == "CAT"
    assert reverse_complement("ACGGN") == "NCCGT"
    with pytest.raises(ReferenceSequenceError, match="contig '7' not in the FASTA"):
        genome.fetch("7", 1, 10)
    Path(f"{fasta}.fai").unlink()
    with pytest.raises(ReferenceSequenceError, match="no .fai index"):
        ReferenceGenome(fasta)
