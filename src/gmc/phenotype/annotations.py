"""HPO disease and gene annotations as plain data, keyed by HGNC id, from hpo3 (``gmc.phenotype.ontology``).

hpo3 gives each OMIM and ORPHA disease its terms and each gene its terms (the union over its diseases), but
no gene-disease links, frequencies, NOT rows or references. Links are recovered by an exact cover: a disease
can belong to a gene only when all of its terms are among the gene's; per gene, diseases are taken largest
first while they add terms the gene has and the diseases taken so far lack, until every term of the gene is
explained (on HPO 2025-01-16, whose genes_to_phenotype names the links, this recovers 96.7 % of them at 96.7 %
precision: docs/bench/phenotype.md). Rows without a frequency count as always shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from sys import intern
from typing import NamedTuple

from gmc.phenotype.gene_ids import MANE_SUMMARY, NCBI_GENE_INFO, GeneIdMap, load_gene_id_map
from gmc.phenotype.ontology import (
    HpoFormatError,
    Ontology,
    UnknownTermError,
    cached,
    get_ontology,
    hpo_cache_dir,
    hpo_cache_sources,
    hpo_id,
    load_hpo3,
)

#: Shape of the cached HpoAnnotations; bump when these classes change.
ANNOTATIONS_FORMAT = 4
#: Roots of the aspects of annotation terms: inheritance (I), clinical course (C), modifiers (M).
MODE_OF_INHERITANCE_ID = "HP:0000005"
CLINICAL_COURSE_ID = "HP:0031797"
PHENOTYPIC_ABNORMALITY_ID = "HP:0000118"
#: Aspects of phenotype.hpoa rows: phenotypic abnormality, inheritance, clinical course (onset), modifier, history.
PHENOTYPE_ASPECT = "P"
INHERITANCE_ASPECT = "I"

class PhenotypeAnnotation(NamedTuple):
    """One phenotype.hpoa row: an HPO term asserted (or excluded) for a disease, with its evidence."""

    hpo_id: str
    #: True for a NOT row or a 0% frequency: the disease is known not to show the term.
    excluded: bool
    #: Frequency as published: an HPO frequency term, "n/m", "x%" or "" when not given.
    frequency: str
    #: Frequency as a fraction in [0, 1], or None when not given.
    frequency_value: float | None
    #: Publications and sources of the row, e.g. ("PMID:31675180",).
    references: tuple[str, ...]
    #: Evidence code: PCS (published clinical study), TAS (traceable author statement), IEA.
    evidence: str
    #: Onset term of the feature in this disease, or "".
    onset: str
    #: P phenotypic abnormality, I inheritance, C clinical course, M modifier, H past history.
    aspect: str
    #: MALE or FEMALE when the row applies to one sex only, else "".
    sex: str = ""
    #: Modifier terms of the row.
    modifiers: tuple[str, ...] = ()


class GenePhenotype(NamedTuple):
    """One genes_to_phenotype row: a term seen in a disease associated with the gene."""

    hpo_id: str
    frequency: str
    disease_id: str


@dataclass(frozen=True, slots=True)
class DiseaseAnnotation:
    """A disease (OMIM, ORPHA or DECIPHER) with its annotated HPO terms."""

    id: str
    name: str
    #: The phenotype.hpoa rows as plain tuples in PhenotypeAnnotation field order (plain tuples load from the
    #: cache several times faster than named ones); read them through annotations.
    rows: tuple[tuple, ...]

    @property
    def annotations(self) -> tuple[PhenotypeAnnotation, ...]:
        """Every row of the disease: phenotypes, exclusions, inheritance, onset."""
        return tuple(map(PhenotypeAnnotation._make, self.rows))

    @property
    def phenotypes(self) -> tuple[PhenotypeAnnotation, ...]:
        """Phenotypic-abnormality rows the disease shows."""
        return tuple(a for a in self.annotations if a.aspect == PHENOTYPE_ASPECT and not a.excluded)

    @property
    def observed_terms(self) -> frozenset[str]:
        """Ids of phenotypic abnormalities the disease shows."""
        # Read from the plain rows (hpo_id 0, excluded 1, aspect 7): callers ask for thousands of diseases.
        return frozenset(r[0] for r in self.rows if r[7] == PHENOTYPE_ASPECT and not r[1])

    @property
    def excluded_terms(self) -> frozenset[str]:
        """Ids of phenotypic abnormalities the disease is known not to show."""
        return frozenset(a.hpo_id for a in self.annotations if a.excluded and a.aspect == PHENOTYPE_ASPECT)

    @property
    def inheritance_terms(self) -> frozenset[str]:
        """Modes of inheritance (aspect I)."""
        return frozenset(r[0] for r in self.rows if r[7] == INHERITANCE_ASPECT and not r[1])


@dataclass(frozen=True, slots=True)
class GeneAnnotation:
    """A gene with the diseases it causes and their terms (from genes_to_phenotype)."""

    hgnc_id: str
    symbol: str
    ncbi_gene_id: str
    disease_ids: tuple[str, ...]
    #: genes_to_phenotype rows as plain tuples (hpo_id, frequency, disease_id); read them through phenotypes.
    rows: tuple[tuple[str, str, str], ...]

    @property
    def phenotypes(self) -> tuple[GenePhenotype, ...]:
        """The gene's terms, each with the disease it was seen in."""
        return tuple(map(GenePhenotype._make, self.rows))


