"""Every programme query: recruitment, dispatches, genomes, interpretation and turnaround rows in scope, read
as plain tuples (no identifiers), and the plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.genomics.models import GenomeDataset
from gmc.interpretation.models import InterpretationRun
from gmc.organisations.models import Centre, Trust
from gmc.programme.models import ProgrammePlan
from gmc.registry.models import Case, Consent, Participant, Referral
from gmc.samples.models import Sample, SampleEvent


@dataclass(frozen=True)
class Place:
    """Where something happened: the trust and its centre."""

    trust: str
    trust_name: str
    centre: str


def places(session: Session) -> dict[int, Place]:
    """Trust id -> trust code, name and centre code."""
    stmt = select(Trust.id, Trust.code, Trust.name, Centre.code).join(Centre, Centre.id == Trust.centre_id)
    return {tid: Place(code, name, centre) for tid, code, name, centre in session.execute(stmt)}


def centres(session: Session) -> Sequence[Centre]:
    """Every centre, by code."""
    return session.execute(select(Centre).order_by(Centre.code)).scalars().all()


@dataclass(frozen=True)
class Recruit:
    """A participant recruited: when they first consented to take part, where and into which arm."""

    consented_on: date
    trust_id: int
    arm: str


def recruits(session: Session) -> list[Recruit]:
    """Every living record's first consent to take part, at the trust and arm of their first referral."""
    first: dict[int, date] = {}
    for pk, on, choices in session.execute(select(Consent.participant_id, Consent.consented_on, Consent.choices)):
        if (choices or {}).get("taking_part") and (pk not in first or on < first[pk]):
            first[pk] = on
    referral: dict[int, tuple[int, str]] = {}
    stmt = (select(Referral.participant_id, Referral.trust_id, Referral.programme_arm)
            .join(Participant, Participant.id == Referral.participant_id)
            .where(Participant.merged_into_id.is_(None)).order_by(Referral.referral_date.desc(), Referral.id.desc()))
    for pk, trust_id, arm in session.execute(stmt):
        referral[pk] = (trust_id, arm)  # oldest last, so it wins
    return [Recruit(first[pk], *referral[pk]) for pk in first if pk in referral]


def dispatches(session: Session) -> list[tuple[datetime, int]]:
    """(when, trust id) of each sample's first dispatch for sequencing."""
    stmt = (select(SampleEvent.sample_id, SampleEvent.occurred_at, Sample.trust_id)
            .join(Sample, Sample.id == SampleEvent.sample_id).where(SampleEvent.to_state == "dispatched")
            .order_by(SampleEvent.occurred_at))
    seen: dict[int, tuple[datetime, int]] = {}
    for sample_id, at, trust_id in session.execute(stmt):
        seen.setdefault(sample_id, (at, trust_id))
    return list(seen.values())


@dataclass(frozen=True)
class Genome:
    """A genome dataset received: when, for which case's trust and arm, whose, and whether QC passed."""

    received_at: datetime
    trust_id: int
    arm: str
    participant_pk: int
    kind: str
    qc_passed: bool


def genomes(session: Session) -> list[Genome]:
    """Every genome dataset with its case's trust and arm."""
    stmt = (select(GenomeDataset.ingested_at, Case.trust_id, Case.programme_arm, GenomeDataset.participant_id,
                   GenomeDataset.kind, GenomeDataset.status)
            .join(Case, Case.id == GenomeDataset.case_id))
    return [Genome(at, trust, arm, pk, kind, status == "stored")
            for at, trust, arm, pk, kind, status in session.execute(stmt)]


@dataclass(frozen=True)
class CaseClock:
    """A case's milestones: referral, first sample collected, first genome, first finished interpretation, and
    (from reporting) the first released report."""

    case_pk: int
    trust_id: int
    arm: str
    referred_on: date
    collected_at: datetime | None
    genome_at: datetime | None
    interpreted_at: datetime | None
    reported_at: datetime | None = None


def case_clocks(session: Session) -> list[CaseClock]:
    """Every case with the times it reached each milestone (None: not yet)."""
    cases = session.execute(select(Case.id, Case.trust_id, Case.programme_arm, Referral.referral_date,
                                   Case.referral_id, Case.proband_id)
                            .join(Referral, Referral.id == Case.referral_id)).all()
    collected: dict[int, datetime] = {}
    for referral_id, at in session.execute(select(Sample.referral_id, Sample.collected_at)
                                           .where(Sample.referral_id.is_not(None), Sample.parent_id.is_(None))):
        if referral_id not in collected or at < collected[referral_id]:
            collected[referral_id] = at
    genome: dict[int, datetime] = {}
    for case_pk, at in session.execute(select(GenomeDataset.case_id, GenomeDataset.ingested_at)):
        if case_pk not in genome or at < genome[case_pk]:
            genome[case_pk] = at
    interpreted: dict[int, datetime] = {}
    for case_pk, at in session.execute(select(InterpretationRun.case_id, InterpretationRun.finished_at)
                                       .where(InterpretationRun.status == "done")):
        if at is not None and (case_pk not in interpreted or at < interpreted[case_pk]):
            interpreted[case_pk] = at
    return [CaseClock(pk, trust, arm, referred, collected.get(referral_id), genome.get(pk), interpreted.get(pk))
            for pk, trust, arm, referred, referral_id, _ in cases]


def plans(session: Session) -> Sequence[ProgrammePlan]:
    """Every plan."""
    return session.execute(select(ProgrammePlan).order_by(ProgrammePlan.scope, ProgrammePlan.measure)).scalars().all()


def plan(session: Session, scope: str, measure: str) -> ProgrammePlan | None:
    """The plan of one scope and measure."""
    return session.execute(select(ProgrammePlan).where(ProgrammePlan.scope == scope,
                                                       ProgrammePlan.measure == measure)).scalar_one_or_none()
