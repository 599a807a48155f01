"""Fixtures for sample tests: demo users as principals and a small participant/referral/consent factory."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.auth.models import User
from gmc.auth.principal import Principal
from gmc.organisations.models import Trust
from gmc.registry.consent import record_consent
from gmc.registry.models import ConsentForm, Participant, Referral
from gmc.samples.service import NewSpecimen, register_specimen

_ids = itertools.count(1)


def principal(session, username: str) -> Principal:
    """The real principal of a demo user."""
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return auth_service.principal_for(session, user, auth_method="session")


def trust_id(session, code: str) -> int:
    """The id of a demo trust by ODS code."""
    return session.execute(select(Trust.id).where(Trust.code == code)).scalar_one()


def centre_id(session, code: str) -> int:
    """The id of a demo centre by code."""
    from gmc.organisations.models import Centre

    return session.execute(select(Centre.id).where(Centre.code == code)).scalar_one()


@dataclass
class Case:
    """A participant with a referral and (optionally) consent."""

    participant: Participant
    referral: Referral
    trust_id: int


def make_case(session, *, trust: str = "RRK", arm: str = "rare_disease", consent: bool = True) -> Case:
    """Creates a participant, a referral at the trust and an active consent."""
    n = next(_ids)
    now = datetime.now(UTC)
    tid = trust_id(session, trust)
    p = Participant(participant_id=f"P{n:07d}", family_name="Test", given_name=f"Person{n}", sex="female",
                    date_of_birth=date(1970, 1, 1), created_at=now, updated_at=now)
    session.add(p)
    session.flush()
    r = Referral(referral_id=f"R{n:07d}", participant_id=p.id, trust_id=tid, referring_clinician="Dr Who",
                 referral_date=date(2026, 1, 5), programme_arm=arm, clinical_indication="test indication",
                 created_at=now, tumour_sample_expected=arm == "cancer", germline_sample_expected=arm == "cancer")
    session.add(r)
    session.flush()
    if consent:
        form = session.execute(select(ConsentForm).where(ConsentForm.code == "TEST")).scalar_one_or_none()
        if form is None:
            form = ConsentForm(code="TEST", version="1", title="Test consent",
                               choices=["taking_part", "research_data", "research_samples"])
            session.add(form)
            session.flush()
        record_consent(session, actor=Actor.system("test"), participant=p, form=form, consented_on=date(2026, 1, 5),
                       given_by="participant", choices={"taking_part": True, "research_data": True,
                                                        "research_samples": True})
    return Case(p, r, tid)


def collect(session, who: Principal, case: Case, barcode: str, sample_type: str = "blood_edta",
            days_ago: float = 1.0, **extra) -> object:
    """Registers a collected specimen for the case."""
    return register_specimen(session, who, NewSpecimen(
        barcode=barcode, sample_type=sample_type, participant_id=case.participant.participant_id,
        trust_id=case.trust_id, collected_at=datetime.now(UTC) - timedelta(days=days_ago), collected_by="Nurse N",
        referral_id=case.referral.referral_id, **extra))


GOOD_GERMLINE_QC = {"concentration_ng_ul": 50, "volume_ul": 100, "a260_280": 1.85, "din": 8.2}
GOOD_TUMOUR_QC = {"concentration_ng_ul": 40, "volume_ul": 50, "a260_280": 1.9, "din": 7.0, "tumour_purity": 60}


@pytest.fixture
def session(demo_database):
    """A session on a demo database (rolled back at the end)."""
    with demo_database.session() as s:
        yield s
        s.rollback()


@pytest.fixture
def kit():
    """The factory helpers (test modules cannot import conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(principal=principal, trust_id=trust_id, centre_id=centre_id, make_case=make_case,
                           collect=collect,
                           GOOD_GERMLINE_QC=GOOD_GERMLINE_QC, GOOD_TUMOUR_QC=GOOD_TUMOUR_QC)
