"""Chain-file liftover against known GRCh37 -> GRCh38 coordinate pairs and a hand-made chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.genomics.liftover import ChainFormatError, ChainMap, load_chain, reverse_complement


@pytest.fixture(scope="module")
def hg19_to_hg38(refdata_dir: Path) -> ChainMap:
    return load_chain(str(refdata_dir / "liftover" / "hg19ToHg38.over.chain.gz"))


@pytest.mark.parametrize(
    ("chrom", "grch37", "grch38"),
    [
        ("7", 140453136, 140753336),  # BRAF c.1799T>A (V600E), rs113488022
        ("12", 25398284, 25245350),  # KRAS c.35G>A (G12D), rs121913529
        ("3", 178952085, 179234297),  # PIK3CA c.3140A>G (H1047R), rs121913279
        ("17", 7577120, 7673802),  # TP53 c.818G>A (R273H), rs28934576
        ("2", 209113112, 208248388),  # IDH1 c.395G>A (R132H), rs121913500
    ],
)
def test_known_hotspot_positions_lift_to_their_grch38_coordinates(hg19_to_hg38, chrom, grch37, grch38):
    lifted = hg19_to_hg38.lift_position(f"chr{chrom}", grch37)
    assert lifted is not None
    assert (lifted.chrom, lifted.pos, lifted.strand) == (chrom, grch38, "+")


def test_allele_and_interval_lift_together(hg19_to_hg38):
    assert hg19_to_hg38.lift_allele("7", 140453136, "A", "T") == ("7", 140753336, "A", "T")
    assert hg19_to_hg38.lift_interval("7", 140453136, 140453145) == ("7", 140753336, 140753345)


def test_position_outside_every_chain_block_is_not_lifted(hg19_to_hg38):
    # chr1 starts with 10 kb of N in both builds; the first chain block starts at 10,000.
    assert hg19_to_hg38.lift_position("1", 5000) is None
    assert hg19_to_hg38.lift_position("chrNotAContig", 100) is None


def test_hand_made_reverse_strand_chain(tmp_path: Path):
    # Source chrA 0-100 maps to target chrB (size 1000) on the minus strand at q 200-300,
    # with a 10-base gap in the source after the first 40 bases.
    chain = tmp_path / "toy.chain"
    chain.write_text(
        "chain 1000 chrA 500 + 0 100 chrB 1000 - 200 290 1\n"
        "40 10 0\n"
        "50\n"
        "\n"
    )
    liftover = ChainMap(chain)
    # Source base 1 (0-based 0) -> q 200 on the minus strand -> plus-strand 1-based 1000 - 200 = 800.
    assert liftover.lift_position("A", 1).pos == 800
    assert liftover.lift_position("A", 1).strand == "-"
    # Source 1-based 45 sits in the 10-base source gap: unmapped.
    assert liftover.lift_position("A", 45) is None
    # Source 1-based 51 (0-based 50) -> q 240 -> 1000 - 240 = 760.
    assert liftover.lift_position("A", 51).pos == 760
    assert liftover.lift_allele("A", 1, "A", "G") == ("B", 800, "T", "C")


def test_reverse_complement():
    assert reverse_complement("AACGTN") == "NACGTT"


def test_malformed_chain_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.chain"
    bad.write_text("chain 1 chrA 10 + 0 10 chrB 10 + 0 10 1\nten 0 0\n")
    with pytest.raises(ChainFormatError, match=r"bad.chain line 2"):
        ChainMap(bad)
