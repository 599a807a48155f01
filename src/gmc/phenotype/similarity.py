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
  patient is known not to have counts c(d) = max_{p in P} sim(p, d) - IC(d) * w(d), where
  w(d) = max(0, 2 f(d) - 1) and f(d) is the annotation frequency (1 when unstated): absence of a feature
  counts against a disease only when most of its patients show it (obligate: fully; "frequent" 30-79%: at most
  a little; occasional: not at all). On the 500 phenopacket-store cases, whose excluded terms are mostly
  features absent in one patient of a published cohort, any penalty costs some top-1 accuracy: weighting by f
  3.4 points, this weighting 1.4 (bench/phenotype/exclusion_weighting.py, docs/bench/phenotype.md).
* score = w * sum_p c(p) / sum_p IC(p) + (1 - w) * sum_d c(d) / sum_d IC(d), with the patient side's weight
  w = 1/2 by default (symmetric). Rare-disease ranking uses w = 3/4 (``patient_weight``): a patient shows a subset
  of a disease's features, so what of the patient a disease explains counts more than what of the disease the
  patient shows (docs/bench/rare.md).
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

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import sparse

from gmc.phenotype.annotations import PHENOTYPE_ASPECT, HpoAnnotations, PhenotypeAnnotation, get_annotations
from gmc.phenotype.ontology import (
    PHENOTYPIC_ABNORMALITY_ID,
    Ontology,
    UnknownTermError,
    cached,
    get_ontology,
    hpo_cache_dir,
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
    #: Ids unknown to this release (e.g. newer terms), left out when scoring with strict=False.
    unknown_terms: tuple[str, ...] = ()
    #: (observed term, excluded ancestor) pairs: such exclusions are not scored (the UI should query them).
    overridden_exclusions: tuple[tuple[str, str], ...] = ()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses garbage collection while thousands of acyclic result objects are built."""
    # Each automatic collection would otherwise walk the whole loaded ontology and annotations again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _row(matrix: sparse.csr_matrix, row: int) -> np.ndarray:
    """Column indices of one CSR row."""
    return matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]


def _segment_argmax(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Position (into values) of the first maximum of each non-empty CSR row segment."""
    starts = indptr[:-1]
    at_max = values == np.repeat(np.maximum.reduceat(values, starts), np.diff(indptr))
    positions = np.where(at_max, np.arange(len(values)), len(values))
    return np.minimum.reduceat(positions, starts)


class SimilarityIndex:
    """Precomputed IC, ancestor/descendant sets and disease/gene profiles of one HPO release."""

    #: Bump when the attributes change so that cached indexes of an older shape are rebuilt.
    FORMAT = 10

    def __init__(self, ontology: Ontology, annotations: HpoAnnotations) -> None:
        self.release = ontology.release
        current = [t.id for t in ontology.current_terms()]
        self.term_ids = np.array(current)
        self.term_index = {term_id: i for i, term_id in enumerate(current)}
        n_terms = len(current)
        rows: list[int] = []
        cols: list[int] = []
        position = self.term_index.__getitem__
        for i, term_id in enumerate(current):
            above = ontology.ancestors(term_id, include_self=True)
            rows.extend([i] * len(above))
            cols.extend(map(position, above))
        #: ancestors[i, j] = 1 when j is i or an ancestor of i.
        ancestors = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_terms, n_terms))
        self.ancestors = ancestors
        #: descendants = ancestors transposed: row j lists i at or below j.
        self.descendants = ancestors.T.tocsr()
        self.phenotypic = np.zeros(n_terms, dtype=bool)
        self.phenotypic[self.descendant_indices(self.term_index[PHENOTYPIC_ABNORMALITY_ID])] = True

        disease_ids, disease_names = [], []
        obs_rows, obs_cols, obs_freq, exc_rows, exc_cols = [], [], [], [], []
        # Rows are read as plain tuples (PhenotypeAnnotation field order): named ones cost seconds here.
        hpo, excluded_at, value_at, aspect_at = (PhenotypeAnnotation._fields.index(f) for f in (
            "hpo_id", "excluded", "frequency_value", "aspect"))
        for disease in annotations.diseases.values():
            frequency: dict[int, float] = {}
            not_terms: set[int] = set()
            for annotation in disease.rows:
                if annotation[aspect_at] != PHENOTYPE_ASPECT:
                    continue
                index = position(annotation[hpo])
                if annotation[excluded_at]:
                    not_terms.add(index)
                    continue
                value = 1.0 if annotation[value_at] is None else annotation[value_at]
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
            for index in sorted(not_terms):
                exc_rows.append(row)
                exc_cols.append(index)
        n_diseases = len(disease_ids)
        self.disease_ids = disease_ids
        self.disease_names = disease_names
        self.disease_index = {d: i for i, d in enumerate(disease_ids)}
        #: Alphabetical rank of each disease id: the tie-break of equal scores.
        self.disease_id_rank = np.argsort(np.argsort(np.array(disease_ids)))
        shape = (n_diseases, n_terms)
        frequency_matrix = sparse.csr_matrix((np.array(obs_freq), (obs_rows, obs_cols)), shape=shape)
        annotated = np.unique(frequency_matrix.indices)
        #: The terms some disease is annotated with; the columns of the disease matrices below.
        self.annotated_terms = annotated
        #: Disease x annotated term: annotation frequency (1 when unstated) of each observed phenotype.
        self.disease_frequency = frequency_matrix[:, annotated].tocsr()
        self.disease_terms = self.disease_frequency.copy()
        self.disease_terms.data[:] = 1.0
        #: How much a patient's exclusion of each disease term counts against the disease: max(0, 2f - 1).
        self.contradiction_weight = self.disease_frequency.copy()
        self.contradiction_weight.data = np.clip(2 * self.contradiction_weight.data - 1, 0.0, 1.0)
        #: Term x annotated term: the annotated terms at or below each term.
        self.annotated_below = self.descendants[:, annotated].tocsr()
        # Python lists: building result objects from list lookups is far faster than numpy scalar indexing.
        self.term_id_list: list[str] = list(current)
        self.phenotypic_abnormality = self.term_index[PHENOTYPIC_ABNORMALITY_ID]
        excluded = sparse.csr_matrix((np.ones(len(exc_rows)), (exc_rows, exc_cols)), shape=shape)
        excluded.data[:] = 1.0
        #: Disease x term NOT matrix.
        self.disease_excluded = excluded
        by_term = excluded.T.tocsr()
        #: For each term, the diseases that exclude it (CSR arrays: term -> disease rows).
        self.excluding_indptr, self.excluding_indices = by_term.indptr, by_term.indices

        # A disease carries a term when annotated with it or any descendant: propagate up the ancestors.
        # Expand every (disease, annotated term) to (disease, term, ancestor) and keep, for each (ancestor,
        # disease), the first annotated term below it: the disease term that explains a match through it.
        annotated_rows = np.repeat(np.arange(n_diseases), np.diff(frequency_matrix.indptr))
        annotated_cols = frequency_matrix.indices
        fan_out = np.diff(ancestors.indptr)[annotated_cols]
        starts = np.repeat(ancestors.indptr[annotated_cols], fan_out)
        offsets = np.arange(fan_out.sum()) - np.repeat(np.cumsum(fan_out) - fan_out, fan_out)
        via = ancestors.indices[starts + offsets]
        disease_of = np.repeat(annotated_rows, fan_out)
        term_of = np.repeat(annotated_cols, fan_out)
        order = np.lexsort((term_of, disease_of, via))
        key = via[order].astype(np.int64) * n_diseases + disease_of[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        carrying_terms = via[order][first]
        #: For each term, the diseases carrying it or a descendant (CSR arrays: term -> disease rows), and
        #: for each such pair the disease's first annotated term at or below it.
        self.carrying_indices = disease_of[order][first].astype(np.int32)
        self.carrying_representative = term_of[order][first].astype(np.int32)
        counts = np.bincount(carrying_terms, minlength=n_terms)
        self.carrying_indptr = np.r_[0, np.cumsum(counts)]
        #: The first annotated term of each disease: the disease side of a pair matched only at the root.
        self.first_term_of_disease = annotated_cols[frequency_matrix.indptr[:-1]].astype(np.int32)
        self.n_diseases = n_diseases
        with np.errstate(divide="ignore"):
            ic = -np.log(np.where(counts > 0, counts, 1) / n_diseases) + 0.0  # no -0.0 for the root
        self.ic = ic.astype(np.float64)
        self.ic32 = self.ic.astype(np.float32)
        #: Number of ancestors (self included): breaks IC ties towards the deeper common ancestor.
        self.depth = np.diff(ancestors.indptr)
        self.disease_information = self.disease_terms @ self.ic[annotated]

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
        self.gene_index = {g: i for i, g in enumerate(gene_ids)}
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

    def profile(self, observed: Iterable[str], excluded: Iterable[str] = (), strict: bool = True) -> PatientProfile:
        """Current ids of a patient's terms split into scored, ignored and unknown (strict=False) ones."""
        # With strict=True an unknown, malformed or replacement-less obsolete id raises UnknownTermError.
        ontology = self._ontology if self._ontology is not None else get_ontology()
        scored: dict[str, list[str]] = {"observed": [], "excluded": []}
        ignored: list[str] = []
        unknown: list[str] = []
        for kind, terms in (("observed", observed), ("excluded", excluded)):
            for term_id in terms:
                try:
                    current = ontology.current_id(term_id)
                except UnknownTermError:
                    if strict:
                        raise
                    unknown.append(term_id)
                    continue
                if current not in self.term_index or not self.phenotypic[self.term_index[current]]:
                    ignored.append(current)
                elif current not in scored[kind]:
                    scored[kind].append(current)
        both = set(scored["observed"]) & set(scored["excluded"])
        if both:
            raise PhenotypeProfileError(f"terms both observed and excluded: {', '.join(sorted(both))}")
        # A clinician may exclude a general finding yet record a specific form of it (excluded Atrial septal
        # defect, observed Patent foramen ovale): the exclusion then means "no other form" and is not scored.
        excluded_set = set(scored["excluded"])
        overridden = tuple(
            (term, ancestor)
            for term in scored["observed"]
            for ancestor in sorted(ontology.ancestors(term) & excluded_set)
        )
        kept = tuple(e for e in scored["excluded"] if e not in {a for _, a in overridden})
        return PatientProfile(
            tuple(scored["observed"]), kept, tuple(ignored), tuple(unknown), overridden
        )

    def ancestor_indices(self, term: int) -> np.ndarray:
        """Indices of a term and its ancestors (raw CSR slice: scipy row indexing is far slower)."""
        return _row(self.ancestors, term)

    def descendant_indices(self, term: int) -> np.ndarray:
        """Indices of a term and its descendants."""
        return _row(self.descendants, term)

    def information_content(self, term_id: str) -> float:
        """IC of a current term id (nats)."""
        try:
            return float(self.ic[self.term_index[term_id]])
        except KeyError:
            raise UnknownTermError(term_id, f"not a current term of HPO release {self.release}") from None

    def resnik(self, term_a: str, term_b: str) -> tuple[float, str]:
        """Resnik similarity of two current terms and their most informative common ancestor."""
        a, b = self.term_index[term_a], self.term_index[term_b]
        common = np.intersect1d(self.ancestor_indices(a), self.ancestor_indices(b))
        best = common[np.lexsort((self.depth[common], self.ic[common]))[-1]]
        return float(self.ic[best]), str(self.term_ids[best])

    def diseases_carrying(self, term: int) -> np.ndarray:
        """Rows of the diseases annotated with a term or one of its descendants."""
        return self.carrying_indices[self.carrying_indptr[term]:self.carrying_indptr[term + 1]]

    def _similarity_rows(self, terms: Sequence[int]) -> np.ndarray:
        """For each term, its Resnik similarity to every annotated term."""
        sim = np.zeros((len(terms), len(self.annotated_terms)), dtype=np.float32)
        for row, term in enumerate(terms):
            ancestors = self.ancestor_indices(term)
            ancestors = ancestors[self.ic[ancestors] > 0]
            # Assign from least to most informative (then shallow to deep): each ancestor's descendants
            # inherit its IC, the best common ancestor written last, so each cell ends with the maximum.
            for ancestor in ancestors[np.lexsort((self.depth[ancestors], self.ic[ancestors]))]:
                below = _row(self.annotated_below, ancestor)
                sim[row, below] = self.ic32[ancestor]
        return sim

    # -- scoring -------------------------------------------------------------------------------------------

    def _score_all(self, profile: PatientProfile, patient_weight: float = 0.5) -> dict[str, np.ndarray]:
        """Scores of every disease (vectorised) and the intermediate arrays needed to explain them."""
        if not 0.0 <= patient_weight <= 1.0:
            raise PhenotypeProfileError(f"patient_weight {patient_weight} is not within 0-1")
        if not profile.observed:
            raise PhenotypeProfileError("no observed phenotypic abnormality to score (observed terms are needed)")
        observed = [self.term_index[t] for t in profile.observed]
        excluded = [self.term_index[t] for t in profile.excluded]
        sim = self._similarity_rows(observed)
        terms = self.disease_terms
        # The best match of p among a disease's terms has IC = that of the most informative ancestor of p
        # the disease carries, so patient term x disease is filled ancestor by ancestor, best written last.
        patient_best = np.zeros((len(observed), self.n_diseases))
        # ... remembering through which ancestor (the MICA) and which disease term each best match goes.
        # Pairs whose only common ancestors are uninformative (IC 0) meet at Phenotypic abnormality.
        patient_mica = np.full((len(observed), self.n_diseases), self.phenotypic_abnormality, dtype=np.int32)
        patient_match = np.tile(self.first_term_of_disease, (len(observed), 1))
        representative = self.carrying_representative
        # Disease NOT terms at or above an observed patient term contradict it.
        patient_conflict = np.zeros((len(observed), self.n_diseases), dtype=bool)
        carrying_ptr, carrying, excluding_ptr, excluding = (
            self.carrying_indptr, self.carrying_indices, self.excluding_indptr, self.excluding_indices
        )
        for row, term in enumerate(observed):
            ancestors = self.ancestor_indices(term)
            for ancestor in ancestors[np.lexsort((self.depth[ancestors], self.ic[ancestors]))]:
                if self.ic[ancestor] > 0:
                    span = slice(carrying_ptr[ancestor], carrying_ptr[ancestor + 1])
                    diseases = carrying[span]
                    patient_best[row, diseases] = self.ic[ancestor]
                    patient_mica[row, diseases] = ancestor
                    patient_match[row, diseases] = representative[span]
                patient_conflict[row, excluding[excluding_ptr[ancestor]:excluding_ptr[ancestor + 1]]] = True
        patient_ic = self.ic[observed]
        contribution = np.where(patient_conflict, -patient_ic[:, None], patient_best)
        patient_half = contribution.sum(axis=0) / patient_ic.sum() if patient_ic.sum() > 0 else 0.0

        disease_best = sim.max(axis=0)  # best patient match of every term
        shown_excluded = np.zeros(len(self.annotated_terms), dtype=bool)
        for term in excluded:
            shown_excluded[_row(self.annotated_below, term)] = True
        gained = terms @ disease_best
        lost = self.contradiction_weight @ np.where(shown_excluded, self.ic[self.annotated_terms], 0.0)
        information = self.disease_information
        disease_half = np.divide(gained - lost, information, out=np.zeros_like(information), where=information > 0)

        n_terms_per_disease = np.diff(terms.indptr)
        bma = 0.5 * (patient_best.mean(axis=0) + (terms @ disease_best) / n_terms_per_disease)
        return {
            "score": patient_weight * patient_half + (1.0 - patient_weight) * disease_half,
            "bma": bma,
            "patient_best": patient_best,
            "patient_mica": patient_mica,
            "patient_match": patient_match,
            "patient_conflict": patient_conflict,
            "shown_excluded": shown_excluded,
            "observed": np.array(observed),
        }

    def _explain(
        self, arrays: dict[str, np.ndarray], rows: np.ndarray, profile: PatientProfile
    ) -> list[tuple[tuple[MatchedPair, ...], tuple[Contradiction, ...]]]:
        """Matched pairs and contradictions of the given disease rows."""
        observed = arrays["observed"]
        pair_ic = np.round(arrays["patient_best"][:, rows], 4)
        pair_mica = arrays["patient_mica"][:, rows]
        best_term = arrays["patient_match"][:, rows]
        ids, term_list = self.term_ids, self.term_id_list
        patient_ids = ids[observed].tolist()
        # The same (patient term, disease term) pair recurs across many diseases: build each once.
        n_terms = len(term_list)
        keys = np.arange(len(observed))[:, None] * n_terms + best_term
        unique_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        built = np.empty(len(unique_keys), dtype=object)
        built[:] = [
            MatchedPair(patient_ids[p], term_list[u], term_list[m], v)
            for p, u, m, v in zip(
                (unique_keys // n_terms).tolist(), (unique_keys % n_terms).tolist(),
                pair_mica.ravel()[first].tolist(), pair_ic.ravel()[first].tolist(), strict=True,
            )
        ]
        pairs_by_row = built[inverse.reshape(keys.shape)].T.tolist()
        out = []
        shown_excluded = arrays["shown_excluded"]
        conflict = arrays["patient_conflict"][:, rows]
        conflicted = conflict.any(axis=0).tolist()
        any_shown = bool(shown_excluded.any())
        if any_shown:
            terms = self.disease_terms[rows]
            columns = terms.indices
            shown_in_row = np.add.reduceat(shown_excluded[columns].astype(np.int32), terms.indptr[:-1]) > 0
        shown_memo: dict[int, Contradiction] = {}
        for k, row in enumerate(rows.tolist()):
            pairs = tuple(pairs_by_row[k])
            contradictions: list[Contradiction] = []
            if conflicted[k]:
                disease_not = set(_row(self.disease_excluded, row).tolist())
                for i in np.flatnonzero(conflict[:, k]).tolist():
                    for a in self.ancestor_indices(observed[i]).tolist():
                        if a in disease_not:
                            contradictions.append(
                                Contradiction(patient_ids[i], str(ids[a]), "observed_excluded_by_disease")
                            )
            if any_shown and shown_in_row[k]:
                disease_cols = terms.indices[terms.indptr[k]:terms.indptr[k + 1]]
                for u in disease_cols[shown_excluded[disease_cols]].tolist():
                    found = shown_memo.get(u)
                    if found is None:
                        term = int(self.annotated_terms[u])
                        found = shown_memo[u] = Contradiction(
                            self._excluding_term(profile, term), str(ids[term]), "excluded_shown_by_disease"
                        )
                    contradictions.append(found)
            out.append((pairs, tuple(contradictions)))
        return out

    def _excluding_term(self, profile: PatientProfile, disease_term: int) -> str:
        """The patient's excluded term at or above a disease term (first one found)."""
        above = set(self.ancestor_indices(disease_term).tolist())
        for term_id in profile.excluded:
            if self.term_index[term_id] in above:
                return term_id
        return ""

    def score_diseases(
        self,
        observed: Iterable[str],
        excluded: Iterable[str] = (),
        limit: int | None = None,
        strict: bool = True,
        patient_weight: float = 0.5,
        diseases: Iterable[str] | None = None,
    ) -> list[DiseaseMatch]:
        """Every annotated disease (or only the given ids) scored against the profile, best first (ties by id)."""
        profile = self.profile(observed, excluded, strict)
        arrays = self._score_all(profile, patient_weight)
        score = arrays["score"]
        order = np.lexsort((self.disease_id_rank, -score))
        if diseases is not None:
            wanted = np.zeros(len(self.disease_ids), dtype=bool)
            wanted[[self.disease_index[d] for d in set(diseases) if d in self.disease_index]] = True
            order = order[wanted[order]]
        if limit is not None:
            order = order[:limit]
        scores, bmas = np.round(score[order], 6).tolist(), np.round(arrays["bma"][order], 6).tolist()
        with _collector_paused():
            explained = self._explain(arrays, order, profile)
            return [
                DiseaseMatch(self.disease_ids[row], self.disease_names[row], s, b, pairs, contradictions)
                for row, s, b, (pairs, contradictions) in zip(order.tolist(), scores, bmas, explained, strict=True)
            ]

    def score_genes(
        self,
        observed: Iterable[str],
        excluded: Iterable[str] = (),
        genes: Iterable[str] | None = None,
        strict: bool = True,
        patient_weight: float = 0.5,
    ) -> dict[str, GeneMatch]:
        """Genes with annotated diseases (all, or only the given HGNC ids) scored by their best disease."""
        profile = self.profile(observed, excluded, strict)
        arrays = self._score_all(profile, patient_weight)
        score = arrays["score"]
        links = self.gene_diseases
        gene_rows = np.arange(len(self.gene_ids))
        if genes is not None:
            # Candidate genes only (e.g. those with a qualifying variant): less to explain.
            wanted = {g: None for g in genes}
            gene_rows = np.array([self.gene_index[g] for g in wanted if g in self.gene_index], dtype=np.int64)
            links = links[gene_rows]
        best_rows = links.indices[_segment_argmax(score[links.indices], links.indptr)]
        unique_rows, inverse = np.unique(best_rows, return_inverse=True)
        scores = np.round(score[best_rows], 6).tolist()
        bmas = np.round(arrays["bma"][best_rows], 6).tolist()
        matches = {}
        with _collector_paused():
            explained = self._explain(arrays, unique_rows, profile)
            for position, (gene, row, k) in enumerate(
                zip(gene_rows.tolist(), best_rows.tolist(), inverse.tolist(), strict=True)
            ):
                pairs, contradictions = explained[k]
                matches[self.gene_ids[gene]] = GeneMatch(
                    self.gene_ids[gene], self.gene_symbols[gene], scores[position], bmas[position],
                    self.disease_ids[row], self.disease_names[row], pairs, contradictions,
                )
        return matches


@lru_cache(maxsize=1)
def get_similarity_index() -> SimilarityIndex:
    """The process-wide similarity index for the refdata HPO release, built once and cached on disk."""
    from gmc.phenotype.annotations import annotation_cache_sources

    sources = annotation_cache_sources()
    ontology = get_ontology()
    index = cached(
        hpo_cache_dir(), "hpo-similarity", sources,
        lambda: SimilarityIndex(ontology, get_annotations()), version=SimilarityIndex.FORMAT,
    )
    index._ontology = ontology
    return index


def score_diseases(
    observed: Iterable[str], excluded: Iterable[str] = (), limit: int | None = None, strict: bool = True
) -> list[DiseaseMatch]:
    """Every annotated disease scored against a patient's observed and excluded HPO terms, best first."""
    # strict=False leaves out ids unknown to the release instead of raising (see SimilarityIndex.profile).
    return get_similarity_index().score_diseases(observed, excluded, limit, strict)


def score_genes(
    observed: Iterable[str],
    excluded: Iterable[str] = (),
    genes: Iterable[str] | None = None,
    strict: bool = True,
) -> dict[str, GeneMatch]:
    """Phenotype score of every annotated gene (or only the given HGNC ids) for a patient, keyed by HGNC id."""
    return get_similarity_index().score_genes(observed, excluded, genes, strict)


def information_content(term_id: str) -> float:
    """IC (nats) of a term in the refdata release; alt and obsolete ids resolve to their replacement."""
    index = get_similarity_index()
    return index.information_content(get_ontology().current_id(term_id))

