"""Tests for profile guidance: redundant terms and the information threshold."""

from __future__ import annotations

import math

from gmc.phenotype.annotations import get_annotations
from gmc.phenotype.profile import MIN_PROFILE_INFORMATION, profile_information_content, redundant_pairs
from gmc.phenotype.similarity import get_similarity_index, information_content


def test_redundant_pairs_list_each_term_with_its_ancestors_in_the_profile() -> None:
    # Bilateral tonic-clonic seizure < Seizure < Abnormality of the nervous system; Short stature is unrelated.
    pairs = redundant_pairs(["HP:0002069", "HP:0001250", "HP:0000707", "HP:0004322"])
    assert pairs == [
        ("HP:0001250", "HP:0000707"),
        ("HP:0002069", "HP:0000707"),
        ("HP:0002069", "HP:0001250"),
    ]
    assert redundant_pairs(["HP:0001275", "HP:0002069"]) == [("HP:0002069", "HP:0001250")]  # via an alt id
    assert redundant_pairs(["HP:0004322"]) == []


def test_a_single_common_term_is_flagged_as_uninformative() -> None:
    info = profile_information_content(["HP:0001250", "HP:0000707"])
    assert info.total_information == round(information_content("HP:0001250"), 6)  # the ancestor adds nothing
    assert not info.is_informative and "add more specific" in info.advice
    assert info.redundant_pairs == [("HP:0001250", "HP:0000707")]
    # Seizure is carried by about 1 in e^IC of the scorable diseases.
    n_diseases = get_similarity_index().n_diseases
    assert info.diseases_with_all_terms == round(n_diseases * math.exp(-information_content("HP:0001250")))


def test_a_specific_profile_is_informative() -> None:
    pfeiffer = sorted(get_annotations().disease("OMIM:101600").observed_terms)[:4]
    info = profile_information_content(pfeiffer)
    assert info.is_informative
    assert info.total_information >= MIN_PROFILE_INFORMATION
    assert 1 <= info.diseases_with_all_terms < 100  # Pfeiffer syndrome itself carries them all
