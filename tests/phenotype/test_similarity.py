"""Tests for IC, Resnik similarity and the normalised best-match score of diseases and genes."""

from __future__ import annotations

import math

import pytest

from gmc.phenotype.annotations import DiseaseAnnotation, GeneAnnotation, HpoAnnotations, get_annotations
from gmc.phenotype.ontology import Ontology, UnknownTermError, get_ontology, parse_obo
from gmc.phenotype.similarity import (
    PhenotypeProfileError,
    SimilarityIndex,
    get_similarity_index,
    information_content,
    score_diseases,
    score_genes,
)

# All > Phenotypic abnormality > {A > {A1, A2}, B > B1}; C (onset) sits outside the abnormality subtree.
TINY_OBO = """format-version: 1.2
data-version: hp/releases/2099-01-01
"""
for _id, _name, _parent in [
    ("HP:0000001", "All", None),
    ("HP:0000118", "Phenotypic abnormality", "HP:0000001"),
    ("HP:0000010", "A", "HP:0000118"),
    ("HP:0000011", "A1", "HP:0000010"),
    ("HP:0000012", "A2", "HP:0000010"),
    ("HP:0000020", "B", "HP:0000118"),
    ("HP:0000021", "B1", "HP:0000020"),
    ("HP:0000030", "C onset", "HP:0000001"),
]:
    TINY_OBO += f"\n[Term]\nid: {_id}\nname: {_name}\n" + (f"is_a: {_parent}\n" if _parent else "")
A, A1, A2, B, B1, ONSET = "HP:0000010", "HP:0000011", "HP:0000012", "HP:0000020", "HP:0000021", "HP:0000030"

ROWS = [
    # D1 shows A1 and B1 (B1 in 3 of 4 patients); D2 shows A2; D3 shows B1 and never A; D4 shows A1.
    ("OMIM:1", "D1", "", A1, ""), ("OMIM:1", "D1", "", B1, "3/4"),
    ("OMIM:2", "D2", "", A2, ""),
    ("OMIM:3", "D3", "", B1, ""), ("OMIM:3", "D3", "NOT", A, ""),
    ("OMIM:4", "D4", "", A1, ""),
]


@pytest.fixture(scope="module")
def tiny() -> SimilarityIndex:
    terms, version = parse_obo(TINY_OBO.splitlines(keepends=True), source="tiny.obo")
    ontology = Ontology(terms=terms, data_version=version)
    # Rows in PhenotypeAnnotation field order: hpo_id, excluded, frequency, frequency_value, references, evidence,
    # onset, aspect, sex, modifiers.
    rows: dict[str, list[tuple]] = {}
    names = {}
    for disease, name, qualifier, term, frequency in ROWS:
        value = {"": None, "3/4": 0.75}[frequency]
        rows.setdefault(disease, []).append(
            (term, qualifier == "NOT", frequency, value, ("PMID:1",), "PCS", "", "P", "", ())
        )
        names[disease] = name
    diseases = {d: DiseaseAnnotation(d, names[d], tuple(r)) for d, r in rows.items()}
    genes = {
        "HGNC:1": GeneAnnotation("HGNC:1", "G1", "1", ("OMIM:2", "OMIM:3"), ((A2, "", "OMIM:2"), (B1, "", "OMIM:3"))),
        "HGNC:2": GeneAnnotation("HGNC:2", "G2", "2", ("OMIM:4",), ((A1, "", "OMIM:4"),)),
    }
    annotations = HpoAnnotations("2099-01-01", diseases, genes, [], {"OMIM:2": ("HGNC:1",)})
    return SimilarityIndex(ontology, annotations)


def test_tiny_information_content_by_hand(tiny: SimilarityIndex) -> None:
    # 4 diseases; A1 in D1, D4; A2 in D2; A (or below) in D1, D2, D4; B and B1 in D1, D3.
    # D3's NOT A does not count as carrying A.
    assert tiny.n_diseases == 4
    assert tiny.information_content(A1) == pytest.approx(math.log(2))
    assert tiny.information_content(A2) == pytest.approx(math.log(4))
    assert tiny.information_content(A) == pytest.approx(math.log(4 / 3))
    assert tiny.information_content(B) == pytest.approx(math.log(2))
    assert tiny.information_content("HP:0000118") == pytest.approx(0.0)


def test_tiny_resnik_uses_the_most_informative_common_ancestor(tiny: SimilarityIndex) -> None:
    assert tiny.resnik(A1, A2) == (pytest.approx(math.log(4 / 3)), A)
    assert tiny.resnik(A1, A1) == (pytest.approx(math.log(2)), A1)
    assert tiny.resnik(A1, B1) == (pytest.approx(0.0), "HP:0000118")


