"""Registry demo data: a few hundred participants across the West Midlands trusts, both arms,
families, consents (some withdrawn) and a few duplicates waiting on the worklist. Deterministic."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth.principal import Principal
from gmc.organisations.models import Centre, Trust
from gmc.registry import consent as consent_service
from gmc.registry import eligibility, service
from gmc.registry.consent_fit import ADULT_AGE, ASSENT_FROM_AGE, age_on
from gmc.registry.models import HospitalNumber
from gmc.registry.nhs_number import generate_test_nhs_numbers

#: Demo hospital numbers start with this, so a second run can tell the demo is there.
DEMO_PREFIX = "DEMO"
N_FAMILIES = 60
N_CANCER = 120
N_SINGLETONS = 40

GIVEN_F = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophia", "Lily", "Freya", "Evie", "Aisha", "Zara",
           "Priya", "Fatima", "Chloe", "Emily", "Jessica", "Hannah", "Megan", "Sarah", "Margaret", "Susan", "Helen",
           "Patricia", "Elizabeth", "Catherine", "Joanne", "Rachel", "Nia", "Amara", "Harpreet", "Mariam"]
GIVEN_M = ["Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Jack", "Charlie", "Oscar", "Jacob", "Mohammed",
           "Ibrahim", "Arjun", "Rohan", "Thomas", "James", "William", "Daniel", "David", "Michael", "Robert", "Peter",
           "Stephen", "Paul", "Kwame", "Tomasz", "Sandeep", "Imran", "Callum", "Ethan", "Liam", "Yusuf"]
FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
          "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
          "Khan", "Hussain", "Ahmed", "Begum", "Singh", "Kaur", "Okafor", "Mensah", "Nowak", "Kowalski", "Murphy",
          "Kelly", "Hughes", "Edwards", "Morris", "Turner", "Cooper", "Hill", "Ward", "Price", "Bennett", "Shah"]
POSTCODES = ["B15 2TT", "B29 6JD", "B9 5SS", "B71 4HJ", "CV2 2DX", "CV34 5BW", "ST4 6QG", "WV10 0QP", "DY1 2HQ",
             "WR5 1DD", "HR1 2ER", "SY3 8XQ", "DE13 0RB", "WS2 9PS", "B31 2AP", "SY10 7AG", "CV10 7DJ", "B5 7RT"]
CANCERS = ["breast", "colorectal", "lung", "ovarian", "prostate", "chronic lymphocytic leukaemia"]
CLINICIANS = ["Dr A. Patel", "Dr S. Morgan", "Prof E. Maher", "Dr R. Singh", "Dr J. Clarke", "Dr K. Owusu",
              "Dr L. Chen", "Dr M. Evans"]


def _principal(session: Session) -> Principal:
    """A national-scope system principal for loading demo data (its events say system:demo)."""
    return Principal(user_id=0, username="system:demo", full_name="demo loader", roles=frozenset({"admin"}),
                     permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")


def load_demo(session: Session, actor: Actor, summary) -> None:  # noqa: ANN001
    """Loads the registry demo once (a second run finds the demo hospital numbers and stops)."""
    if session.execute(select(func.count()).select_from(HospitalNumber)
                       .where(HospitalNumber.number.like(f"{DEMO_PREFIX}%"))).scalar_one():
        return
    rng = random.Random(20161)
    principal = _principal(session)
    service.ensure_rule_sets(session, actor=actor)
    service.ensure_consent_forms(session)
    wm = session.execute(select(Centre).where(Centre.code == "WMGMC")).scalar_one()
    trusts = list(session.execute(select(Trust).where(Trust.centre_id == wm.id).order_by(Trust.code)).scalars())
    nhs_numbers = iter(generate_test_nhs_numbers(2000, seed=7))
    counter = iter(range(1, 100_000))
    today = date.today()
    created = {"participants": 0, "families": 0, "referrals": 0, "consents": 0, "withdrawals": 0, "duplicates": 0}

    def person(sex: str, family: str, born: date, trust: Trust, postcode: str, with_nhs: bool = True):
        given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
        data = service.PersonInput(family, given, born, sex, next(nhs_numbers) if with_nhs else None, postcode,
                                   trust.code, f"{DEMO_PREFIX}{next(counter):05d}")
        reg = service.register_person(session, principal=principal, person=data, decision="new")
        created["participants"] += 1
        return reg.participant

    def consent(p, form_code: str, given_by: str, on: date, guardian: str | None = None) -> None:
        age = age_on(p.date_of_birth, on)
        assent = None
        if form_code.endswith("-CHILD") and age is not None and age >= ADULT_AGE:
            # A young person of 16 or over consents for themselves on the adult form.
            form_code, given_by, guardian = form_code.replace("-CHILD", "-ADULT"), "participant", None
        elif form_code.endswith("-CHILD") and age is not None and age >= ASSENT_FROM_AGE:
            assent = "assented"
        form = service.require_form(session, form_code, dict(
            (c, v) for c, v, *_ in service.DEFAULT_CONSENT_FORMS)[form_code])
        choices = {c: rng.random() > 0.15 for c in consent_service.CHOICES}
        choices["taking_part"] = True
        consent_service.record_consent(session, actor=actor, participant=p, form=form, consented_on=on,
                                       given_by=given_by, given_by_name=guardian, choices=choices, assent=assent)
        created["consents"] += 1

    conditions = list(eligibility.DEFAULT_RARE_RULES["conditions"])
    for i in range(N_FAMILIES):
        trust = trusts[i % len(trusts)]
        surname, postcode = rng.choice(FAMILY), rng.choice(POSTCODES)
        child_born = today - timedelta(days=rng.randint(365, 17 * 365))
        child = person(rng.choice(["female", "male"]), surname, child_born, trust, postcode, with_nhs=i % 9 != 0)
        mother = person("female", surname, child_born - timedelta(days=rng.randint(20 * 365, 40 * 365)), trust, postcode)
        father = person("male", surname, child_born - timedelta(days=rng.randint(22 * 365, 45 * 365)), trust, postcode)
        family = service.create_family(session, principal=principal, proband=child)
        service.add_family_member(session, principal=principal, family=family, participant=mother, relation="mother",
                                  affected="unaffected")
        service.add_family_member(session, principal=principal, family=family, participant=father, relation="father",
                                  affected="affected" if i % 7 == 0 else "unaffected")
        created["families"] += 1
        referred = today - timedelta(days=rng.randint(10, min(700, (today - child_born).days - 30)))
        eligible = i % 10 != 3
        service.create_referral(session, principal=principal, participant=child, data=service.ReferralInput(
            trust.code, rng.choice(CLINICIANS), referred, "rare_disease",
            conditions[i % len(conditions)] if eligible else "Unlisted condition", "trio",
            prior_tests_completed=i % 10 != 5, family_id=family.family_id))
        created["referrals"] += 1
        consented = referred + timedelta(days=rng.randint(0, 30))
        if consented <= today:
            consent(child, "RD-CHILD", "parent_guardian", consented, f"{mother.given_name} {surname}")
            consent(mother, "RD-ADULT", "participant", consented)
            consent(father, "RD-ADULT", "participant", consented)
            if i % 15 == 4:
                consent_service.withdraw(session, actor=actor, participant=child, level="no_further_contact",
                                         reason="family request")
                created["withdrawals"] += 1
    for i in range(N_CANCER):
        trust = trusts[(i * 5) % len(trusts)]
        cancer = CANCERS[i % len(CANCERS)]
        sex = "female" if cancer in {"breast", "ovarian"} else ("male" if cancer == "prostate" else rng.choice(
            ["female", "male"]))
        p = person(sex, rng.choice(FAMILY), today - timedelta(days=rng.randint(35 * 365, 85 * 365)), trust,
                   rng.choice(POSTCODES))
        referred = today - timedelta(days=rng.randint(5, 700))
        service.create_referral(session, principal=principal, participant=p, data=service.ReferralInput(
            trust.code, rng.choice(CLINICIANS), referred, "cancer", cancer, None, False,
            tumour_sample_expected=True, germline_sample_expected=i % 12 != 7))
        created["referrals"] += 1
        consent(p, "CANCER-ADULT", "participant", min(today, referred + timedelta(days=7)))
        if i % 25 == 9:
            consent_service.withdraw(session, actor=actor, participant=p, level="no_further_use",
                                     reason="participant request")
            created["withdrawals"] += 1
    for i in range(N_SINGLETONS):
        trust = trusts[(i * 3 + 1) % len(trusts)]
        p = person(rng.choice(["female", "male"]), rng.choice(FAMILY),
                   today - timedelta(days=rng.randint(18 * 365, 70 * 365)), trust, rng.choice(POSTCODES))
        service.create_referral(session, principal=principal, participant=p, data=service.ReferralInput(
            trust.code, rng.choice(CLINICIANS), today - timedelta(days=rng.randint(5, 400)), "rare_disease",
            rng.choice(["Hereditary ataxia", "Hypertrophic cardiomyopathy", "Early onset dementia",
                        "Familial hypercholesterolaemia"]), "singleton", True))
        created["referrals"] += 1
        consent(p, "RD-ADULT", "participant", today - timedelta(days=3))
    # Duplicates: the same people re-entered at another trust with the typical errors.
    source = list(session.execute(select(HospitalNumber).where(HospitalNumber.number.like(f"{DEMO_PREFIX}%"))
                                  .order_by(HospitalNumber.id).limit(5)).scalars())
    for k, hn in enumerate(source):
        original = hn.participant
        typo_given = original.given_name[:-1] + ("a" if original.given_name[-1] != "a" else "e")
        variants = [
            (original.family_name, typo_given, original.date_of_birth),
            (original.family_name, original.given_name,
             original.date_of_birth.replace(day=original.date_of_birth.month, month=original.date_of_birth.day)
             if original.date_of_birth.day <= 12 else original.date_of_birth + timedelta(days=1)),
            (original.given_name, original.family_name, original.date_of_birth),
        ]
        family, given, born = variants[k % len(variants)]
        other = trusts[(trusts.index(next(t for t in trusts if t.id == hn.trust_id)) + 4) % len(trusts)]
        reg = service.register_person(session, principal=principal, person=service.PersonInput(
            family, given, born, original.sex, None, original.postcode, other.code, f"{DEMO_PREFIX}D{k:04d}"),
            decision="new")
        created["duplicates"] += len(reg.candidates) > 0
        created["participants"] += 1
    for key, value in created.items():
        summary.add(key, value)
