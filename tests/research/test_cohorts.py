"""Research eligibility and cohort counts on the research world (real phenopackets, real exomes with real ClinVar
SCN1A variants, the registry demo's consents and withdrawals), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.phenotype import service as phenotype
from gmc.phenotype.ontology import get_ontology
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.registry.models import Consent, HospitalNumber, Participant
from gmc.research import eligibility, service
from gmc.research.demo import PREFIX, SEIZURE
from gmc.research.selection import select_members

SCN1A_SEIZURES = {"hpo_terms": [SEIZURE], "genes": ["SCN1A"]}


def _by_hospital_number(session, number: str) -> Participant:
    return session.execute(sa.select(Participant).join(HospitalNumber).where(HospitalNumber.number == number)
                           ).scalar_one()


def _system():
    from gmc.research.demo import _principal

    return _principal()


def test_one_rule_consent_allows_research_and_no_withdrawal(world_db) -> None:
    with world_db.transaction() as s:
        consents = consent_service.current_consents(s)
        active_yes = next(pk for pk, c in consents.items() if c.status == "active" and c.choices["research_data"])
        active_no = next(pk for pk, c in consents.items() if c.status == "active" and not c.choices["research_data"])
        no_contact = next(pk for pk, c in consents.items() if c.status == "withdrawn"
                          and c.withdrawal_level == "no_further_contact" and c.choices["research_data"])
        no_use = next(pk for pk, c in consents.items() if c.status == "withdrawn"
                      and c.withdrawal_level == "no_further_use")
        no_consent = s.execute(sa.select(Participant.id).where(
            ~Participant.id.in_(sa.select(Consent.participant_id)))).scalars().first()
        decisions = eligibility.research_decisions(s, [active_yes, active_no, no_contact, no_use, no_consent])
        assert decisions[active_yes].eligible
        assert decisions[active_no] == eligibility.ResearchDecision(
            False, "the participant did not consent to research data")
        # The consent service lets data already given be used after "no further contact"; research does not.
        assert consent_service.is_allowed(s, no_contact, "research_data").allowed
        assert not decisions[no_contact].eligible and "withdrew (no further contact)" in decisions[no_contact].reason
        assert not decisions[no_use].eligible and not decisions[no_consent].eligible
        # The bulk read agrees with asking one participant at a time.
        for pk in list(consents)[:60]:
            one = consent_service.current_consent(s, pk)
            assert eligibility.decide(one) == eligibility.decide(consents[pk])


def test_the_rule_in_sql_says_what_the_rule_says_of_everyone(world_db) -> None:
    """eligible_clause (counts, releases and the Beacon narrow with it) against decide() on every participant,
    with the governing-consent edge cases added as rows: an older consent left active beside a newer withdrawn one,
    two consents on one day (the later record governs), a yes in a superseded consent, and choices stored as 1/0."""
    with world_db.transaction() as s:
        pks = s.execute(sa.select(Participant.id).where(Participant.merged_into_id.is_(None))
                        .order_by(Participant.id)).scalars().all()
        before = eligibility.research_decisions(s, pks)
        eligible = [pk for pk in pks if before[pk].eligible]
        template = s.execute(sa.select(Consent).where(Consent.participant_id == eligible[0])).scalars().first()

        def add(pk: int, on: date, status: str, **choices: bool) -> None:
            s.add(Consent(participant_id=pk, form_id=template.form_id, consented_on=on, given_by="participant",
                          choices={"taking_part": True, "research_data": True, **choices}, status=status,
                          recorded_by="test", recorded_at=template.recorded_at,
                          withdrawal_level="no_further_contact" if status == "withdrawn" else None))

        today = date.today()
        add(eligible[1], today, "withdrawn")                       # newer withdrawn beside the older active
        add(eligible[2], today, "active", research_data=False)     # same day, later record: no research
        add(eligible[3], today, "active")
        add(eligible[3], today, "active", research_data=False)
        add(eligible[4], today - timedelta(days=40000), "active", research_data=False)  # older: does not govern
        no = next(pk for pk in pks if not before[pk].eligible and "did not consent to research" in before[pk].reason)
        add(no, today, "superseded")                                # a superseded yes never governs
        s.flush()
        s.execute(sa.update(Consent).where(Consent.participant_id == eligible[5]).values(
            choices={"taking_part": 1, "research_data": 1}))
        s.flush()
        decided = {pk for pk, d in eligibility.research_decisions(s, pks).items() if d.eligible}
        in_sql = set(s.execute(sa.select(Participant.id).where(Participant.merged_into_id.is_(None),
                                                                eligibility.eligible_clause())).scalars())
        assert in_sql == decided
        assert {eligible[4], eligible[5]} <= in_sql and not {eligible[1], eligible[2], eligible[3], no} & in_sql
        reasons = {d.reason.split(" (")[0] for d in before.values()}
        assert len(decided) > 20 and len(set(pks) - decided) > 5 and len(reasons) >= 4, reasons


def test_seizures_with_a_qualifying_scn1a_variant(world, world_db, principal_of) -> None:
    with world_db.transaction() as s:
        researcher = principal_of(s, "researcher")
        shown = service.count_cohort(s, researcher, SCN1A_SEIZURES, store_base=world.store_base)
        # Fourteen West Midlands families carry a spiked SCN1A variant; one withdrew; South London is out of scope.
        assert shown["count"] == "13"
        assert shown["breakdowns"]["centre"]["cells"] == {"WMGMC": "13"}
        sexes = shown["breakdowns"]["sex"]
        assert sexes["suppressed"] and set(sexes["cells"].values()) <= {"<10", "*"}
        members = select_members(s, service.parse_criteria(SCN1A_SEIZURES), trust_scope=researcher.trust_scope,
                                 store_base=world.store_base).members
        withdrawn = _by_hospital_number(s, f"{PREFIX}13")
        assert withdrawn.id not in members
        # Matched through descendants: some members have seizure terms below HP:0001250 but not it.
        ontology = get_ontology()
        below = ontology.descendants(SEIZURE) - {SEIZURE}
        terms = {pk: {o.hpo_id for o in phenotype.repository.observations(s, pk) if not o.excluded} for pk in members}
        assert any(SEIZURE not in t and t & below for t in terms.values())
        # The gene alone finds the same carriers; the phenotype alone more people.
        assert service.count_cohort(s, researcher, {"genes": ["SCN1A"]}, store_base=world.store_base)["count"] == "13"
        # A gene nobody in the cohort carries a qualifying variant in.
        none = service.count_cohort(s, researcher, {"hpo_terms": [SEIZURE], "genes": ["BRCA2"]},
                                    store_base=world.store_base)
        assert none["count"] == "0"
        # A national researcher sees South London's three families too.
        auth_service.create_user(s, actor=Actor.system("test"), username="national", password="national-pass-2026",
                                 roles=["researcher"], centre_wide=True)
        national = principal_of(s, "national")
        shown = service.count_cohort(s, national, SCN1A_SEIZURES, store_base=world.store_base)
        assert shown["count"] == "16"
        assert shown["breakdowns"]["centre"]["cells"] == {"SLGMC": "<10", "WMGMC": "*"}


def test_descendants_observed_not_excluded_and_consent(world, world_db, principal_of) -> None:
    """Adds participants with a seizure subtype observed, a seizure excluded, and a withdrawal: only the first
    kind and only while consented change the count."""
    with world_db.transaction() as s:
        researcher = principal_of(s, "researcher")
        criteria = {"hpo_terms": [SEIZURE], "programme_arms": ["rare_disease"], "age_bands": ["40-59"]}
        before = select_members(s, service.parse_criteria(criteria), trust_scope=researcher.trust_scope,
                                store_base=world.store_base).members
        forms = {f.code: f for f in registry.ensure_consent_forms(s)}
        caller = phenotype.Caller.system("test")
        added = []
        for i, (term, excluded, withdraw, research) in enumerate(
                [("HP:0007359", False, None, True)] * 11 + [("HP:0001250", True, None, True),
                                                            ("HP:0002069", False, "no_further_contact", True),
                                                            ("HP:0002069", False, None, False)]):
            person = registry.register_person(s, principal=_system(), person=registry.PersonInput(
                "Testperson", f"Case{i}", date(1975, 3, 3), "female", None, None, "RRK", f"TEST-SZ-{i}"),
                decision="new").participant
            registry.create_referral(s, principal=_system(), participant=person, data=registry.ReferralInput(
                "RRK", "Dr T", date.today() - timedelta(days=30), "rare_disease", "Hereditary ataxia", "singleton",
                True))
            consent_service.record_consent(s, actor=Actor.system("test"), participant=person,
                                           form=forms["RD-ADULT"], consented_on=date.today() - timedelta(days=20),
                                           given_by="participant",
                                           choices={c: c != "research_data" or research for c in forms["RD-ADULT"].choices})
            phenotype.add_observation(s, caller, person.participant_id, phenotype.ObservationInput(term, excluded=excluded))
            if withdraw:
                consent_service.withdraw(s, actor=Actor.system("test"), participant=person, level=withdraw)
            added.append(person.id)
        after = select_members(s, service.parse_criteria(criteria), trust_scope=researcher.trust_scope,
                               store_base=world.store_base).members
        assert after - before == set(added[:11])
        # Asking for the excluded term's parent does not find the one who had it excluded.
        assert added[11] not in after


def test_cancer_types_through_the_oncotree(world, world_db, principal_of) -> None:
    with world_db.transaction() as s:
        researcher = principal_of(s, "researcher")

        def members(**criteria) -> set[int]:
            return select_members(s, service.parse_criteria(criteria), trust_scope=researcher.trust_scope,
                                  store_base=world.store_base).members

        breast = members(cancer_types=["BRCA"])
        assert len(breast) >= 10
        # The tissue above BRCA holds every breast cancer; the bowel types are not among them.
        assert breast <= members(cancer_types=["BREAST"])
        assert not breast & members(cancer_types=["COADREAD"])
        assert members(cancer_types=["BREAST", "COADREAD"]) == breast | members(cancer_types=["COADREAD"])
        with pytest.raises(ValidationFailed, match="unknown tumour type 'NOTATYPE'"):
            service.count_cohort(s, researcher, {"cancer_types": ["NOTATYPE"]}, store_base=world.store_base)
        with pytest.raises(ValidationFailed, match="HP:9999999"):
            service.count_cohort(s, researcher, {"hpo_terms": ["HP:9999999"]}, store_base=world.store_base)
        with pytest.raises(ValidationFailed, match="NOTAGENE"):
            service.count_cohort(s, researcher, {"genes": ["NOTAGENE"]}, store_base=world.store_base)


def test_roles_and_scope(world, world_db, principal_of) -> None:
    with world_db.transaction() as s:
        for username in ("programme", "clinician", "dataaccess"):
            with pytest.raises(PermissionDenied):
                service.count_cohort(s, principal_of(s, username), {}, store_base=world.store_base)
        researcher = principal_of(s, "researcher")
        project = service.propose_project(s, researcher, title="Scope test", purpose="Checking who may see a project")
        with pytest.raises(NotFound):
            service.get_project(s, principal_of(s, "programme"), project.project_id)
        with pytest.raises(PermissionDenied, match="research:approve"):
            service.decide_project(s, researcher, project.project_id, approve=True, note="")
        admin = principal_of(s, "admin")  # holds every permission, so may lead and approve, but not both at once
        own = service.propose_project(s, admin, title="Own project", purpose="An approver's own research project")
        with pytest.raises(PermissionDenied, match="second person"):
            service.decide_project(s, admin, own.project_id, approve=True, note="")
        with pytest.raises(ValidationFailed, match="reason"):
            service.decide_project(s, principal_of(s, "dataaccess"), project.project_id, approve=False, note=" ")
        # An approver of another centre neither sees nor decides a project over West Midlands trusts.
        from gmc.auth.service import create_user

        create_user(s, actor=admin.actor, username="t-sl-approver", password="sl-approver-pass-2026",
                    roles=["data_access"], centre_code="SLGMC", centre_wide=True)
        south = principal_of(s, "t-sl-approver")
        with pytest.raises(NotFound):
            service.decide_project(s, south, project.project_id, approve=True, note="")
        assert project.project_id not in {p.project_id for p in service.visible_projects(s, south)}
        assert project not in service.approval_queue(s, south)["projects"]
        assert project in service.approval_queue(s, principal_of(s, "dataaccess"))["projects"]


def test_saved_cohorts_are_versioned(world, world_db, principal_of) -> None:
    with world_db.transaction() as s:
        researcher, approver = principal_of(s, "researcher"), principal_of(s, "dataaccess")
        project = service.propose_project(s, researcher, title="Versions", purpose="Cohort versions kept as saved")
        service.decide_project(s, approver, project.project_id, approve=True, note="ok")
        cohort = service.save_cohort(s, researcher, project_id=project.project_id, name="Seizures",
                                     criteria={"hpo_terms": [SEIZURE]}, store_base=world.store_base)
        service.revise_cohort(s, researcher, cohort.cohort_id, criteria=SCN1A_SEIZURES, note="add the gene",
                              store_base=world.store_base)
        data = service.cohort_dict(service.get_cohort(s, researcher, cohort.cohort_id))
        assert [v["version"] for v in data["versions"]] == [1, 2]
        assert data["versions"][0]["criteria"]["genes"] == [] and data["versions"][1]["criteria"]["genes"] == ["SCN1A"]
        assert data["versions"][1]["count"] == "13" and data["versions"][1]["note"] == "add the gene"
        with pytest.raises(PermissionDenied):
            service.revise_cohort(s, approver, cohort.cohort_id, criteria={}, store_base=world.store_base)
        with pytest.raises(ValidationFailed, match="postcode"):
            service.revise_cohort(s, researcher, cohort.cohort_id, criteria={"postcode": "B15 2TT"},
                                  store_base=world.store_base)


def test_follow_up_cohort_refuses_a_withdrawn_research_id(world, world_db, principal_of) -> None:
    from gmc.research import repository as repo

    with world_db.transaction() as s:
        researcher = principal_of(s, "researcher")
        release = next(r for r in service.visible_releases(s, researcher) if r.status == "built")
        members = repo.members_of(s, release.id)
        ids = [m.research_id for m in members]
        follow_up = {"research_ids": ids}
        shown = service.count_cohort(s, researcher, follow_up, project_id=release.project.project_id,
                                     store_base=world.store_base)
        assert shown["count"] == str(len(ids))
        with pytest.raises(ValidationFailed, match="save the cohort in that project"):
            service.count_cohort(s, researcher, follow_up, store_base=world.store_base)
        person = s.get(Participant, members[0].participant_id)
        consent_service.withdraw(s, actor=Actor.system("test"), participant=person, level="no_further_contact")
        with pytest.raises(Conflict, match=f"{ids[0]} no longer consent"):
            service.count_cohort(s, researcher, follow_up, project_id=release.project.project_id,
                                 store_base=world.store_base)
