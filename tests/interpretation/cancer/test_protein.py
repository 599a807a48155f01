"""Protein change notation: one- and three-letter HGVS read into the same change."""

from __future__ import annotations

import pytest

from gmc.interpretation.cancer.protein import parse_protein_change


@pytest.mark.parametrize("text", ["p.V600E", "p.Val600Glu", "V600E", "p.(Val600Glu)", "NP_004324.2:p.Val600Glu"])
def test_one_and_three_letter_forms_agree(text):
    change = parse_protein_change(text)
    assert (change.ref, change.start, change.alt, change.kind) == ("V", 600, "E", "missense")


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("p.Arg213Ter", "nonsense", 213, 213),
        ("p.R213*", "nonsense", 213, 213),
        ("p.G574Rfs*12", "frameshift", 574, 574),
        ("p.Lys1421ArgfsTer3", "frameshift", 1421, 1421),
        ("E746_A750del", "inframe_deletion", 746, 750),
        ("p.Met774_Ala775insAlaTyrValMet", "inframe_insertion", 774, 775),
        ("p.Leu335=", "synonymous", 335, 335),
        ("V600", "codon", 600, 600),
        ("W288FS", "frameshift", 288, 288),
    ],
)
def test_kinds_of_change(text, kind, start, end):
    change = parse_protein_change(text)
    assert (change.kind, change.start, change.end) == (kind, start, end)


def test_unreadable_change_is_none():
    assert parse_protein_change("OVEREXPRESSION") is None
    assert parse_protein_change(None) is None
