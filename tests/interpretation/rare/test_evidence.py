"""Tests for ACMG evidence built from annotation and segregation (real ClinVar, real CFTR sequence)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare.acmg import evaluate_criteria
from gmc.interpretation.rare.evidence import acmg_evidence, clinvar_protein_index, gene_inheritance_class
from gmc.interpretation.rare.inheritance import Call, Certainty, Mode, ModeCall
from gmc.interpretation.rare.panels import ModeOfInheritance
from gmc.interpretation.rare.ranking import CandidateVariant


@pytest.fixture(scope="module")
def cftr_index(refdata_dir: Path):
    from gmc.genomics.annotation.annotate import load_sources

    sources = load_sources(
        "GRCh38", fasta=refdata_dir / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz"
    )
    return clinvar_protein_index(sources, genes=["CFTR"])


def candidate(**overrides) -> CandidateVariant:
    values = dict(
        variant_id="v",
        chrom="7",
        pos=117530974,
        ref="C",
        alt="T",
        gene_symbol="CFTR",
        calls={"P": Call(1)},
        consequences=frozenset({"missense_variant"}),
        hgvs_p="p.(Arg117Cys)",
    )
    values.update(overrides)
    return CandidateVariant(**values)


def test_clinvar_residue_index_from_annotation(cftr_index) -> None:
    # CFTR R117H (c.350G>A, chr7:117530975 G>A) is a well-known pathogenic CF variant.
    at_117 = {e.protein_change.alt for e in cftr_index.at_residue("CFTR", 117)}
    assert "H" in at_117
    assert all(e.gene == "CFTR" for e in cftr_index.at_residue("CFTR", 117))
    assert not cftr_index.at_residue("BRCA1", 61)  # outside the genes asked for


def test_pm5_for_another_change_at_a_pathogenic_residue(cftr_index) -> None:
    # R117C is a different amino-acid change at the residue of R117H: PM5, not PS1.
    results = {r.code: r for r in evaluate_criteria(acmg_evidence(candidate(), []), clinvar_index=cftr_index)}
    assert results["PM5"].met and "117530975" in results["PM5"].reason
    assert not results["PS1"].met


def test_segregation_becomes_family_criteria() -> None:
    partner = candidate(variant_id="w", pos=117559590, clinvar_significance="Pathogenic")
    modes = [
        ModeCall(Mode.AR_COMP_HET, Certainty.CONSISTENT, ("in trans",), "w"),
        ModeCall(Mode.DE_NOVO, Certainty.CONSISTENT, ("parents hom-ref",)),
    ]
    evidence = acmg_evidence(candidate(), modes, gene_modes=[ModeOfInheritance.AR], partners={"w": partner})
    assert evidence.in_trans_with == "Pathogenic" and evidence.in_trans_phase_confirmed
    assert evidence.de_novo == "assumed" and evidence.inheritance == "recessive"
    results = {r.code: r for r in evaluate_criteria(evidence)}
    assert results["PM3"].met and results["PM6"].met and not results["PS2"].met
    confirmed = acmg_evidence(candidate(), modes, parentage_confirmed=True)
    assert confirmed.de_novo == "confirmed"
    possible = acmg_evidence(candidate(), [ModeCall(Mode.DE_NOVO, Certainty.POSSIBLE, ())])
    assert possible.de_novo is None


def test_gene_inheritance_class() -> None:
    assert gene_inheritance_class([ModeOfInheritance.AR]) == "recessive"
    assert gene_inheritance_class([ModeOfInheritance.AD, ModeOfInheritance.XLD]) == "dominant"
    assert gene_inheritance_class([ModeOfInheritance.AD, ModeOfInheritance.AR]) is None
    assert gene_inheritance_class(None) is None


def test_nmd_escape_reaches_pvs1() -> None:
    from gmc.interpretation.rare.acmg import LofMechanism, Strength

    truncating = candidate(consequences=frozenset({"stop_gained"}), nmd_escape=True)
    evidence = acmg_evidence(truncating, [])
    assert evidence.nmd_escape is True
    pvs1 = evaluate_criteria(evidence, lof_mechanisms={"CFTR": LofMechanism("CFTR", 30)})[0]
    assert pvs1.code == "PVS1" and pvs1.met and pvs1.strength == Strength.STRONG
