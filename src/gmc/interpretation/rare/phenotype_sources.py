"""Phenotype evidence for genes the HPO annotations miss: PanelApp panels and ClinVar conditions as HPO profiles.

HPO's gene annotations lag the literature: a gene published after the release has no annotated disease and no
phenotype score at all. Two other sources link genes to phenotypes:

- PanelApp (refdata): each disease-level panel ("Hypertrophic cardiomyopathy", "Intellectual disability",
  "Mitochondrial disorders") lists green (diagnostic grade) and amber genes;
- ClinVar (refdata): each P/LP variant names the condition(s) it was reported for (CLNDN), so a gene is linked to
  the conditions its pathogenic variants cause, including diseases newer than the HPO release.

Neither carries HPO terms, so the names are read as HPO profiles (``name_profile``): a name that is an
annotated disease's name (OMIM or Orphanet, compared without case, punctuation, "type" and subtype numbers;
"Stickler syndrome", "Epidermolysis bullosa") takes that disease's phenotypic abnormalities; otherwise the whole
name and its parts split at "or", "and", commas and slashes are looked up as HPO labels or exact synonyms (after
dropping qualifiers such as "rare" or "isolated", trailing words such as "disorders" or "syndrome" and subtype
numbers), keeping phenotypic abnormalities only (``text_terms``). Each panel or condition becomes a small profile, scored against the
patient with the same normalised Resnik formula as the HPO diseases (``gmc.phenotype.similarity``, patient side
weighed as in ranking); a gene takes its best profile, an amber panel gene at ``AMBER_WEIGHT``. Only genes
without an HPO annotation are scored this way (an HPO-annotated gene keeps its richer disease profiles), and
the explanation names the source (panel and its confidence, or the ClinVar condition). The profiles are built
once and kept on disk keyed by the checksums of the PanelApp file, the ClinVar file and the HPO sources.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Weight of an amber (borderline) PanelApp gene's match relative to a green one.
AMBER_WEIGHT = 0.5
#: ClinVar condition names that name no disease.
_NO_CONDITION = frozenset(
    {"not provided", "not specified", "see cases", "inborn genetic diseases", "none provided", "."}
)
_SPLIT = re.compile(r",|/|;|\bor\b|\band\b|\bwith\b|\bdue to\b")
_LEADING = ("rare ", "isolated ", "inherited ", "familial ", "hereditary ", "early onset ", "early-onset ",
            "adult onset ", "childhood onset ", "primary ", "severe ", "syndromic ", "non-syndromic ")
_TRAILING = re.compile(
    r"(?:\s+(?:disorders?|syndromes?|diseases?|conditions?|phenotypes?|spectrum|type|form|"
    r"susceptibility(?: to)?|[0-9]+[a-z]?|[ivx]+|[a-z]))+$"
)


@dataclass(frozen=True)
class GeneProfile:
    """A gene's phenotype profile from a source other than HPO's annotations."""

    #: "PanelApp" or "ClinVar".
    source: str
    #: The panel (with its confidence) or the ClinVar condition the profile was read from.
    label: str
    terms: tuple[str, ...]
    #: 1 for a green panel gene or a ClinVar condition, AMBER_WEIGHT for an amber panel gene.
    weight: float = 1.0
    #: The annotated disease whose terms the profile took (its name matched), else None.
    disease_id: str | None = None


def _phrases(name: str) -> list[str]:
    text = re.sub(r"\([^)]*\)", " ", name.replace("_", " ")).lower()
    text = re.sub(r"\s+", " ", text).strip(" ,;-")
    parts = [text] + [p.strip(" ,;-") for p in _SPLIT.split(text)]
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        candidates = [part]
        stripped = part
        for prefix in _LEADING:
            if stripped.startswith(prefix):
                stripped = stripped[len(prefix):]
        candidates.append(stripped)
        candidates.append(_TRAILING.sub("", stripped).strip())
        for candidate in candidates:
            if candidate and candidate not in out:
                out.append(candidate)
                if candidate.endswith("s") and len(candidate) > 4:
                    out.append(candidate[:-1])
    return out


def text_terms(ontology: Any, name: str) -> tuple[str, ...]:
    """HPO phenotypic abnormalities a disease or panel name states (label or exact synonym matches)."""
    from gmc.phenotype.ontology import PHENOTYPIC_ABNORMALITY_ID

    found: list[str] = []
    for phrase in _phrases(name):
        for term in ontology.by_label(phrase):
            if term.id not in found and PHENOTYPIC_ABNORMALITY_ID in ontology.ancestors(term.id):
                found.append(term.id)
    # Keep the most specific: a term whose descendant is also found adds nothing.
    return tuple(t for t in found if not any(t in ontology.ancestors(o) for o in found if o != t))


def _disease_key(name: str) -> str:
    text = re.sub(r"[^a-z0-9 ]", " ", name.replace("_", " ").lower())
    words = [w for w in text.split() if w not in {"type", "the", "of"}]
    while words and re.fullmatch(r"[0-9]+[a-z]?|[ivx]+|[a-z]", words[-1]):
        words.pop()
    return " ".join(words)


def disease_name_index(annotations: Any) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Normalised disease name -> (disease id, its phenotypic abnormalities), the richest disease of that name."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for disease in annotations.diseases.values():
        terms = tuple(sorted(disease.observed_terms))
        if terms:
            for name in {disease.name, disease.name.split(";")[0]}:
                key = _disease_key(name)
                if key and (key not in out or len(terms) > len(out[key][1])):
                    out[key] = (disease.id, terms)
    return out


def name_profile(
    ontology: Any, diseases: Mapping[str, tuple[str, tuple[str, ...]]], name: str
) -> tuple[tuple[str, ...], str | None]:
    """The HPO profile a panel or condition name states: (terms, disease id) of an annotated disease of that
    name, else (label-matched terms, None)."""
    found = diseases.get(_disease_key(name))
    if found:
        return found[1], found[0]
    return text_terms(ontology, name), None


def panel_profiles(
    panels: Mapping[str, Any], ontology: Any, diseases: Mapping[str, tuple[str, tuple[str, ...]]] | None = None
) -> dict[str, list[GeneProfile]]:
    """Gene symbol -> profiles of the green and amber genes' panels whose names state HPO terms."""
    out: dict[str, list[GeneProfile]] = {}
    for panel in panels.values():
        terms, disease_id = name_profile(ontology, diseases or {}, panel.name)
        if not terms:
            continue
        for gene in panel.genes:
            if gene.is_green or int(gene.confidence) == 2:
                colour = "green" if gene.is_green else "amber"
                out.setdefault(gene.symbol, []).append(
                    GeneProfile("PanelApp", f"{panel.name} (panel {panel.panel_id}, {colour})", terms,
                                1.0 if gene.is_green else AMBER_WEIGHT, disease_id)
                )
    return out


