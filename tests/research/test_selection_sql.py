"""Cohort selection narrows candidates in SQL (consent, sex, arm, HPO subtrees, diagnoses, having a tumour type; then
age and tumour type on the candidates only). It must give exactly the members a plain reading gives: every eligible participant in scope
read with all their facts and filtered in Python. Checked over many criteria on the research world (real
phenopackets' terms, the registry demo's consents and withdrawals), on SQLite and PostgreSQL, with the IN-list
limit at its real value and lowered so the in-memory path for large term sets runs too."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from gmc.phenotype.models import Diagnosis, PhenotypeObservation
from gmc.phenotype.ontology import get_ontology
from gmc.research import eligibility
from gmc.research import repository as repo
from gmc.research.cohort import AGE_BANDS, Criteria, age_band
from gmc.research.demo import SEIZURE
from gmc.research.pseudonym import age_in_years
from gmc.research.selection import _within, oncotree, select_members, tumour_type_of

NERVOUS_SYSTEM = "HP:0000707"
PHENOTYPIC_ABNORMALITY = "HP:0000118"


def plain_reading(session, criteria: Criteria, scope: frozenset[int] | None, today: date) -> set[int]:
    """Every living participant in scope, their consent, facts, observed terms and diagnoses read whole; the
    criteria applied one participant at a time."""
    pks = repo.participants_in_scope(session, scope)
    decisions = eligibility.research_decisions(session, pks)
    facts = repo.participant_facts(session, pks)
    observed: dict[int, set[str]] = defaultdict(set)
    for pk, term in session.execute(sa.select(PhenotypeObservation.participant_id, PhenotypeObservation.hpo_id)
                                    .where(PhenotypeObservation.removed_at.is_(None),
                                           PhenotypeObservation.excluded.is_(False))):
        observed[pk].add(term)
    diagnosed: dict[int, set[str]] = defaultdict(set)
    for pk, code in session.execute(sa.select(Diagnosis.participant_id, Diagnosis.code).where(
            Diagnosis.status.in_(("suspected", "confirmed")), Diagnosis.removed_at.is_(None))):
        diagnosed[pk].add(code)
    ontology = get_ontology()
    sets = [ontology.descendants(t, include_self=True) if criteria.hpo_descendants else {t}
            for t in criteria.hpo_terms]
    somatic = repo.somatic_tumour_types(session)
    out = set()
    for pk in pks:
        f = facts[pk]
        if not decisions[pk].eligible:
            continue
        if criteria.sexes and f.sex not in criteria.sexes:
            continue
        if criteria.programme_arms and not set(f.arms) & set(criteria.programme_arms):
            continue
        if criteria.age_bands and age_band(age_in_years(f.date_of_birth, f.recruited_on or today)) \
                not in criteria.age_bands:
            continue
        hits = [bool(observed[pk] & s) for s in sets]
        if sets and not (all(hits) if criteria.hpo_match == "all" else any(hits)):
            continue
        if criteria.disease_codes and not diagnosed[pk] & set(criteria.disease_codes):
            continue
        code = tumour_type_of(pk, f.indications, somatic)
        if criteria.cancer_types and not (code and any(_within(oncotree(), code, c) for c in criteria.cancer_types)):
            continue
        out.add(pk)
    return out


def _vary(session) -> None:
    """What the world lacks, made through the services: an excluded and a removed diagnosis of the commonest code, a
    removed observation of the commonest term, and a participant of unknown sex."""
    from gmc.phenotype import service as phenotype
    from gmc.registry.models import Participant

    caller = phenotype.Caller.system("test")
    code = session.execute(sa.select(Diagnosis.code).group_by(Diagnosis.code)
                           .order_by(sa.func.count().desc(), Diagnosis.code).limit(1)).scalar_one()
    rows = session.execute(sa.select(Diagnosis, Participant.participant_id).join(
        Participant, Participant.id == Diagnosis.participant_id).where(Diagnosis.code == code)
        .order_by(Diagnosis.id)).all()
    phenotype.update_diagnosis(session, caller, rows[0][1], rows[0][0].id, status="excluded")
    phenotype.update_diagnosis(session, caller, rows[1][1], rows[1][0].id, remove=True)
    term = session.execute(sa.select(PhenotypeObservation.hpo_id).where(PhenotypeObservation.excluded.is_(False))
                           .group_by(PhenotypeObservation.hpo_id).order_by(sa.func.count().desc(),
                                                                           PhenotypeObservation.hpo_id)
                           .limit(1)).scalar_one()
    row, pid = session.execute(sa.select(PhenotypeObservation, Participant.participant_id).join(
        Participant, Participant.id == PhenotypeObservation.participant_id).where(
        PhenotypeObservation.hpo_id == term).order_by(PhenotypeObservation.id).limit(1)).one()
    phenotype.remove_observation(session, caller, pid, row.id, reason="test")
    session.execute(sa.select(Participant).order_by(Participant.id).limit(1)).scalar_one().sex = "unknown"
    session.flush()


def _criteria(session) -> list[Criteria]:
    """Sex, arm, age band, HPO (a term, its subtree, large subtrees, two terms all/any) and diagnosis criteria
    alone and combined."""
    common = [t for t, _ in session.execute(
        sa.select(PhenotypeObservation.hpo_id, sa.func.count()).where(PhenotypeObservation.excluded.is_(False))
        .group_by(PhenotypeObservation.hpo_id).order_by(sa.func.count().desc(), PhenotypeObservation.hpo_id)
        .limit(2))]
    codes = [c for c, _ in session.execute(sa.select(Diagnosis.code, sa.func.count()).group_by(Diagnosis.code)
                                           .order_by(sa.func.count().desc(), Diagnosis.code).limit(2))]
    hpo = [{}, {"hpo_terms": (SEIZURE,)}, {"hpo_terms": (SEIZURE,), "hpo_descendants": False},
           {"hpo_terms": (NERVOUS_SYSTEM,)}, {"hpo_terms": (PHENOTYPIC_ABNORMALITY,)},
           {"hpo_terms": tuple(common), "hpo_match": "all"}, {"hpo_terms": tuple(common), "hpo_match": "any"},
           {"hpo_terms": (SEIZURE, PHENOTYPIC_ABNORMALITY), "hpo_match": "all"}]
    out = []
    for sexes, arms, ages, terms in itertools.product(
            [(), ("female",), ("male", "unknown"), ("unknown",)], [(), ("rare_disease",), ("cancer",)],
            [(), ("40-59",), AGE_BANDS[:2]], hpo):
        out.append(Criteria(sexes=sexes, programme_arms=arms, age_bands=ages, **terms))
    out += [Criteria(disease_codes=(code,)) for code in codes]
    out.append(Criteria(disease_codes=tuple(codes), hpo_terms=(PHENOTYPIC_ABNORMALITY,), sexes=("female",)))
    for types in [("BREAST",), ("BRCA", "COADREAD"), ("LUNG", "PRAD", "OVARY", "BOWEL")]:
        out += [Criteria(cancer_types=types), Criteria(cancer_types=types, sexes=("female",), age_bands=("40-59",))]
    return out


@pytest.mark.parametrize("in_limit", [None, 3])
def test_sql_narrowing_gives_the_plain_reading(world, world_db, principal_of, monkeypatch, in_limit) -> None:
    if in_limit is not None:
        monkeypatch.setattr(repo, "_IN_LIMIT", in_limit)
    today = date.today()
    with world_db.transaction() as s:
        _vary(s)
        wm = principal_of(s, "researcher").trust_scope
        one_trust = frozenset(sorted(wm)[:1]) if wm else frozenset(
            s.execute(sa.text("SELECT min(trust_id) FROM referral")).scalars())
        checked = nonempty = 0
        for criteria in _criteria(s):
            for scope in (None, one_trust):
                expected = plain_reading(s, criteria, scope, today)
                got = select_members(s, criteria, trust_scope=scope, store_base=world.store_base, today=today)
                assert got.members == expected, (criteria.describe(), scope)
                assert set(got.facts) == expected
                checked += 1
                nonempty += bool(expected)
        # The criteria are not vacuous: many find someone.
        assert checked > 400 and nonempty > checked // 5, (checked, nonempty)
