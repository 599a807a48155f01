"""Guidance on a patient's HPO profile: redundant terms and whether it carries enough information to rank."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gmc.phenotype.ontology import Ontology, get_ontology
from gmc.phenotype.similarity import SimilarityIndex, get_similarity_index

#: Below this summed IC (nats) a profile is flagged as too uninformative to rank diseases usefully.
#: ln(100): treating terms as independent, the profile would still fit more than 1 in 100 annotated diseases
#: (about 127 of the 12,679 scorable diseases of the 2025-01-16 release). One typical specific term
#: (e.g. Craniosynostosis, IC 3.9) is below it; two such terms are above it.
MIN_PROFILE_INFORMATION = math.log(100)


@dataclass(slots=True)
class ProfileInformation:
    """How informative a profile is: per-term IC, the sum over its most specific terms, and a verdict."""

    #: Current id -> IC (nats) of each observed phenotypic-abnormality term.
    term_information: dict[str, float]
    #: Sum of IC over the terms that have no descendant in the profile (redundant ancestors add nothing).
    total_information: float
    #: Diseases annotated with (a descendant of) every one of those terms.
    diseases_with_all_terms: int
    #: (term, ancestor) pairs where both are in the profile.
    redundant_pairs: list[tuple[str, str]]
    #: True when total_information >= MIN_PROFILE_INFORMATION.
    is_informative: bool
    #: A sentence for the capture UI.
    advice: str


def redundant_pairs(terms: Iterable[str], ontology: Ontology | None = None) -> list[tuple[str, str]]:
    """(term, ancestor) pairs where a term and one of its ancestors are both in the profile, sorted."""
    ontology = ontology or get_ontology()
    current = {ontology.current_id(t) for t in terms}
    pairs = []
    for term in current:
        for ancestor in ontology.ancestors(term) & current:
            pairs.append((term, ancestor))
    return sorted(pairs)


def profile_information_content(
    terms: Iterable[str], index: SimilarityIndex | None = None, ontology: Ontology | None = None
) -> ProfileInformation:
    """Information the observed terms carry about the disease (see MIN_PROFILE_INFORMATION)."""
    ontology = ontology or get_ontology()
    index = index or get_similarity_index()
    terms = list(terms)
    profile = index.profile(terms)
    pairs = redundant_pairs(profile.observed, ontology)
    redundant = {ancestor for _, ancestor in pairs}
    specific = [t for t in profile.observed if t not in redundant]
    information = {t: index.information_content(t) for t in profile.observed}
    total = float(sum(information[t] for t in specific))
    carrying_all = np.ones(index.n_diseases, dtype=bool)
    for term in specific:
        carrying = np.zeros(index.n_diseases, dtype=bool)
        carrying[index.diseases_carrying(index.term_index[term])] = True
        carrying_all &= carrying
    informative = total >= MIN_PROFILE_INFORMATION
    if not profile.observed:
        advice = "No observed phenotypic abnormality: add the patient's features before ranking."
    elif informative:
        advice = "The profile is specific enough to rank diseases."
    else:
        advice = (
            f"The profile carries {total:.1f} nats (under {MIN_PROFILE_INFORMATION:.1f}): add more specific "
            "terms, or more features, before relying on a ranking."
        )
    if pairs:
        advice += f" {len(pairs)} term(s) are ancestors of other terms in the profile and add nothing."
    return ProfileInformation(
        term_information=information,
        total_information=round(total, 6),
        diseases_with_all_terms=int(carrying_all.sum()) if specific else 0,
        redundant_pairs=pairs,
        is_informative=informative,
        advice=advice,
    )
