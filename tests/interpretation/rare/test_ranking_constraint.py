"""Tests for the gene-constraint weight of lone heterozygous loss-of-function alleles in ranking."""

from __future__ import annotations

import pytest

from gmc.interpretation.rare.inheritance import Call, Mode, Pedigree, Sex
from gmc.interpretation.rare.ranking import (
    MISSENSE_CONSTRAINED_Z,
    MISSENSE_FLOOR,
    CandidateVariant,
    haploinsufficiency_factor,
    missense_constraint_factor,
    rank_genes,
)


def stop(vid: str, gene: str, genotype: int, loeuf: float | None) -> CandidateVariant:
    return CandidateVariant(
        vid, "chr1", 1000, "C", "T", gene, {"P": Call(genotype)}, frozenset({"stop_gained"}), None,
        loeuf=loeuf,
    )


def test_factor_by_hand() -> None:
    assert haploinsufficiency_factor(None) == 1.0
    assert haploinsufficiency_factor(0.2) == 1.0
    assert haploinsufficiency_factor(1.0) == pytest.approx(1 - 0.7 * 0.5)
    assert haploinsufficiency_factor(1.97) == pytest.approx(0.3)


def test_tolerant_gene_heterozygous_stop_is_weak_but_homozygous_is_not() -> None:
    pedigree = Pedigree.singleton("P", Sex.FEMALE)
    # Same phenotype score; the intolerant gene (LOEUF 0.2) outranks the tolerant one (LOEUF 1.97, as GJB2).
    ranked = rank_genes([stop("a", "TOLERANT", 1, 1.97), stop("b", "INTOLERANT", 1, 0.2)], pedigree,
                        {"TOLERANT": 0.5, "INTOLERANT": 0.5})
    assert [g.gene_symbol for g in ranked] == ["INTOLERANT", "TOLERANT"]
    assert ranked[1].variant_score == pytest.approx(0.3)
    # Homozygous (recessive) the gene's tolerance of one lost copy says nothing: full score.
    hom = rank_genes([stop("a", "TOLERANT", 2, 1.97)], pedigree, {"TOLERANT": 0.5})
    assert hom[0].variant_score == 1.0 and hom[0].mode == Mode.AR_HOM


def missense(vid: str, gene: str, genotype: int, mis_z: float | None) -> CandidateVariant:
    return CandidateVariant(
        vid, "chr1", 2000, "A", "G", gene, {"P": Call(genotype)}, frozenset({"missense_variant"}), None,
        mis_z=mis_z,
    )


def test_missense_factor_by_hand() -> None:
    assert missense_constraint_factor(None) == 1.0
    assert missense_constraint_factor(-2.0) == pytest.approx(MISSENSE_FLOOR)
    assert missense_constraint_factor(MISSENSE_CONSTRAINED_Z / 2) == pytest.approx(MISSENSE_FLOOR + (1 - MISSENSE_FLOOR) / 2)
    assert missense_constraint_factor(5.0) == 1.0
    assert missense_constraint_factor(0.0, floor=0.5) == pytest.approx(0.5)


def test_lone_missense_weighed_by_missense_constraint_but_not_when_recessive() -> None:
    pedigree = Pedigree.singleton("P", Sex.MALE)
    ranked = rank_genes([missense("a", "TOLERANT", 1, -0.5), missense("b", "CONSTRAINED", 1, 4.2)], pedigree,
                        {"TOLERANT": 0.5, "CONSTRAINED": 0.5})
    assert [g.gene_symbol for g in ranked] == ["CONSTRAINED", "TOLERANT"]
    assert ranked[0].variant_score == pytest.approx(0.6)
    assert ranked[1].variant_score == pytest.approx(0.6 * MISSENSE_FLOOR)
    # Homozygous: missense constraint says nothing about a recessive disease.
    hom = rank_genes([missense("a", "TOLERANT", 2, -0.5)], pedigree, {"TOLERANT": 0.5})
    assert hom[0].mode == Mode.AR_HOM and hom[0].variant_score == pytest.approx(0.6)
    # Switched off, the lone missense keeps its full score.
    off = rank_genes([missense("a", "TOLERANT", 1, -0.5)], pedigree, {"TOLERANT": 0.5}, missense_floor=None)
    assert off[0].variant_score == pytest.approx(0.6)
