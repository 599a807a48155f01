"""HPO disease and gene annotations (phenotype.hpoa, genes_to_phenotype) as plain data, keyed by HGNC id."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
    hpo_source_paths,
    read_text_lines,
)

#: Representative value of each HPO frequency class (the midpoint of its published range).
FREQUENCY_TERMS = {
    "HP:0040280": 1.0,  # Obligate (100%)
    "HP:0040281": 0.895,  # Very frequent (80-99%)
    "HP:0040282": 0.545,  # Frequent (30-79%)
    "HP:0040283": 0.17,  # Occasional (5-29%)
    "HP:0040284": 0.025,  # Very rare (1-4%)
    "HP:0040285": 0.0,  # Excluded (0%)
}
#: Shape of the cached HpoAnnotations; bump when these classes change.
ANNOTATIONS_FORMAT = 3
#: Aspects of phenotype.hpoa rows: phenotypic abnormality, inheritance, clinical course (onset), modifier, history.
PHENOTYPE_ASPECT = "P"
INHERITANCE_ASPECT = "I"

_HPOA_COLUMNS = (
    "database_id",
    "disease_name",
    "qualifier",
    "hpo_id",
    "reference",
    "evidence",
    "onset",
    "frequency",
    "sex",
    "modifier",
    "aspect",
    "biocuration",
)
_RATIO = re.compile(r"^(\d+)/(\d+)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


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
        return frozenset(a.hpo_id for a in self.phenotypes)

    @property
    def excluded_terms(self) -> frozenset[str]:
        """Ids of phenotypic abnormalities the disease is known not to show."""
        return frozenset(a.hpo_id for a in self.annotations if a.excluded and a.aspect == PHENOTYPE_ASPECT)

    @property
    def inheritance_terms(self) -> frozenset[str]:
        """Modes of inheritance (aspect I)."""
        return frozenset(a.hpo_id for a in self.annotations if a.aspect == INHERITANCE_ASPECT and not a.excluded)


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


def parse_frequency(raw: str, where: str) -> float | None:
    """A frequency column as a fraction: HPO frequency term, n/m or x%; None when empty."""
    if not raw:
        return None
    if raw in FREQUENCY_TERMS:
        return FREQUENCY_TERMS[raw]
    ratio = _RATIO.match(raw)
    if ratio:
        numerator, denominator = int(ratio.group(1)), int(ratio.group(2))
        if denominator == 0 or numerator > denominator:
            raise HpoFormatError(f"{where}: impossible frequency {raw!r}")
        return numerator / denominator
    percent = _PERCENT.match(raw)
    if percent:
        value = float(percent.group(1)) / 100
        if value > 1:
            raise HpoFormatError(f"{where}: impossible frequency {raw!r}")
        return value
    raise HpoFormatError(f"{where}: unrecognised frequency {raw!r}")


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


def parse_hpoa(lines: Iterable[str], ontology: Ontology, source: str = "<hpoa>") -> tuple[str, dict[str, DiseaseAnnotation]]:
    """Release and diseases from phenotype.hpoa text; obsolete ids move to their replacement."""
    release = ""
    current = _term_resolver(ontology)
    rows: dict[str, list[PhenotypeAnnotation]] = {}
    names: dict[str, str] = {}
    header_seen = False
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n")
        if line.startswith("#"):
            if line.startswith("#version:"):
                release = line.split(":", 1)[1].strip()
            continue
        if not header_seen:
            if tuple(line.split("\t")) != _HPOA_COLUMNS:
                raise HpoFormatError(f"{source}:{line_no}: unexpected header {line!r}")
            header_seen = True
            continue
        if not line:
            continue
        cols = line.split("\t")
        where = f"{source}:{line_no}"
        if len(cols) != len(_HPOA_COLUMNS):
            raise HpoFormatError(f"{where}: expected {len(_HPOA_COLUMNS)} columns, got {len(cols)}")
        disease_id, name, qualifier, hpo_id, reference, evidence, onset, frequency, sex, modifier, aspect, _ = cols
        if qualifier not in {"", "NOT"}:
            raise HpoFormatError(f"{where}: unknown qualifier {qualifier!r}")
        value = parse_frequency(frequency, where)
        # Interned strings are stored once in the pickled cache, which makes it several times faster to load.
        rows.setdefault(disease_id, []).append(
            PhenotypeAnnotation(
                hpo_id=current(hpo_id, where),
                excluded=qualifier == "NOT" or value == 0.0,
                frequency=intern(frequency),
                frequency_value=value,
                references=tuple(intern(r) for r in reference.split(";") if r),
                evidence=intern(evidence),
                onset=current(onset, where) if onset else "",
                aspect=intern(aspect),
                sex=intern(sex),
                modifiers=tuple(current(m, where) for m in modifier.split(";") if m),
            )
        )
        names.setdefault(disease_id, name)
    if not header_seen:
        raise HpoFormatError(f"{source}: no header line")
    diseases = {
        d: DiseaseAnnotation(d, names[d], tuple(tuple(a) for a in annotations)) for d, annotations in rows.items()
    }
    return release, diseases


def parse_genes_to_phenotype(
    lines: Iterable[str], ontology: Ontology, gene_ids: GeneIdMap, source: str = "<genes_to_phenotype>"
) -> tuple[dict[str, GeneAnnotation], list[tuple[str, str]]]:
    """Genes by HGNC id from genes_to_phenotype text, and the genes that have no HGNC id."""
    header = ("ncbi_gene_id", "gene_symbol", "hpo_id", "hpo_name", "frequency", "disease_id")
    current = _term_resolver(ontology)
    collected: dict[str, tuple[str, str, list[GenePhenotype], dict[str, None]]] = {}
    unmapped: dict[str, str] = {}
    for line_no, raw in enumerate(lines, start=1):
        cols = raw.rstrip("\n").split("\t")
        if line_no == 1:
            if tuple(cols) != header:
                raise HpoFormatError(f"{source}:1: unexpected header {raw.strip()!r}")
            continue
        where = f"{source}:{line_no}"
        if len(cols) != len(header):
            raise HpoFormatError(f"{where}: expected {len(header)} columns, got {len(cols)}")
        ncbi, symbol, hpo_id, _, frequency, disease_id = cols
        hgnc = gene_ids.hgnc_for_ncbi(ncbi, symbol)
        if hgnc is None:
            unmapped[ncbi] = symbol
            continue
        entry = collected.setdefault(hgnc, (gene_ids.symbol_by_hgnc.get(hgnc, symbol), ncbi, [], {}))
        entry[2].append(
            GenePhenotype(
                current(hpo_id, where), intern("" if frequency == "-" else frequency), intern(disease_id)
            )
        )
        entry[3][disease_id] = None
    genes = {
        hgnc: GeneAnnotation(hgnc, symbol, ncbi, tuple(diseases), tuple(tuple(p) for p in phenotypes))
        for hgnc, (symbol, ncbi, phenotypes, diseases) in collected.items()
    }
    return genes, sorted(unmapped.items())


def load_annotations(
    ontology: Ontology, hpoa: Path, genes_to_phenotype: Path, mane_summary: Path, gene_info: Path | None = None
) -> HpoAnnotations:
    """Parses the disease and gene annotation files of a release, without any cache."""
    release, diseases = parse_hpoa(read_text_lines(hpoa), ontology, source=str(hpoa))
    gene_ids = load_gene_id_map(mane_summary, gene_info)
    genes, unmapped = parse_genes_to_phenotype(
        read_text_lines(genes_to_phenotype), ontology, gene_ids, source=str(genes_to_phenotype)
    )
    by_disease: dict[str, list[str]] = {}
    for gene in genes.values():
        for disease_id in gene.disease_ids:
            by_disease.setdefault(disease_id, []).append(gene.hgnc_id)
    return HpoAnnotations(
        release=release,
        diseases=diseases,
        genes=genes,
        unmapped_genes=unmapped,
        genes_by_disease={d: tuple(sorted(g)) for d, g in by_disease.items()},
    )


@lru_cache(maxsize=1)
def get_annotations() -> HpoAnnotations:
    """The process-wide annotations from GMC_REFDATA, parsed once and cached on disk."""
    from gmc.settings import get_settings

    settings = get_settings()
    paths = hpo_source_paths()
    mane = settings.refdata_path(*MANE_SUMMARY)
    gene_info = settings.refdata_path(*NCBI_GENE_INFO)
    sources = [paths["obo"], paths["hpoa"], paths["genes_to_phenotype"], mane, gene_info]
    ontology = get_ontology()
    return cached(
        hpo_cache_dir(),
        "hpo-annotations",
        sources,
        lambda: load_annotations(ontology, paths["hpoa"], paths["genes_to_phenotype"], mane, gene_info),
        version=ANNOTATIONS_FORMAT,
    )
