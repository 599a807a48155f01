"""Genome-data test helpers: a case with a family, consents and principals of the demo users."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.auth.models import User
from gmc.auth.principal import Principal
from gmc.organisations.models import Trust
from gmc.registry.consent import record_consent, withdraw
from gmc.registry.models import Case, ConsentForm, Family, FamilyMember, Participant, Referral

_ids = itertools.count(1)


def principal(session, username: str) -> Principal:
    """The real principal of a demo user."""
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return auth_service.principal_for(session, user, auth_method="session")


@dataclass
class TrioCase:
    """A rare-disease case with proband, father and mother (programme ids)."""

    case_id: str
    proband: str
    father: str
    mother: str
    trust_id: int


def _person(session, sex: str, now: datetime) -> Participant:
    n = next(_ids)
    p = Participant(participant_id=f"PG{n:06d}", family_name="Genome", given_name=f"Test{n}", sex=sex,
                    date_of_birth=date(1980, 1, 1), created_at=now, updated_at=now)
    session.add(p)
    session.flush()
    return p


def _consent(session, p: Participant) -> None:
    form = session.execute(select(ConsentForm).where(ConsentForm.code == "GTEST")).scalar_one_or_none()
    if form is None:
        form = ConsentForm(code="GTEST", version="1", title="Genome test form", choices=[
            "taking_part", "research_data", "research_samples", "additional_findings", "recontact"])
        session.add(form)
        session.flush()
    record_consent(session, actor=Actor.system("test"), participant=p, form=form, consented_on=date(2026, 1, 1),
                   given_by="participant", choices={c: True for c in form.choices})


def make_trio_case(session, *, trust: str = "RRK", proband_sex: str = "male", consent: bool = True,
                   withdrawn: str | None = None) -> TrioCase:
    """Creates a proband with both parents, a family, a referral, a case at the trust and consents."""
    now = datetime.now(UTC)
    tid = session.execute(select(Trust.id).where(Trust.code == trust)).scalar_one()
    child, father, mother = _person(session, proband_sex, now), _person(session, "male", now), _person(
        session, "female", now)
    n = next(_ids)
    family = Family(family_id=f"FG{n:06d}", proband_id=child.id, created_at=now)
    family.members += [FamilyMember(participant_id=child.id, relation="proband", affected="affected"),
                       FamilyMember(participant_id=father.id, relation="father", affected="unaffected"),
                       FamilyMember(participant_id=mother.id, relation="mother", affected="unaffected")]
    session.add(family)
    session.flush()
    referral = Referral(referral_id=f"RG{n:06d}", participant_id=child.id, trust_id=tid, family_id=family.id,
                        referring_clinician="Dr Test", referral_date=date(2026, 1, 5), programme_arm="rare_disease",
                        clinical_indication="Intellectual disability", created_at=now)
    session.add(referral)
    session.flush()
    case = Case(case_id=f"CG{n:06d}", referral_id=referral.id, proband_id=child.id, family_id=family.id,
                trust_id=tid, programme_arm="rare_disease", status="open", created_at=now)
    session.add(case)
    session.flush()
    if consent:
        for p in (child, father, mother):
            _consent(session, p)
        if withdrawn:
            withdraw(session, actor=Actor.system("test"), participant=child, level=withdrawn)
    return TrioCase(case.case_id, child.participant_id, father.participant_id, mother.participant_id, tid)


@pytest.fixture
def giab_trio(benchmarks_dir: Path) -> Path:
    """The GIAB Ashkenazi trio exome (chr1-2, GRCh37, joint-called HG002/HG003/HG004)."""
    return benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"


@pytest.fixture
def pfeiffer_exome(benchmarks_dir: Path) -> Path:
    """The Exomiser example exome lifted to GRCh38 (one sample, 'manuel')."""
    return benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"


def trio_manifest(case: TrioCase, path: Path, **extra: object) -> dict:
    """A manifest mapping the GIAB trio's columns onto the case's family."""
    return {"case_id": case.case_id, "files": [{"path": str(path), "kind": "germline", "samples": [
        {"vcf_sample": "HG002", "participant_id": case.proband},
        {"vcf_sample": "HG003", "participant_id": case.father},
        {"vcf_sample": "HG004", "participant_id": case.mother}]}], **extra}


@pytest.fixture
def gkit():
    """The factory helpers (test modules cannot import conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(principal=principal, make_trio_case=make_trio_case, trio_manifest=trio_manifest)
