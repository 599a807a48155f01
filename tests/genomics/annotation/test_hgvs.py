"""Tests for the genetic code and protein change notation, on hand-worked examples."""

from __future__ import annotations

from gmc.genomics.annotation.hgvs import CODON_TABLE, protein_change, three, translate


def test_genetic_code():
    assert len(CODON_TABLE) == 64
    assert sorted(c for c, a in CODON_TABLE.items() if a == "*") == ["TAA", "TAG", "TGA"]
    assert CODON_TABLE["ATG"] == "M" and CODON_TABLE["TGG"] == "W" and CODON_TABLE["GGC"] == "G"
    assert translate("ATGGCCTAAGGG") == "MA*G"
    assert translate("ATGGCCTAAGGG", to_stop=True) == "MA*"
    assert three("MK*") == "MetLysTer"


def test_protein_changes():
    assert protein_change("RKL*", "WKL*", 10) == ("p.Arg10Trp", "missense")
    assert protein_change("RKL*", "*", 10) == ("p.Arg10Ter", "stop_gained")
    assert protein_change("RKL*", "RKL*", 10) == ("p.Arg10=", "synonymous")
    # deleting one of two lysines names the 3'-most
    assert protein_change("AKKL*", "AKL*", 5) == ("p.Lys7del", "inframe_deletion")
    assert protein_change("AKL*", "AKKL*", 5) == ("p.Lys6dup", "inframe_insertion")
    assert protein_change("AKL*", "AKGL*", 5) == ("p.Lys6_Leu7insGly", "inframe_insertion")
    assert protein_change("AKLV*", "AWV*", 5) == ("p.Lys6_Leu7delinsTrp", "delins")


def test_stop_changes():
    assert protein_change("RKL*", "RK*", 10) == ("p.Leu12Ter", "stop_gained")
    assert protein_change("RK*", "RKQQ*", 10) == ("p.Ter12Glnext*?", "stop_lost")