@dataclass
class HpoAnnotations:
    """All disease and gene annotations of one HPO release."""

    #: Release date from the hpoa header (#version), e.g. 2025-01-16.
    release: str
    diseases: dict[str, DiseaseAnnotation]
    #: Genes by HGNC id.
    genes: dict[str, GeneAnnotation]
    #: genes_to_phenotype genes with no HGNC id in MANE or NCBI gene info: (NCBI gene id, symbol).
    unmapped_genes: list[tuple[str, str]] = field(default_factory=list)
    #: Disease id -> HGNC ids of its genes.
    genes_by_disease: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def disease(self, disease_id: str) -> DiseaseAnnotation:
        """One disease by id (OMIM:..., ORPHA:..., DECIPHER:...); KeyError naming it when unknown."""
        try:
            return self.diseases[disease_id]
        except KeyError:
            raise KeyError(f"disease {disease_id!r} is not annotated in HPO release {self.release}") from None

    def gene(self, hgnc_id: str) -> GeneAnnotation:
        """One gene by HGNC id; KeyError naming it when the gene has no annotations."""
        try:
            return self.genes[hgnc_id]
        except KeyError:
            raise KeyError(f"gene {hgnc_id!r} has no HPO annotations in release {self.release}") from None

    def gene_diseases(self, hgnc_id: str) -> list[DiseaseAnnotation]:
        """The annotated diseases of a gene."""
        return [self.diseases[d] for d in self.gene(hgnc_id).disease_ids if d in self.diseases]


def _term_resolver(ontology: Ontology) -> Callable[[str, str], str]:
    """A memoised current_id for annotation files; an unknown id is a format error at its line."""
    # Hundreds of thousands of rows name a few thousand terms: resolve each id once.
    memo: dict[str, str] = {}

    def current(term_id: str, where: str) -> str:
        found = memo.get(term_id)
        if found is None:
            try:
                found = memo[term_id] = intern(ontology.current_id(term_id))
            except UnknownTermError as error:
                raise HpoFormatError(f"{where}: {error}") from None
        return found

    return current


def _aspect(ontology: Ontology, term_id: str) -> str:
    above = ontology.ancestors(term_id, include_self=True)
    if PHENOTYPIC_ABNORMALITY_ID in above:
        return PHENOTYPE_ASPECT
    if MODE_OF_INHERITANCE_ID in above:
        return INHERITANCE_ASPECT
    return "C" if CLINICAL_COURSE_ID in above else "M"


def cover_gene_diseases(
    gene_terms: dict[str, frozenset[str]], disease_terms: dict[str, frozenset[str]]
) -> dict[str, tuple[str, ...]]:
    """Gene -> diseases whose terms explain the gene's terms (the exact cover in the module docstring)."""
    by_term: dict[str, set[str]] = {}
    for gene, terms in gene_terms.items():
        for term in terms:
            by_term.setdefault(term, set()).add(gene)
    candidates: dict[str, list[str]] = {}
    for disease, terms in disease_terms.items():
        if not terms:
            continue
        genes: set[str] | None = None
        for term in sorted(terms, key=lambda t: len(by_term.get(t, ()))):
            genes = set(by_term.get(term, ())) if genes is None else genes & by_term.get(term, set())
            if not genes:
                break
        for gene in genes or ():
            candidates.setdefault(gene, []).append(disease)
    links: dict[str, tuple[str, ...]] = {}
    for gene, diseases in candidates.items():
        left = set(gene_terms[gene])
        chosen = []
        for disease in sorted(diseases, key=lambda d: (-len(disease_terms[d]), d)):
            if disease_terms[disease] & left:
                chosen.append(disease)
                left -= disease_terms[disease]
            if not left:
                break
        links[gene] = tuple(chosen)
    return links


