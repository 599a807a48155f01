"""Phenotype similarity: Resnik best-match average of a patient's HPO profile against every disease and gene.

Formula (all logs natural):

* Information content of a term t: IC(t) = -ln(n_t / n), where n is the number of diseases with at least one
  phenotypic-abnormality annotation (aspect P, not NOT) and n_t the number of those annotated with t or any
  descendant of t. A term no disease carries gets the IC of a single disease, ln(n).
* Resnik similarity of two terms: sim(a, b) = IC(MICA(a, b)), the most informative common ancestor (self included).
* For a patient with observed terms P and a disease with annotated terms D (the P rows of phenotype.hpoa),
  each patient term p counts c(p) = max_{d in D} sim(p, d), and each disease term d counts c(d) = max_{p in P} sim(p, d).
  Excluded findings contradict: a patient term p that is, or lies below, a term the disease is known not to
  show (NOT rows, 0% frequency) counts c(p) = -IC(p); a disease term d that is, or lies below, a term the
  patient is known not to have counts c(d) = -IC(d) * f(d), with f the annotation frequency (1 when unstated).
* score = 1/2 * (sum_p c(p) / sum_p IC(p) + sum_d c(d) / sum_d IC(d)).
  Each half is the share of that side's information explained by the other (c(p) <= IC(p) because a common
  ancestor is never more informative than either term), so a score lies in [-1, 1], is 1 for identical
  profiles and does not grow with the number or depth of terms: scores are comparable across patients.
* resnik_bma is the classical symmetric best-match average, 1/2 * (mean_p c(p) + mean_d c(d)) without
  contradictions, reported for comparison with other tools (it is in nats, not comparable across patients).
* A gene's score is the best score among the diseases genes_to_phenotype links to it; the match names that
  disease and the matched term pairs (patient term, disease term, MICA, IC), so interpretation can explain it.

Only patient terms under Phenotypic abnormality (HP:0000118) are scored; onset, inheritance and modifier
terms are reported back as ignored_terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import sparse

from gmc.phenotype.annotations import HpoAnnotations, get_annotations
from gmc.phenotype.gene_ids import MANE_SUMMARY, NCBI_GENE_INFO
from gmc.phenotype.ontology import (
    PHENOTYPIC_ABNORMALITY_ID,
    Ontology,
    UnknownTermError,
    cached,
    get_ontology,
    hpo_cache_dir,
    hpo_source_paths,
)


class PhenotypeProfileError(ValueError):
    """A patient profile cannot be scored (no observed phenotypic abnormality); the message says why."""


class MatchedPair(NamedTuple):
    """How one patient term was matched in a disease: its best disease term and their common ancestor."""

    patient_term: str
    disease_term: str
    #: Most informative common ancestor of the two terms.
    mica_term: str
    #: IC of the MICA, the Resnik similarity of the pair (nats).
    ic: float


@dataclass(slots=True)
class Contradiction:
    """An observed finding the disease excludes, or an excluded finding the disease shows."""

    patient_term: str
    disease_term: str
    #: "observed_excluded_by_disease" or "excluded_shown_by_disease".
    kind: str


@dataclass(slots=True)
class DiseaseMatch:
    """A disease scored against a patient's profile."""

    disease_id: str
    disease_name: str
    #: Normalised score in [-1, 1] (see the module docstring); comparable across patients.
    score: float
    #: Classical symmetric Resnik best-match average in nats, without contradictions.
    resnik_bma: float
    #: One pair per scored patient term.
    matched_pairs: tuple[MatchedPair, ...]
    contradictions: tuple[Contradiction, ...] = ()


@dataclass(slots=True)
class GeneMatch:
    """A gene scored by its best-matching disease."""

    hgnc_id: str
    symbol: str
    score: float
    resnik_bma: float
    disease_id: str
    disease_name: str
    matched_pairs: tuple[MatchedPair, ...]
    contradictions: tuple[Contradiction, ...] = ()


@dataclass(slots=True)
class PatientProfile:
    """A patient's terms as the index scores them: current ids, and the ones left out of scoring."""

    observed: tuple[str, ...]
    excluded: tuple[str, ...]
    #: Terms outside Phenotypic abnormality (onset, inheritance, modifiers), not scored.
    ignored_terms: tuple[str, ...]


