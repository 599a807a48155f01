"""Who is in a cohort: the criteria checked against reference data, then applied to the research-eligible
participants in scope (registry, phenotypes, tumour types and the variant store). Shared by cohort counts,
releases and the Beacon, so the three always agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from gmc.common.errors import Conflict, ValidationFailed
from gmc.genomics.service import gene_spans, store_root
from gmc.genomics.store.layout import StoreError, StoreLayout
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.phenotype.ontology import UnknownTermError, get_ontology
from gmc.phenotype.service import check_disease_code
from gmc.research import repository as repo
from gmc.research.cohort import Criteria, Qualifying, age_band, parse_variant
from gmc.research.eligibility import eligible_clause, research_decisions
from gmc.research.pseudonym import age_in_years
from gmc.research.suppression import Breakdown, breakdown, show

#: Builds whose variant stores are searched for genes (variants name their own build).
STORE_BUILDS = ("GRCh38", "GRCh37")
#: The attributes a count is split by, in page order.
BREAKDOWNS = ("sex", "age_band", "programme_arm", "centre")


def oncotree():  # noqa: ANN201
    """The OncoTree hierarchy in use."""
    from gmc.interpretation.cancer.oncotree import load_oncotree

    return load_oncotree()


def _within(tree, code: str, ancestor: str) -> bool:  # noqa: ANN001
    """True when a participant's tumour type lies at or below the asked type (a code OncoTree no longer knows and
    cannot map is in no type)."""
    try:
        return tree.is_within(code, ancestor)
    except ValueError:
        return False


def tumour_type_of(pk: int, indications: Sequence[str], somatic: dict[int, str]) -> str | None:
    """A participant's OncoTree code: their latest somatic run's, else the default for the first of their cancer
    referrals' indications (oldest first) that names one."""
    from gmc.interpretation.cancer.service import DEFAULT_TUMOUR_TYPES

    if pk in somatic:
        return somatic[pk]
    for indication in indications:
        code = DEFAULT_TUMOUR_TYPES.get(indication.strip().lower())
        if code:
            return code
    return None


def check_criteria(criteria: Criteria) -> Criteria:
    """The criteria with HPO ids made current and every term, code, gene and tumour type checked."""
    ontology = get_ontology()
    terms = []
    for term in criteria.hpo_terms:
        try:
            terms.append(ontology.resolve(term).term.id)
        except UnknownTermError as exc:
            raise ValidationFailed(f"hpo_terms: {exc} (HPO release {ontology.release})", field="hpo_terms") from None
    codes = tuple(check_disease_code(c, field="disease_codes") for c in criteria.disease_codes)
    if criteria.genes:
        gene_spans(criteria.genes, "GRCh38")  # refuses a symbol that is not a GRCh38 MANE gene, naming it
    if criteria.cancer_types:
        tree = oncotree()
        for code in criteria.cancer_types:
            try:
                tree.get(code)
            except ValueError as exc:
                raise ValidationFailed(f"cancer_types: {exc}", field="cancer_types") from None
    return replace(criteria, hpo_terms=tuple(dict.fromkeys(terms)), disease_codes=codes)


def store_filter(q: Qualifying) -> VariantFilter:
    """The variant store filter of a qualifying-genotype rule."""
    return VariantFilter(
        pass_only=q.pass_only, min_gq=q.min_gq,
        genotypes=tuple(sorted({1 if g == "het" else 2 for g in q.genotypes})) or None,
        site_any=_site_rule(q),
        site_at_most={"gnomad_af": q.max_population_af} if q.max_population_af is not None else {},
    )


def _site_rule(q: Qualifying) -> dict[str, tuple[str, ...] | None]:
    """Which annotation makes a site qualify (empty: every site)."""
    if q.clinvar == "only":
        return {"clinvar": None}
    if not q.impacts:
        return {}
    return {"impact": q.impacts, "clinvar": None} if q.clinvar == "or" else {"impact": q.impacts}


@dataclass
class Selection:
    """The participants a cohort holds now (registry keys: never shown), with notes on how it was read."""

    members: set[int]
    facts: dict[int, repo.ParticipantFacts]
    notes: list[str] = field(default_factory=list)


def _carrier_samples(criteria: Criteria, store_base: Path | None, notes: list[str]) -> dict[str, set[str]]:
    """Build -> the store samples carrying a qualifying variant in the genes, or one of the alleles (the stores
    answer for everyone at once; whose samples they are is asked of the registry after)."""
    found: dict[str, set[str]] = {}
    qualifying = store_filter(criteria.qualifying)
    for build in STORE_BUILDS:
        root = store_root(build, store_base)
        if not StoreLayout(root).exists():
            continue
        store = VariantStore(root)
        needed = set(qualifying.site_any)
        try:
            samples: list[str] = []
            if criteria.genes and needed and not needed & store.site_columns():
                notes.append(f"the {build} store holds no {' or '.join(sorted(needed))} annotation: no qualifying "
                             "variants can be read from it")
            elif criteria.genes:
                spans = []
                for gene in criteria.genes:
                    try:
                        spans += list(gene_spans((gene,), build).values())
                    except ValidationFailed:
                        notes.append(f"{gene} has no {build} MANE transcript: not searched in the {build} store")
                samples += store.carrier_samples(spans, qualifying=qualifying)
            if criteria.variants and build == criteria.build:
                calls = VariantFilter(pass_only=criteria.qualifying.pass_only, min_gq=criteria.qualifying.min_gq,
                                      genotypes=qualifying.genotypes)
                for text in criteria.variants:
                    chrom, pos, ref, alt = parse_variant(text)
                    samples += store.variant_carriers(chrom, pos, ref, alt, filters=calls).column("sample").to_pylist()
        except StoreError as exc:
            raise ValidationFailed(f"variant store ({build}): {exc}", field="genes") from None
        found[build] = set(samples)
    return found