def test_tiny_scores_by_hand(tiny: SimilarityIndex) -> None:
    scores = {m.disease_id: m for m in tiny.score_diseases([A1, B1])}
    # D1 = the profile itself; B1's frequency only matters for contradictions.
    assert scores["OMIM:1"].score == pytest.approx(1.0)
    # D4 (A1): patient side (ln2 + 0) / 2ln2 = 1/2, disease side ln2 / ln2 = 1.
    assert scores["OMIM:4"].score == pytest.approx(0.75)
    # D2 (A2): both sides ln(4/3) / ln4.
    assert scores["OMIM:2"].score == pytest.approx(math.log(4 / 3) / math.log(4), abs=1e-6)
    # D3 excludes A, and the patient has A1 (below A): patient side (-ln2 + ln2) / 2ln2 = 0; disease side 1.
    assert scores["OMIM:3"].score == pytest.approx(0.5)
    assert scores["OMIM:3"].contradictions[0].patient_term == A1
    assert scores["OMIM:3"].contradictions[0].disease_term == A
    # Classical BMA of D2: 1/2 * ((ln(4/3) + 0) / 2 + ln(4/3)).
    assert scores["OMIM:2"].resnik_bma == pytest.approx(0.75 * math.log(4 / 3), abs=1e-6)
    ranked = [m.disease_id for m in tiny.score_diseases([A1, B1])]
    assert ranked == ["OMIM:1", "OMIM:4", "OMIM:3", "OMIM:2"]


def test_tiny_patient_weight_leans_on_the_patient_side(tiny: SimilarityIndex) -> None:
    scores = {m.disease_id: m.score for m in tiny.score_diseases([A1, B1], patient_weight=0.75)}
    # D4 (A1): patient side 1/2, disease side 1 -> 3/4 * 1/2 + 1/4 * 1.
    assert scores["OMIM:4"] == pytest.approx(0.625)
    # D3: patient side 0 (contradiction cancels the match), disease side 1 -> 1/4.
    assert scores["OMIM:3"] == pytest.approx(0.25)
    only_patient = tiny.score_genes([A1, B1], patient_weight=1.0)
    assert only_patient["HGNC:2"].score == pytest.approx(0.5)
    with pytest.raises(PhenotypeProfileError, match="patient_weight"):
        tiny.score_diseases([A1], patient_weight=1.5)


def test_tiny_excluded_patient_terms_count_against_diseases_showing_them(tiny: SimilarityIndex) -> None:
    scores = {m.disease_id: m for m in tiny.score_diseases([A1], excluded=[B])}
    # D1 shows B1 (below the excluded B) in 3 of 4, weight 2 * 3/4 - 1 = 1/2; B1's best match with A1 is 0:
    # disease side (ln2 + 0 - ln2 / 2) / 2ln2 = 1/4; patient side 1.
    assert scores["OMIM:1"].score == pytest.approx((1 + 1 / 4) / 2)
    assert [c.kind for c in scores["OMIM:1"].contradictions] == ["excluded_shown_by_disease"]
    assert (scores["OMIM:1"].contradictions[0].patient_term, scores["OMIM:1"].contradictions[0].disease_term) == (B, B1)
    assert scores["OMIM:4"].score == pytest.approx(1.0)
    # D3 shows only B1 (frequency unstated, so weight 1): disease side (0 - ln2) / ln2 = -1;
    # and D3 excludes A, above the patient's A1: patient side -1.
    assert scores["OMIM:3"].score == pytest.approx(-1.0)


def test_tiny_matched_pairs_explain_the_score(tiny: SimilarityIndex) -> None:
    d2 = next(m for m in tiny.score_diseases([A1, B1]) if m.disease_id == "OMIM:2")
    pairs = {p.patient_term: p for p in d2.matched_pairs}
    assert (pairs[A1].disease_term, pairs[A1].mica_term) == (A2, A)
    assert pairs[A1].ic == pytest.approx(math.log(4 / 3), abs=1e-4)
    assert pairs[B1].ic == pytest.approx(0.0)


def test_tiny_gene_takes_its_best_disease(tiny: SimilarityIndex) -> None:
    genes = tiny.score_genes([A1, B1])
    # G1 causes D2 (~0.21) and D3 (0.5): D3 is its best; G2 causes D4 (0.75).
    assert genes["HGNC:1"].disease_id == "OMIM:3" and genes["HGNC:1"].score == pytest.approx(0.5)
    assert genes["HGNC:2"].symbol == "G2" and genes["HGNC:2"].score == pytest.approx(0.75)
    assert {p.patient_term for p in genes["HGNC:2"].matched_pairs} == {A1, B1}


def test_tiny_profile_rules(tiny: SimilarityIndex) -> None:
    profile = tiny.profile([A1, ONSET, A1])
    assert profile.observed == (A1,) and profile.ignored_terms == (ONSET,)
    with pytest.raises(PhenotypeProfileError, match="no observed"):
        tiny.score_diseases([ONSET])
    with pytest.raises(PhenotypeProfileError, match="both observed and excluded"):
        tiny.score_diseases([A1], excluded=[A1])
    # Excluding a general finding while observing a specific form of it: the exclusion is not scored.
    overridden = tiny.profile([A1], excluded=[A, B])
    assert overridden.excluded == (B,) and overridden.overridden_exclusions == ((A1, A),)
    with pytest.raises(UnknownTermError, match="HP:9999999"):
        tiny.score_diseases(["HP:9999999"])
    lenient = tiny.profile([A1, "HP:9999999", "HP:12"], strict=False)
    assert lenient.observed == (A1,) and lenient.unknown_terms == ("HP:9999999", "HP:12")
    assert tiny.score_diseases([A1, "HP:9999999"], strict=False)[0].score == pytest.approx(1.0)