def _segment_max(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Maximum of each CSR row segment along the last axis (every segment must be non-empty)."""
    return np.maximum.reduceat(values, indptr[:-1], axis=-1)


def _segment_argmax(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Position (into values) of the first maximum of each non-empty CSR row segment."""
    starts = indptr[:-1]
    at_max = values == np.repeat(np.maximum.reduceat(values, starts), np.diff(indptr))
    positions = np.where(at_max, np.arange(len(values)), len(values))
    return np.minimum.reduceat(positions, starts)


class SimilarityIndex:
    """Precomputed IC, ancestor/descendant sets and disease/gene profiles of one HPO release."""

    #: Bump when the attributes change so that cached indexes of an older shape are rebuilt.
    FORMAT = 3

    def __init__(self, ontology: Ontology, annotations: HpoAnnotations) -> None:
        self.release = ontology.release
        current = [t.id for t in ontology.current_terms()]
        self.term_ids = np.array(current)
        self.term_index = {term_id: i for i, term_id in enumerate(current)}
        n_terms = len(current)
        rows, cols = [], []
        for i, term_id in enumerate(current):
            for ancestor in ontology.ancestors(term_id, include_self=True):
                rows.append(i)
                cols.append(self.term_index[ancestor])
        #: ancestors[i, j] = 1 when j is i or an ancestor of i.
        ancestors = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_terms, n_terms))
        self.ancestors = ancestors
        #: descendants = ancestors transposed: row j lists i at or below j.
        self.descendants = ancestors.T.tocsr()
        self.phenotypic = np.zeros(n_terms, dtype=bool)
        self.phenotypic[self.descendants[self.term_index[PHENOTYPIC_ABNORMALITY_ID]].indices] = True

        disease_ids, disease_names = [], []
        obs_rows, obs_cols, obs_freq, exc_rows, exc_cols = [], [], [], [], []
        for disease in annotations.diseases.values():
            frequency: dict[int, float] = {}
            for annotation in disease.phenotypes:
                index = self.term_index[annotation.hpo_id]
                value = 1.0 if annotation.frequency_value is None else annotation.frequency_value
                frequency[index] = max(frequency.get(index, 0.0), value)
            if not frequency:
                continue  # nothing to score against (only NOT, inheritance or onset rows)
            row = len(disease_ids)
            disease_ids.append(disease.id)
            disease_names.append(disease.name)
            for index, value in sorted(frequency.items()):
                obs_rows.append(row)
                obs_cols.append(index)
                obs_freq.append(value)
            for term_id in disease.excluded_terms:
                exc_rows.append(row)
                exc_cols.append(self.term_index[term_id])
        n_diseases = len(disease_ids)
        self.disease_ids = disease_ids
        self.disease_names = disease_names
        self.disease_index = {d: i for i, d in enumerate(disease_ids)}
        #: Alphabetical rank of each disease id: the tie-break of equal scores.
        self.disease_id_rank = np.argsort(np.argsort(np.array(disease_ids)))
        shape = (n_diseases, n_terms)
        #: Disease x term: annotation frequency (1 when unstated) of each observed phenotype.
        self.disease_frequency = sparse.csr_matrix((np.array(obs_freq), (obs_rows, obs_cols)), shape=shape)
        self.disease_terms = self.disease_frequency.copy()
        self.disease_terms.data[:] = 1.0
        excluded = sparse.csr_matrix((np.ones(len(exc_rows)), (exc_rows, exc_cols)), shape=shape)
        excluded.data[:] = 1.0
        #: Disease x term NOT matrix, by column so that one term's ancestors slice quickly.
        self.disease_excluded = excluded.tocsc()

        # A disease carries a term when annotated with it or any descendant: propagate up the ancestors.
        carried = (self.disease_terms @ ancestors) > 0
        counts = np.asarray(carried.sum(axis=0)).ravel()
        self.n_diseases = n_diseases
        with np.errstate(divide="ignore"):
            ic = -np.log(np.where(counts > 0, counts, 1) / n_diseases)
        self.ic = ic.astype(np.float64)
        #: Number of ancestors (self included): breaks IC ties towards the deeper common ancestor.
        self.depth = np.diff(ancestors.indptr)
        self.disease_information = self.disease_terms @ self.ic

        gene_ids, gene_symbols, g_rows, g_cols = [], [], [], []
        for gene in annotations.genes.values():
            rows_of_gene = sorted({self.disease_index[d] for d in gene.disease_ids if d in self.disease_index})
            if not rows_of_gene:
                continue
            row = len(gene_ids)
            gene_ids.append(gene.hgnc_id)
            gene_symbols.append(gene.symbol)
            g_rows.extend([row] * len(rows_of_gene))
            g_cols.extend(rows_of_gene)
        self.gene_ids = gene_ids
        self.gene_symbols = gene_symbols
        #: Gene x disease links (genes_to_phenotype).
        self.gene_diseases = sparse.csr_matrix(
            (np.ones(len(g_rows)), (g_rows, g_cols)), shape=(len(gene_ids), n_diseases)
        )
        # Ontology ids still needed at scoring time: alt/obsolete resolution.
        self._ontology = ontology

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_ontology"] = None  # the ontology has its own cache; re-attached on load
        return state

    # -- profiles ------------------------------------------------------------------------------------------

    def profile(self, observed: Iterable[str], excluded: Iterable[str] = ()) -> PatientProfile:
        """Current ids of a patient's terms, split into scored and ignored; unknown ids raise UnknownTermError."""
        ontology = self._ontology or get_ontology()
        scored: dict[str, list[str]] = {"observed": [], "excluded": []}
        ignored: list[str] = []
        for kind, terms in (("observed", observed), ("excluded", excluded)):
            for term_id in terms:
                current = ontology.current_id(term_id)
                if current not in self.term_index or not self.phenotypic[self.term_index[current]]:
                    ignored.append(current)
                elif current not in scored[kind]:
                    scored[kind].append(current)
        both = set(scored["observed"]) & set(scored["excluded"])
        if both:
            raise PhenotypeProfileError(f"terms both observed and excluded: {', '.join(sorted(both))}")
        return PatientProfile(tuple(scored["observed"]), tuple(scored["excluded"]), tuple(ignored))

    def information_content(self, term_id: str) -> float:
        """IC of a current term id (nats)."""
        try:
            return float(self.ic[self.term_index[term_id]])
        except KeyError:
            raise UnknownTermError(term_id, f"not a current term of HPO release {self.release}") from None

    def resnik(self, term_a: str, term_b: str) -> tuple[float, str]:
        """Resnik similarity of two current terms and their most informative common ancestor."""
        a, b = self.term_index[term_a], self.term_index[term_b]
        common = np.intersect1d(self.ancestors[a].indices, self.ancestors[b].indices)
        best = common[np.lexsort((self.depth[common], self.ic[common]))[-1]]
        return float(self.ic[best]), str(self.term_ids[best])

    def _similarity_rows(self, terms: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For each term, its Resnik similarity to every term and the index of the MICA."""
        n_terms = len(self.term_ids)
        sim = np.zeros((len(terms), n_terms))
        mica = np.zeros((len(terms), n_terms), dtype=np.int64)
        for row, term in enumerate(terms):
            ancestors = self.ancestors[term].indices
            # Assign from least to most informative (then shallow to deep): each ancestor's descendants
            # inherit its IC, the best common ancestor written last, so each cell ends with the maximum.
            for ancestor in ancestors[np.lexsort((self.depth[ancestors], self.ic[ancestors]))]:
                below = self.descendants[ancestor].indices
                sim[row, below] = self.ic[ancestor]
                mica[row, below] = ancestor
        return sim, mica

    # -- scoring -------------------------------------------------------------------------------------------

    def _score_all(self, profile: PatientProfile) -> dict[str, np.ndarray]:
        """Scores of every disease (vectorised) and the intermediate arrays needed to explain them."""
        if not profile.observed:
            raise PhenotypeProfileError("no observed phenotypic abnormality to score (observed terms are needed)")
        observed = [self.term_index[t] for t in profile.observed]
        excluded = [self.term_index[t] for t in profile.excluded]
        sim, mica = self._similarity_rows(observed)
        terms = self.disease_terms
        patient_best = _segment_max(sim[:, terms.indices], terms.indptr)  # patient term x disease
        # Disease NOT terms at or above an observed patient term contradict it.
        patient_conflict = np.zeros_like(patient_best, dtype=bool)
        for row, term in enumerate(observed):
            hits = self.disease_excluded[:, self.ancestors[term].indices].sum(axis=1)
            patient_conflict[row] = np.asarray(hits).ravel() > 0
        patient_ic = self.ic[observed]
        contribution = np.where(patient_conflict, -patient_ic[:, None], patient_best)
        patient_half = contribution.sum(axis=0) / patient_ic.sum() if patient_ic.sum() > 0 else 0.0

        disease_best = sim.max(axis=0)  # best patient match of every term
        shown_excluded = np.zeros(len(self.term_ids), dtype=bool)
        for term in excluded:
            shown_excluded[self.descendants[term].indices] = True
        gained = terms @ np.where(shown_excluded, 0.0, disease_best)
        lost = self.disease_frequency @ np.where(shown_excluded, self.ic, 0.0)
        information = self.disease_information
        disease_half = np.divide(gained - lost, information, out=np.zeros_like(information), where=information > 0)

        n_terms_per_disease = np.diff(terms.indptr)
        bma = 0.5 * (patient_best.mean(axis=0) + (terms @ disease_best) / n_terms_per_disease)
        return {
            "score": 0.5 * (patient_half + disease_half),
            "bma": bma,
            "sim": sim,
            "mica": mica,
            "patient_conflict": patient_conflict,
            "shown_excluded": shown_excluded,
            "observed": np.array(observed),
        }

    def _explain(
        self, arrays: dict[str, np.ndarray], rows: np.ndarray, profile: PatientProfile
    ) -> list[tuple[tuple[MatchedPair, ...], tuple[Contradiction, ...]]]:
        """Matched pairs and contradictions of the given disease rows."""
        terms = self.disease_terms[rows]
        sim, mica, observed = arrays["sim"], arrays["mica"], arrays["observed"]
        best_pos = np.stack([terms.indices[_segment_argmax(sim[i, terms.indices], terms.indptr)]
                             for i in range(len(observed))])  # patient term x selected disease -> term index
        pair_ic = np.take_along_axis(sim, best_pos, axis=1)
        pair_mica = np.take_along_axis(mica, best_pos, axis=1)
        ids = self.term_ids
        patient_ids = ids[observed].tolist()
        pair_ic = np.round(pair_ic, 4)
        # The same (patient term, disease term) pair recurs across many diseases: build each once.
        n_terms = len(ids)
        keys = np.arange(len(observed))[:, None] * n_terms + best_pos
        unique_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        flat_mica, flat_ic = pair_mica.ravel()[first], pair_ic.ravel()[first]
        built = np.empty(len(unique_keys), dtype=object)
        built[:] = [
            MatchedPair(patient_ids[key // n_terms], str(ids[key % n_terms]), str(ids[m]), v)
            for key, m, v in zip(unique_keys.tolist(), flat_mica.tolist(), flat_ic.tolist(), strict=True)
        ]
        pairs_by_row = built[inverse.reshape(keys.shape)].T.tolist()
        out = []
        shown_excluded = arrays["shown_excluded"]
        conflict = arrays["patient_conflict"][:, rows]
        conflicted = conflict.any(axis=0).tolist()
        any_shown = bool(shown_excluded.any())
        shown_memo: dict[int, Contradiction] = {}
        for k, row in enumerate(rows.tolist()):
            pairs = tuple(pairs_by_row[k])
            contradictions: list[Contradiction] = []
            if conflicted[k]:
                disease_not = set(self.disease_excluded.getrow(row).indices.tolist())
                for i in np.flatnonzero(conflict[:, k]).tolist():
                    for a in self.ancestors[observed[i]].indices.tolist():
                        if a in disease_not:
                            contradictions.append(
                                Contradiction(patient_ids[i], str(ids[a]), "observed_excluded_by_disease")
                            )
            if any_shown:
                disease_cols = terms.indices[terms.indptr[k]:terms.indptr[k + 1]]
                for u in disease_cols[shown_excluded[disease_cols]].tolist():
                    found = shown_memo.get(u)
                    if found is None:
                        found = shown_memo[u] = Contradiction(
                            self._excluding_term(profile, u), str(ids[u]), "excluded_shown_by_disease"
                        )
                    contradictions.append(found)
            out.append((pairs, tuple(contradictions)))
        return out

    def _excluding_term(self, profile: PatientProfile, disease_term: int) -> str:
        """The patient's excluded term at or above a disease term (first one found)."""
        above = set(self.ancestors[disease_term].indices.tolist())
        for term_id in profile.excluded:
            if self.term_index[term_id] in above:
                return term_id
        return ""

    def score_diseases(
        self, observed: Iterable[str], excluded: Iterable[str] = (), limit: int | None = None
    ) -> list[DiseaseMatch]:
        """Every annotated disease scored against the profile, best first (ties by id)."""
        profile = self.profile(observed, excluded)
        arrays = self._score_all(profile)
        score = arrays["score"]
        order = np.lexsort((self.disease_id_rank, -score))
        if limit is not None:
            order = order[:limit]
        explained = self._explain(arrays, order, profile)
        scores, bmas = np.round(score[order], 6).tolist(), np.round(arrays["bma"][order], 6).tolist()
        return [
            DiseaseMatch(self.disease_ids[row], self.disease_names[row], s, b, pairs, contradictions)
            for row, s, b, (pairs, contradictions) in zip(order.tolist(), scores, bmas, explained, strict=True)
        ]

    def score_genes(self, observed: Iterable[str], excluded: Iterable[str] = ()) -> dict[str, GeneMatch]:
        """Every gene with annotated diseases, scored by its best disease, keyed by HGNC id."""
        profile = self.profile(observed, excluded)
        arrays = self._score_all(profile)
        score = arrays["score"]
        links = self.gene_diseases
        best_rows = links.indices[_segment_argmax(score[links.indices], links.indptr)]
        unique_rows, inverse = np.unique(best_rows, return_inverse=True)
        explained = self._explain(arrays, unique_rows, profile)
        scores = np.round(score[best_rows], 6).tolist()
        bmas = np.round(arrays["bma"][best_rows], 6).tolist()
        matches = {}
        for gene, row, k in zip(range(len(self.gene_ids)), best_rows.tolist(), inverse.tolist(), strict=True):
            pairs, contradictions = explained[k]
            matches[self.gene_ids[gene]] = GeneMatch(
                self.gene_ids[gene], self.gene_symbols[gene], scores[gene], bmas[gene],
                self.disease_ids[row], self.disease_names[row], pairs, contradictions,
            )
        return matches


@lru_cache(maxsize=1)
def get_similarity_index() -> SimilarityIndex:
    """The process-wide similarity index for the refdata HPO release, built once and cached on disk."""
    from gmc.settings import get_settings

    settings = get_settings()
    paths = hpo_source_paths()
    sources = [
        paths["obo"], paths["hpoa"], paths["genes_to_phenotype"],
        settings.refdata_path(*MANE_SUMMARY), settings.refdata_path(*NCBI_GENE_INFO),
    ]
    ontology = get_ontology()
    index = cached(hpo_cache_dir(), f"hpo-similarity-v{SimilarityIndex.FORMAT}", sources, lambda: SimilarityIndex(ontology, get_annotations()))
    index._ontology = ontology
    return index


def score_diseases(observed: Iterable[str], excluded: Iterable[str] = (), limit: int | None = None) -> list[DiseaseMatch]:
    """Every annotated disease scored against a patient's observed and excluded HPO terms, best first."""
    return get_similarity_index().score_diseases(observed, excluded, limit)


def score_genes(observed: Iterable[str], excluded: Iterable[str] = ()) -> dict[str, GeneMatch]:
    """Every annotated gene's phenotype score for a patient, keyed by HGNC id."""
    return get_similarity_index().score_genes(observed, excluded)


def information_content(term_id: str) -> float:
    """IC (nats) of a term in the refdata release; alt and obsolete ids resolve to their replacement."""
    index = get_similarity_index()
    return index.information_content(get_ontology().current_id(term_id))

