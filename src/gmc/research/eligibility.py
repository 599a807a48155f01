"""The one research-eligibility rule: a participant's data leave only when their consent allows research and
they have not withdrawn (at any level). Cohort counts, releases, the Beacon and the recall list all ask it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_
from sqlalchemy.orm import Session, aliased

from gmc.registry import consent as consent_service
from gmc.registry.consent import GoverningConsent
from gmc.registry.models import Consent, Participant


@dataclass(frozen=True)
class ResearchDecision:
    """Whether one participant's data may be used for research now, and why."""

    eligible: bool
    reason: str


def decide(consent: Consent | GoverningConsent | None) -> ResearchDecision:
    """The rule on a participant's governing consent (plain data in, decision out)."""
    asked = consent_service.decide(consent, consent_service.ConsentAction.RESEARCH_DATA)
    if not asked.allowed:
        return ResearchDecision(False, asked.reason)
    assert consent is not None
    if consent.status == "withdrawn":
        # "No further contact" still lets the consent service use data already given; research releases stop
        # at any withdrawal, and what was released before is recalled.
        level = (consent.withdrawal_level or "").replace("_", " ")
        return ResearchDecision(False, f"the participant withdrew ({level})")
    return ResearchDecision(True, "consented to research use of their data")


def research_decisions(session: Session, participant_pks: Iterable[int] | Select) -> dict[int, ResearchDecision]:
    """The rule for many participants at once (registry primary keys, or a query selecting them)."""
    consents = consent_service.current_consents(session, participant_pks)
    pks = session.execute(participant_pks).scalars().all() if isinstance(participant_pks, Select) \
        else list(participant_pks)
    return {pk: decide(consents.get(pk)) for pk in pks}


def eligible(session: Session, participant_pks: Iterable[int]) -> set[int]:
    """The participants (registry primary keys) whose data may be used for research now."""
    return {pk for pk, d in research_decisions(session, participant_pks).items() if d.eligible}


def eligible_clause() -> ColumnElement[bool]:
    """The rule as a condition on Participant.id, so that bulk reads (counts, releases, the Beacon) narrow in SQL
    instead of deciding person by person: the governing consent (the newest active or withdrawn one, as
    current_consents picks it) is active, with taking part and research use of data both answered yes. It says
    exactly what decide() says of the same consent (tests/research/test_cohorts.py proves it on every
    participant); decide() stays the rule that gives the reason."""
    governing, newer = aliased(Consent), aliased(Consent)
    superseding = exists().where(
        newer.participant_id == governing.participant_id, newer.status.in_(("active", "withdrawn")),
        or_(newer.consented_on > governing.consented_on,
            and_(newer.consented_on == governing.consented_on, newer.id > governing.id)))
    return exists().where(
        governing.participant_id == Participant.id, governing.status == "active",
        governing.choices["taking_part"].as_boolean(), governing.choices["research_data"].as_boolean(),
        ~superseding)