# -- the real release (hpo3) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> SimilarityIndex:
    return get_similarity_index()


def test_seizure_ic_from_the_annotated_diseases(index: SimilarityIndex) -> None:
    ontology = get_ontology()
    seizures = ontology.descendants("HP:0001250", include_self=True)
    # Count straight from the annotations: diseases with a phenotypic abnormality, and those with a seizure.
    annotated = [d for d in get_annotations().diseases.values() if d.observed_terms]
    with_seizure = [d for d in annotated if d.observed_terms & seizures]
    assert index.n_diseases == len(annotated)
    assert information_content("HP:0001250") == pytest.approx(-math.log(len(with_seizure) / len(annotated)))
    assert information_content("HP:0001275") == information_content("HP:0001250")  # alt id
    assert index.resnik("HP:0001250", "HP:0001250")[0] == pytest.approx(information_content("HP:0001250"))
    # A more specific term is never less informative than its ancestor.
    assert information_content("HP:0002069") >= information_content("HP:0001250")


@pytest.mark.parametrize(
    ("disease_id", "gene"),
    [("OMIM:101600", "HGNC:3689"), ("OMIM:154700", "HGNC:3603"), ("OMIM:219700", "HGNC:1884")],
)  # Pfeiffer/FGFR2, Marfan/FBN1, cystic fibrosis/CFTR
def test_a_diseases_own_terms_rank_it_and_its_gene_at_the_top(disease_id: str, gene: str) -> None:
    disease = get_annotations().disease(disease_id)
    # A partial profile: every third of the disease's terms, as a clinician would record a few features.
    observed = sorted(disease.observed_terms)[::3]
    diseases = score_diseases(observed, limit=10)
    assert disease_id in [m.disease_id for m in diseases[:5]]
    genes = score_genes(observed)
    top = sorted(genes.values(), key=lambda m: -m.score)
    assert gene in [m.hgnc_id for m in top[:10]]
    match = genes[gene]
    assert match.disease_id in get_annotations().gene(gene).disease_ids
    assert {p.patient_term for p in match.matched_pairs} == set(observed)
    assert all(-1.0 <= m.score <= 1.0 for m in genes.values())


def test_full_profile_scores_one_and_is_comparable(index: SimilarityIndex) -> None:
    disease = get_annotations().disease("OMIM:101600")
    best = index.score_diseases(sorted(disease.observed_terms), limit=1)[0]
    assert best.score == pytest.approx(1.0)
    # The same profile plus a contradicting exclusion scores lower for that disease.
    feature = "HP:0000244"  # Brachyturricephaly, one of Pfeiffer syndrome's annotations
    assert feature in disease.observed_terms
    rest = sorted(disease.observed_terms - {feature})
    plain = {m.disease_id: m for m in index.score_diseases(rest)}
    penalised = {m.disease_id: m for m in index.score_diseases(rest, excluded=[feature])}
    assert penalised["OMIM:101600"].score < plain["OMIM:101600"].score < best.score
    assert any(c.disease_term == feature for c in penalised["OMIM:101600"].contradictions)


def test_excluding_a_shown_feature_counts_against_the_disease(index: SimilarityIndex) -> None:
    # hpo3 gives no frequencies, so every feature of a disease counts as shown by most of its patients.
    disease = get_annotations().disease("OMIM:101600")
    observed = sorted(disease.observed_terms)[:5]
    base = {m.disease_id: m.score for m in index.score_diseases(observed)}["OMIM:101600"]
    shown = [t for t in sorted(disease.observed_terms) if t not in observed and not index.profile([t]).ignored_terms][:1]
    lowered = {m.disease_id: m.score for m in index.score_diseases(observed, excluded=shown)}
    assert lowered["OMIM:101600"] < base


def test_candidate_genes_score_as_in_the_full_run() -> None:
    observed = ["HP:0001250", "HP:0001249", "HP:0000252"]  # seizure, intellectual disability, microcephaly
    everything = score_genes(observed)
    candidates = score_genes(observed, genes=["HGNC:3689", "HGNC:1884", "HGNC:0"])
    assert set(candidates) == {"HGNC:3689", "HGNC:1884"}
    assert all(candidates[g].score == everything[g].score for g in candidates)


def test_obsolete_patient_terms_are_scored_as_their_replacement(index: SimilarityIndex) -> None:
    assert index.profile(["HP:0000057"]).observed == ("HP:0008665",)
    with pytest.raises(UnknownTermError, match="HP:12"):
        score_genes(["HP:12"])
