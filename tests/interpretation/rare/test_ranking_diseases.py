"""Tests for disease-level matching in gene ranking: each disease pairs only with variants fitting its mode."""

from __future__ import annotations

import pytest

from gmc.interpretation.rare.inheritance import Call, Mode, Pedigree, Sex
from gmc.interpretation.rare.panels import ModeOfInheritance
from gmc.interpretation.rare.ranking import CandidateVariant, combined_score, rank_genes

AR, AD = frozenset({ModeOfInheritance.AR}), frozenset({ModeOfInheritance.AD})


def variant(vid: str, gene: str, genotype: int) -> CandidateVariant:
    return CandidateVariant(
        vid, "chr1", 1000, "A", "G", gene, {"P": Call(genotype)}, frozenset({"stop_gained"}), f"HGNC:{gene[-1]}"
    )


def test_heterozygous_carrier_is_weighed_against_the_dominant_disease_only() -> None:
    # Gene G1 causes a recessive disease the patient matches well (0.9) and a dominant one matching poorly (0.1).
    # A heterozygous stop in G1 cannot cause the recessive disease, so the gene scores with 0.1.
    diseases = {"G1": [(0.9, AR, "D:recessive"), (0.1, AD, "D:dominant")]}
    inheritance = {"G1": AR | AD}
    pedigree = Pedigree.singleton("P", Sex.FEMALE)
    het = rank_genes([variant("v1", "G1", 1)], pedigree, {"G1": 0.9}, gene_inheritance=inheritance,
                     disease_phenotypes=diseases)
    assert len(het) == 1 and het[0].disease_id == "D:dominant" and het[0].phenotype_score == 0.1
    assert het[0].combined_score == pytest.approx(combined_score(1.0, 0.1), abs=1e-6)
    # Homozygous, it fits the recessive disease and takes its score.
    hom = rank_genes([variant("v1", "G1", 2)], pedigree, {"G1": 0.9}, gene_inheritance=inheritance,
                     disease_phenotypes=diseases)
    assert hom[0].disease_id == "D:recessive" and hom[0].phenotype_score == 0.9
    assert hom[0].mode == Mode.AR_HOM


def test_gene_without_diseases_falls_back_to_the_gene_score() -> None:
    pedigree = Pedigree.singleton("P", Sex.MALE)
    ranked = rank_genes([variant("v1", "G2", 1)], pedigree, {"G2": 0.4}, disease_phenotypes={})
    assert ranked[0].phenotype_score == 0.4 and ranked[0].disease_id is None