def select_members(
    session: Session,
    criteria: Criteria,
    *,
    trust_scope: frozenset[int] | None,
    project_pk: int | None = None,
    store_base: Path | None = None,
    today: date | None = None,
) -> Selection:
    """The research-eligible participants in scope that meet every criterion.

    Consent, the registry and phenotype criteria narrow the candidates in SQL first, and the variant stores'
    carriers narrow them next (their owners looked up among the candidates); age and tumour type are then read only
    for those, and facts only for the members.
    """
    notes: list[str] = []
    today = today or date.today()
    term_sets: list[frozenset[str]] = []
    if criteria.hpo_terms:
        ontology = get_ontology()
        term_sets = [ontology.descendants(t, include_self=True) if criteria.hpo_descendants else frozenset({t})
                     for t in criteria.hpo_terms]
    query, too_large = repo.candidates(session, trust_scope, sexes=criteria.sexes, arms=criteria.programme_arms,
                                       term_sets=term_sets, hpo_match=criteria.hpo_match,
                                       disease_codes=criteria.disease_codes,
                                       tumour_typed=bool(criteria.cancer_types))
    # The one research-eligibility rule, applied in the same query (equal to eligibility.decide, person by person).
    query = query.where(eligible_clause())
    candidates: Select | set[int] = query
    if criteria.research_ids:
        if project_pk is None:
            raise ValidationFailed("research_ids select people of a project's earlier releases: save the cohort "
                                   "in that project", field="research_ids")
        known = repo.project_members_by_research_id(session, project_pk)
        unknown = [r for r in criteria.research_ids if r not in known]
        if unknown:
            raise ValidationFailed(f"research_ids: {', '.join(unknown[:5])} were not released by this project",
                                   field="research_ids")
        wanted = {known[r]: r for r in criteria.research_ids}
        decisions = research_decisions(session, wanted)
        gone = sorted(wanted[pk] for pk, d in decisions.items() if not d.eligible)
        if gone:
            raise Conflict(f"research_ids: {', '.join(gone[:10])} no longer consent to research use (they are on "
                           "the recall list); remove them from the cohort", field="research_ids")
        candidates = set(session.execute(query).scalars()) & set(wanted)
    for terms in too_large:
        candidates = candidates if isinstance(candidates, set) else set(session.execute(query).scalars())
        candidates = repo.with_observed_terms(session, terms, candidates)
    if criteria.needs_genotypes:
        # The stores name their carriers among everyone in one query each; the registry keeps the candidates who
        # own them, so a gene count never reads consent or facts of people who do not carry.
        candidates = repo.owners_of_samples(session, _carrier_samples(criteria, store_base, notes), candidates)
    if criteria.age_bands:
        ages = repo.recruitment_ages(session, candidates if isinstance(candidates, Select) else sorted(candidates))
        candidates = {pk for pk, (born, recruited) in ages.items()
                      if age_band(age_in_years(born, recruited or today)) in criteria.age_bands}
    if criteria.cancer_types:
        tree = oncotree()
        somatic = repo.somatic_tumour_types(session)
        candidates = {pk for pk, indications in repo.cancer_indications(session, candidates).items()
                      if (code := tumour_type_of(pk, indications, somatic))
                      and any(_within(tree, code, wanted) for wanted in criteria.cancer_types)}
    members = set(session.execute(candidates).scalars()) if isinstance(candidates, Select) else candidates
    facts = repo.participant_facts(session, members)
    return Selection(members, facts, notes)


def attribute(facts: repo.ParticipantFacts, name: str, today: date) -> list[str]:
    """The values of one breakdown attribute for a participant (an arm list may hold two)."""
    if name == "sex":
        return [facts.sex]
    if name == "age_band":
        return [age_band(age_in_years(facts.date_of_birth, facts.recruited_on or today))]
    if name == "programme_arm":
        return list(facts.arms) or ["none"]
    return [facts.centre or "unknown"]


def breakdowns(selection: Selection, *, today: date | None = None) -> dict[str, Breakdown]:
    """The count split by sex, age band, arm and centre, each suppressed against the total."""
    today = today or date.today()
    total = len(selection.members)
    out = {}
    for name in BREAKDOWNS:
        cells: dict[str, int] = {}
        for pk in selection.members:
            for value in attribute(selection.facts[pk], name, today):
                cells[value] = cells.get(value, 0) + 1
        out[name] = breakdown(dict(sorted(cells.items())), total)
    return out


def count_view(selection: Selection, criteria: Criteria) -> dict[str, Any]:
    """What a researcher sees of a selection: the suppressed count, breakdowns and notes (never who)."""
    parts = breakdowns(selection)
    return {
        "count": show(len(selection.members)),
        "criteria": criteria.to_dict(),
        "description": criteria.describe(),
        "breakdowns": {name: {"cells": b.cells, "values": b.values, "suppressed": b.suppressed}
                       for name, b in parts.items()},
        "notes": selection.notes,
    }
