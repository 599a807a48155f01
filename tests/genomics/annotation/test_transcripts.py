"""Tests for transcript models: loading MANE, coordinates and HGVS numbering, overlap lookup."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from gmc.genomics.annotation.transcripts import Transcript, load_transcripts


def _toy(strand: int) -> Transcript:
    # exons 101-110, 201-220, 301-310 (1-based); CDS 106-305
    return Transcript(
        name="toy",
        chrom="1",
        strand=strand,
        tx_start=100,
        tx_end=310,
        cds_start=105,
        cds_end=305,
        exon_starts=(100, 200, 300),
        exon_ends=(110, 220, 310),
        gene="TOY",
    )


def test_plus_strand_numbering_by_hand():
    t = _toy(+1)
    assert t.length == 40 and t.cds_length == 5 + 20 + 5
    assert t.c_coordinate(106) == "1" and t.c_coordinate(105) == "-1" and t.c_coordinate(101) == "-5"
    assert t.c_coordinate(110) == "5" and t.c_coordinate(201) == "6" and t.c_coordinate(305) == "30"
    assert t.c_coordinate(306) == "*1"
    # intron 111-200 is 90 bases: the first 45 count from exon 1 (+), the rest from exon 2 (-)
    assert t.c_coordinate(111) == "5+1" and t.c_coordinate(155) == "5+45" and t.c_coordinate(156) == "6-45"
    assert t.c_coordinate(200) == "6-1"


def test_minus_strand_numbering_by_hand():
    t = _toy(-1)
    assert t.c_coordinate(305) == "1" and t.c_coordinate(306) == "-1" and t.c_coordinate(301) == "5"
    assert t.c_coordinate(220) == "6" and t.c_coordinate(106) == "30" and t.c_coordinate(105) == "*1"
    assert t.c_coordinate(300) == "5+1" and t.c_coordinate(221) == "6-1"
    assert t.exon_index(305) == 0 and t.exon_index(105) == 2


def test_mane_grch38_loads_with_hgnc(refdata_dir: Path):
    transcripts = load_transcripts("GRCh38")
    with gzip.open(refdata_dir / "grch38/mane_select.genepred.tsv.gz", "rt") as handle:
        # the MANE Select models, and the 37 mitochondrial genes gmc ships (the MANE file has no chrM)
        assert len(transcripts) == sum(1 for line in handle if not line.startswith("#")) + 37
    brca1 = next(t for t in transcripts.transcripts if t.gene == "BRCA1")
    # BRCA1 is on the minus strand and encodes 1,863 residues plus the stop codon
    assert brca1.strand == -1 and brca1.cds_length == 1864 * 3
    assert brca1.hgnc_id == "HGNC:1100" and brca1.refseq_nm == "NM_007294.4"
    assert brca1.c_coordinate(brca1.cds_end) == "1"
    assert [t.gene for t in transcripts.overlapping("17", 43_100_000, 43_100_000)] == ["BRCA1"]
    chrom = np.array(["17", "17", "MT", "Y"], dtype=object)
    pos = np.array([43_100_000, 1, 100, 100])
    assert transcripts.near_any(chrom, pos, pos + 1).tolist() == [True, False, True, False]


def test_grch37_models_load():
    transcripts = load_transcripts("hg19")
    assert transcripts.build == "GRCh37" and len(transcripts) > 18_000
    assert any(t.gene == "BRCA1" for t in transcripts.overlapping("17", 41_250_000, 41_250_000))
