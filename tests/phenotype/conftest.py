"""Factories for phenotype database tests: participants referred at demo trusts, families, consents."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from gmc.audit.service import Actor
from gmc.common.time import utcnow
from gmc.organisations.models import Trust
from gmc.registry.models import ConsentForm, Family, FamilyMember, Participant, Referral

_numbers = itertools.count(1)


@dataclass
class RegistryFactory:
    """Creates registry rows directly with the models, as the registry service would."""

    session: object

    def trust(self, code: str) -> Trust:
        """A demo trust by ODS code."""
        return self.session.execute(select(Trust).where(Trust.code == code)).scalar_one()

    def participant(self, *, trust: str | None = "RQ3", sex: str = "female", arm: str = "rare_disease",
                    family: Family | None = None, died: date | None = None) -> Participant:
        """A participant referred at a trust (no referral when trust is None)."""
        n = next(_numbers)
        now = utcnow()
        person = Participant(participant_id=f"PT{n:06d}", family_name="Test", given_name=f"Person{n}", sex=sex,
                             date_of_birth=date(2010, 1, 1), date_of_death=died, created_at=now, updated_at=now)
        self.session.add(person)
        self.session.flush()
        if trust is not None:
            self.session.add(Referral(referral_id=f"RT{n:06d}", participant_id=person.id,
                                      trust_id=self.trust(trust).id, family_id=family.id if family else None,
                                      referring_clinician="Dr Test", referral_date=date(2026, 1, 5),
                                      programme_arm=arm, clinical_indication="Intellectual disability",
                                      created_at=now))
            self.session.flush()
        return person

    def family(self, proband: Participant) -> Family:
        """A family with the proband as its first member."""
        n = next(_numbers)
        family = Family(family_id=f"FT{n:06d}", proband_id=proband.id, created_at=utcnow())
        self.session.add(family)
        self.session.flush()
        self.member(family, proband, "proband", "affected")
        return family

    def member(self, family: Family, person: Participant, relation: str, affected: str = "unknown") -> None:
        """Adds a participant to a family."""
        self.session.add(FamilyMember(family_id=family.id, participant_id=person.id, relation=relation,
                                      affected=affected))
        self.session.flush()
        self.session.refresh(family)

    def consent_form(self) -> ConsentForm:
        """A consent form asking every choice."""
        form = self.session.execute(select(ConsentForm).where(ConsentForm.code == "TEST")).scalar_one_or_none()
        if form is None:
            form = ConsentForm(code="TEST", version="1", title="Test consent",
                               choices=["taking_part", "research_data"], audience="adult")
            self.session.add(form)
            self.session.flush()
        return form


@pytest.fixture
def session(demo_database):
    """A session on a fresh demo database (both engines), rolled back at the end."""
    with demo_database.session() as s:
        yield s
        s.rollback()


@pytest.fixture
def factory(session) -> RegistryFactory:
    """Registry rows for a test."""
    return RegistryFactory(session)


@pytest.fixture
def system_actor() -> Actor:
    """The actor tests act as when no user is involved."""
    return Actor.system("test")


@pytest.fixture
def make_factory():
    """The factory class, for tests that commit registry rows in their own transaction."""
    return RegistryFactory
