"""Tests for the genetic codes and protein change notation, on hand-worked examples of the HGVS rules."""

from __future__ import annotations

import pytest

from gmc.genomics.annotation.hgvs import (
    CODON_TABLE,
    MITOCHONDRIAL_CODON_TABLE,
    protein_change,
    three,
    translate,
)


def test_genetic_codes():
    assert len(CODON_TABLE) == 64
    assert sorted(c for c, a in CODON_TABLE.items() if a == "*") == ["TAA", "TAG", "TGA"]
    assert CODON_TABLE["ATG"] == "M" and CODON_TABLE["TGG"] == "W" and CODON_TABLE["GGC"] == "G"
    assert translate("ATGGCCTAAGGG") == "MA*G"
    assert translate("ATGGCCTAAGGG", to_stop=True) == "MA*"
    assert translate("ATGNCC") == "M?"
    assert three("MK*") == "MetLysTer"
    # vertebrate mitochondrial code: AGA/AGG end translation, TGA is Trp, ATA is Met
    assert sorted(c for c, a in MITOCHONDRIAL_CODON_TABLE.items() if a == "*") == ["AGA", "AGG", "TAA", "TAG"]
    assert translate("ATATGAAGA", table=MITOCHONDRIAL_CODON_TABLE) == "MW*"


def _p(reference: str, alternate: str, changed: int, frameshift: bool = False) -> tuple[str, str]:
    change = protein_change(reference, alternate, frameshift=frameshift, changed=changed)
    return change.hgvs_p, change.term


@pytest.mark.parametrize(
    ("reference", "alternate", "changed", "frameshift", "expected"),
    [
        ("MRKL*", "MWKL*", 1, False, ("p.Arg2Trp", "missense_variant")),
        ("MRKL*", "M*", 1, False, ("p.Arg2Ter", "stop_gained")),
        ("MRKL*", "MRKL*", 2, False, ("p.Lys3=", "synonymous_variant")),
        ("MRKL*", "MRKL*", 4, False, ("p.Ter5=", "stop_retained_variant")),
        ("MRKL*", "IRKL*", 0, False, ("p.Met1?", "start_lost")),
        # a deletion or duplication in a repeat is named at its 3' end
        ("MAKKL*", "MAKL*", 2, False, ("p.Lys4del", "inframe_deletion")),
        ("MAKL*", "MAKKL*", 2, False, ("p.Lys3dup", "inframe_insertion")),
        ("MAKGL*", "MAKGKGL*", 2, False, ("p.Lys3_Gly4dup", "inframe_insertion")),
        # an insertion names the real residues either side (never Xaa)
        ("MAKL*", "MAKGL*", 2, False, ("p.Lys3_Leu4insGly", "inframe_insertion")),
        ("MAKLV*", "MAWV*", 2, False, ("p.Lys3_Leu4delinsTrp", "inframe_deletion")),
        # a lost stop extends the protein to the next stop (or to an unknown one)
        ("MRK*", "MRKQQ*", 3, False, ("p.Ter4GlnextTer2", "stop_lost")),
        ("MRK*", "MRKQQ", 3, False, ("p.Ter4GlnextTer?", "stop_lost")),
        # frameshift: from the first changed residue, counting it as 1, to the new stop
        ("MRKLAV*", "MRKPG*", 2, True, ("p.Leu4ProfsTer3", "frameshift_variant")),
        ("MRKLAV*", "MRKPG", 2, True, ("p.Leu4ProfsTer?", "frameshift_variant")),
        ("MRKLAV*", "MRK*", 2, True, ("p.Leu4Ter", "stop_gained")),
        # a frameshift in the stop codon is an extension
        ("MRK*", "MRKGA*", 3, True, ("p.Ter4GlyextTer2", "stop_lost")),
    ],
)
def test_protein_changes(reference, alternate, changed, frameshift, expected):
    assert _p(reference, alternate, changed, frameshift) == expected
