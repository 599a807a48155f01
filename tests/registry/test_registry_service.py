"""Registry rules on both engines: linkage on registration, referrals, eligibility, consent, merges, scope."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.registry import consent as consent_service
from gmc.registry import service
from gmc.registry.consent import ConsentAction
from gmc.registry.models import DuplicateCandidate, Participant, Referral
from gmc.registry.service import PersonInput, PossibleDuplicate, ReferralInput

CHILD = PersonInput("Okafor", "Amara", date(2015, 3, 14), "female", "943 476 5919", "B15 2TT", "RQ3", "BCH100200")


def _count(s, model) -> int:
    return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_second_trust_re_entering_with_a_typo_is_shown_the_existing_record(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        first = service.register_person(s, principal=principal_of(s, "recruiter"), person=CHILD)
        assert first.created
        pid = first.participant.participant_id
    typo = PersonInput("Okafur", "Amara", date(2015, 3, 14), "female", None, "B15 2TT", "RRK", "UHB555")
    with demo_database.transaction() as s, pytest.raises(PossibleDuplicate) as info:
        service.register_person(s, principal=principal_of(s, "clinician"), person=typo)
    assert [c["participant_id"] for c in info.value.to_dict()["candidates"]] == [pid]
    with demo_database.transaction() as s:
        assert _count(s, Participant) == 1
        linked = service.register_person(s, principal=principal_of(s, "clinician"), person=typo,
                                         decision=f"link:{pid}")
        assert not linked.created and linked.participant.participant_id == pid
        assert {h.number for h in linked.participant.hospital_numbers} == {"BCH100200", "UHB555"}


def test_same_nhs_number_links_without_asking(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        first = service.register_person(s, principal=principal_of(s, "recruiter"), person=CHILD)
    other = PersonInput("Okafor-Smith", "Amy", date(2015, 3, 14), "female", "9434765919", None, "RRK", None)
    with demo_database.transaction() as s:
        reg = service.register_person(s, principal=principal_of(s, "clinician"), person=other)
        assert not reg.created and reg.linked_reason == "same NHS number"
        assert reg.participant.id == first.participant.id


def test_confirmed_new_record_goes_on_the_duplicate_worklist(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        service.register_person(s, principal=principal_of(s, "recruiter"), person=CHILD)
    twin_like = PersonInput("Okafor", "Amarah", date(2015, 3, 14), "female", None, "B15 2TT", "RLU", None)
    with demo_database.transaction() as s:
        reg = service.register_person(s, principal=principal_of(s, "recruiter"), person=twin_like, decision="new")
        assert reg.created
        assert _count(s, DuplicateCandidate) == 1


def test_invalid_nhs_number_refused_and_nothing_written(demo_database, principal_of) -> None:
    bad = PersonInput("Smith", "Jo", date(1980, 1, 1), "male", "943 476 5918", None, "RQ3", None)
    with demo_database.session() as s:
        events = _count(s, AuditEvent)
    with pytest.raises(ValidationFailed) as info, demo_database.transaction() as s:
        service.register_person(s, principal=principal_of(s, "recruiter"), person=bad)
    assert info.value.field == "nhs_number" and "check digit" in info.value.message
    with demo_database.session() as s:
        assert _count(s, Participant) == 0 and _count(s, AuditEvent) == events


@pytest.mark.parametrize(("field", "person"), [
    ("date_of_birth", PersonInput("A", "B", date(2999, 1, 1), "male", None, None, "RQ3")),
    ("sex", PersonInput("A", "B", date(1999, 1, 1), "dragon", None, None, "RQ3")),
    ("postcode", PersonInput("A", "B", date(1999, 1, 1), "male", None, "NOT A POSTCODE", "RQ3")),
    ("family_name", PersonInput(" ", "B", date(1999, 1, 1), "male", None, None, "RQ3")),
])
def test_bad_demographics_name_the_field(field, person) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.clean_person(person)
    assert info.value.field == field


def test_recruiter_cannot_register_at_another_trust(demo_database, principal_of) -> None:
    elsewhere = PersonInput("Jones", "Sam", date(1970, 5, 5), "male", None, None, "RRK", None)
    with pytest.raises(PermissionDenied), demo_database.transaction() as s:
        service.register_person(s, principal=principal_of(s, "recruiter"), person=elsewhere)


def test_scope_both_directions(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        pid = service.register_person(s, principal=principal_of(s, "recruiter"), person=CHILD).participant.participant_id
    with demo_database.transaction() as s:
        assert service.view_participant(s, principal=principal_of(s, "recruiter"), participant_id=pid)
        assert service.view_participant(s, principal=principal_of(s, "admin"), participant_id=pid)
        assert service.view_participant(s, principal=principal_of(s, "programme"), participant_id=pid)
        for outsider in ("sl-recruiter",):
            with pytest.raises(NotFound):
                service.view_participant(s, principal=principal_of(s, outsider), participant_id=pid)
        reads = s.execute(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.verb == "read")).scalar_one()
        assert reads == 3


def test_referral_eligibility_decisions(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        ok = service.create_referral(s, principal=p, participant=child, data=ReferralInput(
            "RQ3", "Dr Patel", date(2024, 5, 1), "rare_disease", "Intellectual disability", "trio", True))
        no = service.create_referral(s, principal=p, participant=child, data=ReferralInput(
            "RQ3", "Dr Patel", date(2024, 5, 2), "rare_disease", "Intellectual disability", "singleton", False))
        cancer_no = service.create_referral(s, principal=p, participant=child, data=ReferralInput(
            "RQ3", "Dr Lee", date(2024, 5, 2), "cancer", "melanoma", None, False, True, False))
        assert ok.status == "eligible" and ok.decisions[0].rule_version == 1
        assert no.status == "ineligible"
        reasons = " ".join(no.decisions[0].reasons)
        assert "requires a trio" in reasons and "prior standard NHS genetic tests" in reasons
        assert cancer_no.status == "ineligible" and len(cancer_no.decisions[0].reasons) == 2
        assert _count(s, Referral) == 3


def test_new_rule_version_applies_to_new_decisions_only(demo_database, principal_of) -> None:
    from gmc.registry import eligibility

    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        data = ReferralInput("RQ3", "Dr Patel", date(2024, 5, 1), "rare_disease", "Rare condition X", "trio", True)
        first = service.create_referral(s, principal=p, participant=child, data=data)
        rules = {**eligibility.DEFAULT_RARE_RULES,
                 "conditions": {**eligibility.DEFAULT_RARE_RULES["conditions"], "Rare condition X": ["trio"]}}
        service.publish_rules(s, actor=principal_of(s, "admin").actor, arm="rare_disease", rules=rules,
                              note="add X")
        second = service.create_referral(s, principal=p, participant=child, data=data)
        assert first.status == "ineligible" and first.decisions[0].rule_version == 1
        assert second.status == "eligible" and second.decisions[0].rule_version == 2


def test_consent_and_withdrawal_reach_every_question(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        service.ensure_consent_forms(s)
        form = service.require_form(s, "RD-CHILD", "3.0")
        assert not consent_service.is_allowed(s, child.id, ConsentAction.SEQUENCE).allowed
        consent_service.record_consent(s, actor=p.actor, participant=child, form=form, consented_on=date(2024, 5, 1),
                                       given_by="parent_guardian", given_by_name="Grace Okafor",
                                       choices={"taking_part": True, "research_data": True, "research_samples": False,
                                                "additional_findings": False, "recontact": True})
        assert consent_service.is_allowed(s, child.id, ConsentAction.SEQUENCE).allowed
        assert consent_service.is_allowed(s, child.id, ConsentAction.RESEARCH_DATA).allowed
        decision = consent_service.is_allowed(s, child.id, ConsentAction.ADDITIONAL_FINDINGS)
        assert not decision.allowed and "additional findings" in decision.reason
        consent_service.withdraw(s, actor=p.actor, participant=child, level="no_further_contact", reason="family")
        assert consent_service.is_allowed(s, child.id, ConsentAction.SEQUENCE).allowed
        assert not consent_service.is_allowed(s, child.id, ConsentAction.RECONTACT).allowed
        consent_service.withdraw(s, actor=p.actor, participant=child, level="no_further_use")
        for action in ConsentAction:
            assert not consent_service.is_allowed(s, child.id, action).allowed
        assert consent_service.consent_status(s, child.id) == "withdrawn: no further use"
        with pytest.raises(Conflict):
            consent_service.withdraw(s, actor=p.actor, participant=child, level="no_further_use")


def test_consent_needs_every_choice_and_a_named_guardian(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        service.ensure_consent_forms(s)
        form = service.require_form(s, "RD-CHILD", "3.0")
        with pytest.raises(ValidationFailed, match="missing"):
            consent_service.record_consent(s, actor=p.actor, participant=child, form=form,
                                           consented_on=date(2024, 1, 1), given_by="participant",
                                           choices={"taking_part": True})
        with pytest.raises(ValidationFailed) as info:
            consent_service.record_consent(s, actor=p.actor, participant=child, form=form,
                                           consented_on=date(2024, 1, 1), given_by="parent_guardian",
                                           choices=dict.fromkeys(consent_service.CHOICES, True))
        assert info.value.field == "given_by_name"


def test_child_reaching_16_needs_reconsent(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        teen = service.register_person(s, principal=p, person=PersonInput(
            "Brown", "Kai", date(2008, 2, 29), "male", None, None, "RQ3", None)).participant
        service.ensure_consent_forms(s)
        consent = consent_service.record_consent(
            s, actor=p.actor, participant=teen, form=service.require_form(s, "RD-CHILD", "3.0"),
            consented_on=date(2012, 1, 1), given_by="parent_guardian", given_by_name="Jo Brown",
            choices=dict.fromkeys(consent_service.CHOICES, True))
        assert not consent_service.reconsent_due(teen, consent, date(2024, 2, 28))
        assert consent_service.reconsent_due(teen, consent, date(2024, 3, 1))


def test_merge_moves_everything_and_unmerge_restores(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "admin")
        a = service.register_person(s, principal=p, person=PersonInput(
            "Khan", "Aisha", date(1990, 7, 1), "female", None, "WV1 1AA", "RL4", "RWT1")).participant
        b = service.register_person(s, principal=p, person=PersonInput(
            "Khan", "Aysha", date(1990, 7, 1), "female", "9434765919", "WV1 1AA", "RKB", "UHCW9"),
            decision="new").participant
        service.create_referral(s, principal=p, participant=b, data=ReferralInput(
            "RKB", "Dr X", date(2024, 1, 1), "cancer", "breast", None, False, True, True))
        assert len(service.repository.open_duplicates(s, trust_scope=None)) == 1
        row = service.merge(s, principal=p, survivor=a, merged=b, reason="same person, confirmed by phone")
        assert a.nhs_number == "9434765919"
        assert {h.number for h in a.hospital_numbers} == {"RWT1", "UHCW9"}
        assert len(service.repository.referrals_of(s, a.id)) == 1
        assert b.merged_into_id == a.id
        assert len(service.repository.open_duplicates(s, trust_scope=None)) == 0
        service.unmerge(s, principal=p, merge_id=row.id, reason="wrong merge")
        s.expire_all()
        a, b = s.get(Participant, a.id), s.get(Participant, b.id)
        assert a.nhs_number is None and b.merged_into_id is None
        assert {h.number for h in a.hospital_numbers} == {"RWT1"}
        assert len(service.repository.referrals_of(s, b.id)) == 1
        verbs = [e.verb for e in s.execute(sa.select(AuditEvent).where(AuditEvent.entity_type == "participant",
                                                                         AuditEvent.entity_id == str(a.id))).scalars()]
        assert "merge" in verbs and "unmerge" in verbs


def test_merge_refuses_different_nhs_numbers(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "admin")
        a = service.register_person(s, principal=p, person=PersonInput(
            "Lee", "Ann", date(1990, 7, 1), "female", "9434765919", None, "RL4", None)).participant
        b = service.register_person(s, principal=p, person=PersonInput(
            "Lee", "Ann", date(1990, 7, 1), "female", "9434765870", None, "RL4", None), decision="new").participant
        with pytest.raises(Conflict, match="different people"):
            service.merge(s, principal=p, survivor=a, merged=b, reason="x")


def test_stale_update_is_a_conflict(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        version = child.version
        service.update_participant(s, principal=p, participant=child, changes={"postcode": "B16 8AA"},
                                   expected_version=version)
        with pytest.raises(Conflict, match="changed since"):
            service.update_participant(s, principal=p, participant=child, changes={"postcode": "B17 8AA"},
                                       expected_version=version)


def test_eligible_referral_opens_one_case(demo_database, principal_of) -> None:
    from gmc.registry.models import Case

    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        child = service.register_person(s, principal=p, person=CHILD).participant
        service.create_referral(s, principal=p, participant=child, data=ReferralInput(
            "RQ3", "Dr Patel", date(2024, 5, 1), "rare_disease", "Intellectual disability", "singleton", True))
        assert _count(s, Case) == 0
        ref = service.create_referral(s, principal=p, participant=child, data=ReferralInput(
            "RQ3", "Dr Patel", date(2024, 5, 1), "rare_disease", "Intellectual disability", "trio", True))
        assert ref.status == "eligible" and _count(s, Case) == 0  # no case before valid consent
        service.ensure_consent_forms(s)
        consent_service.record_consent(s, actor=p.actor, participant=child,
                                       form=service.require_form(s, "RD-CHILD", "3.0"), consented_on=date(2024, 5, 2),
                                       given_by="parent_guardian", given_by_name="Grace Okafor", assent="assented",
                                       choices=dict.fromkeys(consent_service.CHOICES, True))
        case = s.execute(sa.select(Case)).scalar_one()
        assert case.referral_id == ref.id and case.proband_id == child.id and case.case_id.startswith("C")
        service.decide_eligibility(s, actor=p.actor, referral=ref)
        assert _count(s, Case) == 1
        assert service.view_case(s, principal=p, case_id=case.case_id) is case
        with pytest.raises(NotFound):
            service.view_case(s, principal=principal_of(s, "sl-recruiter"), case_id=case.case_id)
        assert service.participant_detail(s, child)["cases"][0]["case_id"] == case.case_id