def clinvar_profiles(
    path: Path, ontology: Any, diseases: Mapping[str, tuple[str, tuple[str, ...]]] | None = None
) -> dict[str, list[GeneProfile]]:
    """Gene symbol -> profiles of the conditions its ClinVar P/LP variants were reported for (CLNDN)."""
    names: dict[str, set[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            info = line.rstrip("\n").split("\t", 8)[7]
            fields = dict(item.split("=", 1) for item in info.split(";") if "=" in item)
            gene = fields.get("GENEINFO", "").split("|")[0].split(":")[0]
            if not gene or not fields.get("CLNSIG", "").lower().startswith(("pathogenic", "likely_pathogenic")):
                continue
            for condition in fields.get("CLNDN", "").split("|"):
                text = condition.replace("_", " ").strip()
                if text.lower() not in _NO_CONDITION:
                    names.setdefault(gene, set()).add(text)
    memo: dict[str, tuple[tuple[str, ...], str | None]] = {}
    out: dict[str, list[GeneProfile]] = {}
    for gene, conditions in names.items():
        for condition in sorted(conditions):
            if condition not in memo:
                memo[condition] = name_profile(ontology, diseases or {}, condition)
            terms, disease_id = memo[condition]
            if terms:
                out.setdefault(gene, []).append(GeneProfile("ClinVar", condition, terms, 1.0, disease_id))
    return out


@lru_cache(maxsize=1)
def gene_profiles() -> dict[str, list[GeneProfile]]:
    """PanelApp and ClinVar profiles of every gene, from the on-disk index (rebuilt when a source changes)."""
    from gmc.genomics.annotation.annotate import CLINVAR_FILES
    from gmc.interpretation.rare.panels import PANELAPP_CORE, read_panelapp
    from gmc.interpretation.rare.refindex import cached_index
    from gmc.phenotype.annotations import annotation_cache_sources, get_annotations
    from gmc.phenotype.ontology import get_ontology
    from gmc.settings import get_settings

    root = Path(get_settings().refdata_dir())
    panel_file = root / "panelapp" / PANELAPP_CORE
    clinvar = root.joinpath(*CLINVAR_FILES["GRCh38"])
    sources = [p for p in (panel_file, clinvar) if p.exists()] + annotation_cache_sources()

    def build() -> dict[str, list[GeneProfile]]:
        ontology = get_ontology()
        diseases = disease_name_index(get_annotations())
        out: dict[str, list[GeneProfile]] = {}
        if panel_file.exists():
            for gene, profiles in panel_profiles(read_panelapp(root / "panelapp"), ontology, diseases).items():
                out.setdefault(gene, []).extend(profiles)
        if clinvar.exists():
            for gene, profiles in clinvar_profiles(clinvar, ontology, diseases).items():
                out.setdefault(gene, []).extend(profiles)
        return out

    return cached_index("gene-profiles", sources, build, version=3)


@dataclass(frozen=True)
class ProfileMatch:
    """A gene's best PanelApp or ClinVar profile for a patient, in the shape of an HPO gene match."""

    symbol: str
    score: float
    source: str
    label: str
    matched_pairs: tuple[Any, ...]
    disease_id: str | None = None

    @property
    def disease_name(self) -> str:
        """The panel or condition, as the explanation names it."""
        return self.label


def score_profiles(
    observed: Sequence[str],
    profiles: Mapping[str, Sequence[GeneProfile]],
    index: Any,
    patient_weight: float,
    genes: Iterable[str] | None = None,
    disease_matches: Mapping[str, Any] | None = None,
) -> dict[str, ProfileMatch]:
    """Each gene's best profile scored against the patient's observed terms (normalised Resnik, see above).

    A profile taken from an annotated disease takes that disease's score from disease_matches (the index's own
    scoring of every disease for the patient, excluded terms included) instead of scoring its terms again.
    """
    from gmc.phenotype.similarity import MatchedPair

    ontology = index._ontology
    profile = index.profile(observed, strict=False)
    patient = list(profile.observed)
    if not patient:
        return {}
    ic = index.information_content
    above = {p: ontology.ancestors(p, include_self=True) for p in patient}
    patient_ic = {p: ic(p) for p in patient}
    total_patient = sum(patient_ic.values()) or 1.0
    memo: dict[tuple[str, ...], tuple[float, tuple[Any, ...]]] = {}

    def best_common(p: str, d: str, d_above: frozenset[str]) -> tuple[float, str]:
        common = above[p] & d_above
        if not common:
            return 0.0, ""
        term = max(common, key=ic)
        return ic(term), term

    def score(terms: tuple[str, ...]) -> tuple[float, tuple[Any, ...]]:
        if terms not in memo:
            d_above = {d: ontology.ancestors(d, include_self=True) for d in terms}
            pairs = []
            patient_side = 0.0
            for p in patient:
                value, d_best, mica = _best(p, terms, d_above, best_common)
                patient_side += value
                if value > 0:
                    pairs.append(MatchedPair(p, d_best, mica, value))
            disease_ic = sum(ic(d) for d in terms) or 1.0
            disease_side = sum(max(best_common(p, d, d_above[d])[0] for p in patient) for d in terms)
            raw = patient_weight * patient_side / total_patient + (1 - patient_weight) * disease_side / disease_ic
            memo[terms] = (raw, tuple(pairs))
        return memo[terms]

    wanted = set(genes) if genes is not None else None
    out: dict[str, ProfileMatch] = {}
    for gene, gene_profiles_ in profiles.items():
        if wanted is not None and gene not in wanted:
            continue
        best: ProfileMatch | None = None
        for item in gene_profiles_:
            known = (disease_matches or {}).get(item.disease_id or "")
            raw, pairs = (known.score, known.matched_pairs) if known is not None else score(item.terms)
            value = raw * item.weight
            if best is None or value > best.score:
                best = ProfileMatch(gene, value, item.source, item.label, pairs, item.disease_id)
        if best is not None and best.score > 0:
            out[gene] = best
    return out


def _best(p: str, terms: tuple[str, ...], d_above: Mapping[str, frozenset[str]], best_common: Any) -> tuple[float, str, str]:
    """The profile term best matching patient term p: (IC of the common ancestor, that term, the ancestor)."""
    value, term, mica = 0.0, terms[0], ""
    for d in terms:
        ic_value, common = best_common(p, d, d_above[d])
        if ic_value > value:
            value, term, mica = ic_value, d, common
    return value, term, mica
