"""Consent forms fit the person: arm, age and capacity; mismatches refused or recorded only with a reason."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.common.errors import ValidationFailed
from gmc.registry import consent as consent_service
from gmc.registry import service
from gmc.registry.consent_fit import FormFacts, age_on, check_fit, suitable_forms
from gmc.registry.models import Case
from gmc.registry.service import PersonInput, ReferralInput

RD_ADULT = FormFacts("RD-ADULT", "3.0", "adult", "rare_disease")
RD_CHILD = FormFacts("RD-CHILD", "3.0", "child", "rare_disease")
CANCER_ADULT = FormFacts("CANCER-ADULT", "2.1", "adult", "cancer")
CONSULTEE = FormFacts("CONSULTEE", "1.2", "consultee", None)
FORMS = [RD_ADULT, RD_CHILD, CANCER_ADULT, FormFacts("CANCER-CHILD", "1.0", "child", "cancer"), CONSULTEE]


def test_age_is_whole_years_on_the_consent_date() -> None:
    assert age_on(date(2010, 6, 15), date(2024, 6, 14)) == 13
    assert age_on(date(2010, 6, 15), date(2024, 6, 15)) == 14
    assert age_on(None, date(2024, 1, 1)) is None


def test_the_fitting_forms_by_arm_age_and_capacity() -> None:
    assert suitable_forms(FORMS, arms={"rare_disease"}, age=14) == [RD_CHILD]
    assert suitable_forms(FORMS, arms={"rare_disease"}, age=40) == [RD_ADULT]
    assert suitable_forms(FORMS, arms={"cancer"}, age=70, lacks_capacity=True) == [CONSULTEE]
    assert [f.code for f in suitable_forms(FORMS, arms=set(), age=None)] == [f.code for f in sorted(
        FORMS, key=lambda f: (f.programme_arm is None, f.code))]


def test_mismatches_are_refused_or_need_a_reason() -> None:
    [child_on_adult] = check_fit(RD_ADULT, arms={"rare_disease"}, age=14, given_by="participant")
    assert not child_on_adult.needs_reason and child_on_adult.field == "form"
    assert child_on_adult.message == ("RD-ADULT v3.0 is an adult form, but the participant is 14: under 16, a parent "
                                      "or guardian consents on a child form")
    refused = check_fit(RD_ADULT, arms={"rare_disease"}, age=14, given_by="parent_guardian")
    assert [p.field for p in refused] == ["form", "given_by"]
    assert check_fit(RD_CHILD, arms={"rare_disease"}, age=14, given_by="parent_guardian", assent="assented") == []
    [dissent] = check_fit(RD_CHILD, arms={"rare_disease"}, age=12, given_by="parent_guardian", assent="declined")
    assert dissent.field == "assent" and "refusal is respected" in dissent.message and not dissent.needs_reason
    [adult_on_child] = check_fit(RD_CHILD, arms={"rare_disease"}, age=17, given_by="parent_guardian")
    assert "from 16 a person consents for themselves" in adult_on_child.message
    [lacking] = check_fit(RD_ADULT, arms={"rare_disease"}, age=40, given_by="participant", lacks_capacity=True)
    assert "consultee declaration" in lacking.message
    assert check_fit(CONSULTEE, arms={"cancer"}, age=80, given_by="consultee") == []
    [arm] = check_fit(CANCER_ADULT, arms={"rare_disease"}, age=40, given_by="participant")
    assert arm.needs_reason and arm.message.endswith("the participant is referred for rare disease")
    [unknown_age] = check_fit(RD_ADULT, arms={"rare_disease"}, age=None, given_by="participant")
    assert unknown_age.needs_reason


TEEN = PersonInput("Okafor", "Tobi", date(2011, 3, 14), "male", None, "B15 2TT", "RQ3", "BCH900100")
CHOICES = dict.fromkeys(consent_service.CHOICES, True)


def test_no_case_opens_before_valid_consent_and_mismatches_change_nothing(demo_database, principal_of) -> None:
    with demo_database.transaction() as s:
        p = principal_of(s, "recruiter")
        teen = service.register_person(s, principal=p, person=TEEN).participant
        service.ensure_consent_forms(s)
        referral = service.create_referral(s, principal=p, participant=teen, data=ReferralInput(
            "RQ3", "Dr Patel", date(2024, 5, 1), "rare_disease", "Intellectual disability", "trio", True))
        assert referral.status == "eligible"
        assert s.execute(sa.select(sa.func.count(Case.id))).scalar_one() == 0

        def consent(form: str, version: str, **kw) -> None:
            kw.setdefault("given_by", "participant")
            consent_service.record_consent(s, actor=p.actor, participant=teen, form=service.require_form(
                s, form, version), consented_on=date(2024, 5, 2), choices=CHOICES, **kw)

        with pytest.raises(ValidationFailed, match="RD-ADULT v3.0 is an adult form, but the participant is 13") as e:
            consent("RD-ADULT", "3.0")
        assert e.value.field == "form"
        with pytest.raises(ValidationFailed, match="their refusal is respected"):
            consent("RD-CHILD", "3.0", given_by="parent_guardian", given_by_name="Ada Okafor", assent="declined")
        with pytest.raises(ValidationFailed, match="give the reason") as e:
            consent("CANCER-CHILD", "1.0", given_by="parent_guardian", given_by_name="Ada Okafor", assent="assented")
        assert e.value.field == "fit_reason"
        assert consent_service.current_consent(s, teen.id) is None  # nothing recorded by a refusal
        assert s.execute(sa.select(sa.func.count(Case.id))).scalar_one() == 0
        consent("CANCER-CHILD", "1.0", given_by="parent_guardian", given_by_name="Ada Okafor", assent="assented",
                fit_reason="paediatric oncology consented on the cancer child form by agreement")
        recorded = consent_service.current_consent(s, teen.id)
        assert recorded.assent == "assented" and recorded.fit_reason.startswith("paediatric oncology")
        [case] = s.execute(sa.select(Case)).scalars().all()  # valid consent: the eligible referral's case opens
        assert case.proband_id == teen.id
        event = s.execute(sa.select(AuditEvent).where(AuditEvent.verb == "consent_record")
                          .order_by(AuditEvent.id.desc())).scalars().first()
        assert event.summary["accepted_mismatch"]["reason"].startswith("paediatric oncology")