def annotations_from_hpo3(hpo: object, ontology: Ontology, gene_ids: GeneIdMap) -> HpoAnnotations:
    """Diseases and HGNC-keyed genes from hpo3's annotations (gene-disease links by ``cover_gene_diseases``)."""
    current = _term_resolver(ontology)
    diseases: dict[str, DiseaseAnnotation] = {}
    disease_terms: dict[str, frozenset[str]] = {}
    for prefix, items in (("OMIM", hpo.omim_diseases), ("ORPHA", hpo.orpha_diseases)):  # type: ignore[attr-defined]
        for item in items:
            disease_id = f"{prefix}:{item.id}"
            terms = sorted({current(hpo_id(n), disease_id) for n in item.hpo})
            rows = tuple(
                (term, False, "", None, (), "", "", intern(_aspect(ontology, term)), "", ()) for term in terms
            )
            diseases[disease_id] = DiseaseAnnotation(disease_id, item.name, rows)
            disease_terms[disease_id] = frozenset(terms)
    gene_terms: dict[str, frozenset[str]] = {}
    symbols: dict[str, tuple[str, str]] = {}
    unmapped: dict[str, str] = {}
    for gene in hpo.genes:  # type: ignore[attr-defined]
        hgnc = gene_ids.hgnc_for_ncbi(str(gene.id), gene.name)
        if hgnc is None:
            unmapped[str(gene.id)] = gene.name
            continue
        terms = frozenset(current(hpo_id(n), gene.name) for n in gene.hpo)
        gene_terms[hgnc] = gene_terms.get(hgnc, frozenset()) | terms
        symbols[hgnc] = (gene_ids.symbol_by_hgnc.get(hgnc, gene.name), str(gene.id))
    links = cover_gene_diseases(gene_terms, disease_terms)
    genes = {}
    for hgnc, (symbol, ncbi) in symbols.items():
        linked = links.get(hgnc, ())
        rows = tuple((term, "", disease) for disease in linked for term in sorted(disease_terms[disease]))
        genes[hgnc] = GeneAnnotation(hgnc, symbol, ncbi, linked, rows)
    by_disease: dict[str, list[str]] = {}
    for gene in genes.values():
        for disease_id in gene.disease_ids:
            by_disease.setdefault(disease_id, []).append(gene.hgnc_id)
    return HpoAnnotations(
        release=hpo.version(),  # type: ignore[attr-defined]
        diseases=diseases,
        genes=genes,
        unmapped_genes=sorted(unmapped.items()),
        genes_by_disease={d: tuple(sorted(g)) for d, g in by_disease.items()},
    )


def annotation_cache_sources() -> list[Path]:
    """The files whose change rebuilds the cached annotations (HPO sources and the gene id tables)."""
    from gmc.settings import get_settings

    settings = get_settings()
    return [*hpo_cache_sources(), settings.refdata_path(*MANE_SUMMARY), settings.refdata_path(*NCBI_GENE_INFO)]


@lru_cache(maxsize=1)
def get_annotations() -> HpoAnnotations:
    """The process-wide annotations of the configured HPO release, built from hpo3 once and cached on disk."""
    from gmc.settings import get_settings

    settings = get_settings()
    ontology = get_ontology()

    def build() -> HpoAnnotations:
        gene_ids = load_gene_id_map(settings.refdata_path(*MANE_SUMMARY), settings.refdata_path(*NCBI_GENE_INFO))
        return annotations_from_hpo3(load_hpo3(), ontology, gene_ids)

    return cached(hpo_cache_dir(), "hpo-annotations", annotation_cache_sources(), build, version=ANNOTATIONS_FORMAT)
