"""The one place every feature asks whether an action on a participant is allowed by their consent.

Withdrawal levels follow the programme's: *no further contact* stops contact, re-contact and new
sample collection but lets data and samples already given be used; *no further use* stops everything
and sends the participant's samples to destruction. A later consent never revives a withdrawal: a
withdrawn participant must consent again on a new form, which supersedes the withdrawn one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.errors import Conflict, NotFound, ValidationFailed
from gmc.common.time import utcnow
from gmc.registry.cases import open_consented_cases
from gmc.registry.consent_fit import FormFacts, age_on, check_fit
from gmc.registry.models import Consent, ConsentForm, Participant, Referral


class ConsentAction(StrEnum):
    """Things done with a participant, their samples or their data that consent governs."""

    CONTACT = "contact"
    RECONTACT = "recontact"
    COLLECT_SAMPLE = "collect_sample"
    DISPATCH_SAMPLE = "dispatch_sample"
    SEQUENCE = "sequence"
    INTERPRET = "interpret"
    REPORT = "report"
    ADDITIONAL_FINDINGS = "additional_findings"
    RESEARCH_DATA = "research_data"
    RESEARCH_SAMPLES = "research_samples"


class WithdrawalLevel(StrEnum):
    """How far a withdrawal reaches."""

    NO_FURTHER_CONTACT = "no_further_contact"
    NO_FURTHER_USE = "no_further_use"


#: The consent choices a form may ask.
CHOICES = ("taking_part", "research_data", "research_samples", "additional_findings", "recontact")

#: The choice each action needs, beyond taking part.
_NEEDS_CHOICE: dict[ConsentAction, str] = {
    ConsentAction.RECONTACT: "recontact",
    ConsentAction.ADDITIONAL_FINDINGS: "additional_findings",
    ConsentAction.RESEARCH_DATA: "research_data",
    ConsentAction.RESEARCH_SAMPLES: "research_samples",
}

#: Actions stopped by "no further contact" (use of what was already given may go on).
_STOPPED_BY_NO_CONTACT = {ConsentAction.CONTACT, ConsentAction.RECONTACT, ConsentAction.COLLECT_SAMPLE}

GIVEN_BY = ("participant", "parent_guardian", "consultee")

#: Age at which a child who was consented by a parent is asked to consent for themselves.
RECONSENT_AGE = 16


@dataclass(frozen=True)
class ConsentDecision:
    """Whether an action is allowed now, and why."""

    allowed: bool
    reason: str
    consent_id: int | None = None


def _resolve(session: Session, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"no participant {participant_id}")
    seen = set()
    while participant.merged_into_id is not None and participant.id not in seen:
        seen.add(participant.id)
        participant = session.get(Participant, participant.merged_into_id)  # type: ignore[assignment]
    return participant


def consents_of(session: Session, participant_id: int) -> list[Consent]:
    """Every consent record of a participant, newest first."""
    stmt = select(Consent).where(Consent.participant_id == participant_id).order_by(
        Consent.consented_on.desc(), Consent.id.desc())
    return list(session.execute(stmt).scalars())


def current_consent(session: Session, participant_id: int) -> Consent | None:
    """The consent that governs now: the newest that is active or withdrawn (not superseded)."""
    for consent in consents_of(session, _resolve(session, participant_id).id):
        if consent.status in {"active", "withdrawn"}:
            return consent
    return None


@dataclass(frozen=True)
class GoverningConsent:
    """What the rule reads of a governing consent (read as plain columns when many are decided at once)."""

    id: int
    participant_id: int
    status: str
    withdrawal_level: str | None
    choices: dict[str, bool]


def current_consents(session: Session, participant_ids: Iterable[int] | Select | None = None,
                     ) -> dict[int, GoverningConsent]:
    """The governing consent of many participants at once (as current_consent; participant_ids may be a list, a
    query selecting participant ids, or None for every participant). Plain columns: deciding for tens of
    thousands of people at once should not build an ORM object, and its form, per person."""
    stmt = select(Consent.id, Consent.participant_id, Consent.status, Consent.withdrawal_level,
                  Consent.choices).where(Consent.status.in_(("active", "withdrawn")))
    if isinstance(participant_ids, Select):
        queries = [stmt.where(Consent.participant_id.in_(participant_ids.scalar_subquery()))]
    elif participant_ids is not None:
        ids = list(participant_ids)
        # In slices: SQLite takes at most 32,766 values in one statement.
        queries = [stmt.where(Consent.participant_id.in_(ids[i:i + 10_000])) for i in range(0, len(ids), 10_000)]
    else:
        queries = [stmt]
    out: dict[int, GoverningConsent] = {}
    for query in queries:
        for row in session.execute(query.order_by(Consent.consented_on, Consent.id)):
            out[row.participant_id] = GoverningConsent(row.id, row.participant_id, row.status,
                                                       row.withdrawal_level, row.choices or {})  # newest last wins
    return out


def is_allowed(session: Session, participant_id: int, action: ConsentAction | str) -> ConsentDecision:
    """Answers whether the participant's consent allows the action now (merged records follow the survivor)."""
    return decide(current_consent(session, participant_id), action)


def decide(consent: Consent | GoverningConsent | None, action: ConsentAction | str) -> ConsentDecision:
    """Whether a governing consent (from current_consent or current_consents) allows the action: the one rule."""
    action = ConsentAction(action)
    if consent is None:
        return ConsentDecision(False, "no consent is recorded")
    if consent.status == "withdrawn":
        level = WithdrawalLevel(consent.withdrawal_level or WithdrawalLevel.NO_FURTHER_USE)
        if level == WithdrawalLevel.NO_FURTHER_USE or action in _STOPPED_BY_NO_CONTACT:
            return ConsentDecision(False, f"the participant withdrew ({level.value.replace('_', ' ')})", consent.id)
    if not consent.choices.get("taking_part", False):
        return ConsentDecision(False, "the participant did not consent to take part", consent.id)
    needed = _NEEDS_CHOICE.get(action)
    if needed and not consent.choices.get(needed, False):
        return ConsentDecision(False, f"the participant did not consent to {needed.replace('_', ' ')}", consent.id)
    return ConsentDecision(True, "consented", consent.id)


def consent_status(session: Session, participant_id: int) -> str:
    """A short status for every participant view: consented, withdrawn (level), declined or none."""
    consent = current_consent(session, participant_id)
    if consent is None:
        return "no consent"
    if consent.status == "withdrawn":
        return f"withdrawn: {(consent.withdrawal_level or '').replace('_', ' ')}"
    return "consented" if consent.choices.get("taking_part") else "declined"


def record_consent(
    session: Session,
    *,
    actor: Actor,
    participant: Participant,
    form: ConsentForm,
    consented_on: date,
    given_by: str,
    choices: dict[str, bool],
    given_by_name: str | None = None,
    trust_id: int | None = None,
    assent: str | None = None,
    lacks_capacity: bool | None = None,
    fit_reason: str | None = None,
) -> Consent:
    """Records a consent on a form version; it supersedes the participant's previous consent.

    The form must fit the person (consent_fit): who consents on which form by age and capacity is enforced, a
    young person's refusal to assent is respected, and a form for another arm or a person of unknown age needs
    `fit_reason`. Once the consent is valid, the cases of the participant's eligible referrals open.
    """
    consent = _validated(participant, form, consented_on, given_by, given_by_name,
                         {k: bool(v) for k, v in choices.items()})
    if given_by != "participant" and not (given_by_name or "").strip():
        raise ValidationFailed("name the parent, guardian or consultee who consented", field="given_by_name")
    missing = [c for c in form.choices if c not in choices]
    if missing:
        raise ValidationFailed(f"answer every choice on the form; missing: {', '.join(missing)}", field="choices")
    fit_reason = (fit_reason or "").strip() or None
    arms = session.execute(select(Referral.programme_arm).where(Referral.participant_id == participant.id)).scalars()
    problems = check_fit(FormFacts(form.code, form.version, form.audience, form.programme_arm), arms=list(arms),
                         age=age_on(participant.date_of_birth, consented_on), given_by=given_by,
                         lacks_capacity=lacks_capacity, assent=assent)
    refused = [p for p in problems if not p.needs_reason]
    if refused:
        raise ValidationFailed(refused[0].message, field=refused[0].field)
    if problems and not fit_reason:
        raise ValidationFailed(f"{problems[0].message}: give the reason to record it on this form anyway",
                               field="fit_reason")
    for previous in consents_of(session, participant.id):
        if previous.status in {"active", "withdrawn"}:
            previous.status = "superseded"
    consent.status, consent.recorded_by = "active", actor.name
    consent.assent, consent.fit_reason = assent, fit_reason if problems else None
    session.add(consent)
    session.flush()
    summary = {"consent_id": consent.id, "form": f"{form.code} v{form.version}", "given_by": given_by,
               "choices": consent.choices}
    if assent:
        summary["assent"] = assent
    if problems:
        summary["accepted_mismatch"] = {"problems": [p.message for p in problems], "reason": fit_reason}
    record(session, actor=actor, verb=AuditVerb.CONSENT_RECORD, entity_type="participant", entity_id=participant.id,
           trust_id=trust_id, summary=summary)
    open_consented_cases(session, actor=actor, participant_pk=participant.id,
                         consented=is_allowed(session, participant.id, ConsentAction.SEQUENCE).allowed)
    return consent


def withdraw(
    session: Session,
    *,
    actor: Actor,
    participant: Participant,
    level: WithdrawalLevel | str,
    reason: str = "",
    trust_id: int | None = None,
    when: datetime | None = None,
) -> Consent:
    """Withdraws the participant at a level; every later consent question sees it at once."""
    level = WithdrawalLevel(level)
    consent = current_consent(session, participant.id)
    if consent is None:
        raise Conflict("there is no consent to withdraw", field="participant")
    if consent.status == "withdrawn" and consent.withdrawal_level == WithdrawalLevel.NO_FURTHER_USE:
        raise Conflict("the participant has already withdrawn from all further use")
    before = consent.withdrawal_level
    consent.status = "withdrawn"
    consent.withdrawal_level = level.value
    consent.withdrawn_at = when or utcnow()
    consent.withdrawal_reason = reason
    record(session, actor=actor, verb=AuditVerb.CONSENT_WITHDRAW, entity_type="participant",
           entity_id=participant.id, trust_id=trust_id,
           summary={"consent_id": consent.id, "level": [before, level.value]})
    return consent


_LEVEL_RANK = {None: 0, WithdrawalLevel.NO_FURTHER_CONTACT.value: 1, WithdrawalLevel.NO_FURTHER_USE.value: 2}


def import_consent_state(
    session: Session,
    *,
    actor: Actor,
    participant: Participant,
    form: ConsentForm,
    consented_on: date,
    given_by: str,
    choices: dict[str, bool],
    state: str,
    given_by_name: str | None = None,
    withdrawal_level: str | None = None,
    withdrawn_at: datetime | None = None,
    trust_id: int | None = None,
) -> tuple[Consent, bool]:
    """Brings in a consent from another system or an earlier export, in the state it was in: active, superseded
    (history) or withdrawn (level and date). Safe to repeat: a consent already held (same form, date, giver and
    choices) is not added again. Never undoes a withdrawal: a held withdrawal only escalates (no further contact
    to no further use), and a consent dated on or before a withdrawal is kept as history, never made current.
    Returns the consent and whether anything changed."""
    if state not in {"active", "superseded", "withdrawn"}:
        raise ValidationFailed(f"consent state {state!r} is not active, superseded or withdrawn", field="status")
    if state == "withdrawn":
        withdrawal_level = WithdrawalLevel(withdrawal_level or WithdrawalLevel.NO_FURTHER_USE).value
    normal = {k: bool(v) for k, v in choices.items()}
    same = next((c for c in consents_of(session, participant.id) if c.form_id == form.id
                 and c.consented_on == consented_on and c.given_by == given_by and c.choices == normal), None)
    if same is not None:
        if state == "withdrawn" and _LEVEL_RANK[withdrawal_level] > _LEVEL_RANK[same.withdrawal_level if
                                                                                 same.status == "withdrawn" else None]:
            if same.status == "superseded":
                # A withdrawal of a consent since superseded here: kept as history, the current one stands.
                same.withdrawal_level, same.withdrawn_at = withdrawal_level, withdrawn_at or utcnow()
                return same, True
            return withdraw(session, actor=actor, participant=participant, level=withdrawal_level,
                            reason="as recorded by the exporting system", trust_id=trust_id,
                            when=withdrawn_at), True
        return same, False
    current = current_consent(session, participant.id)
    newer = current is None or consented_on > current.consented_on
    revives = (current is not None and current.status == "withdrawn" and current.withdrawn_at is not None
               and consented_on <= current.withdrawn_at.date())
    if state == "superseded" or not newer or revives:
        consent = _validated(participant, form, consented_on, given_by, given_by_name, normal)
        consent.status, consent.recorded_by, consent.recorded_at = "superseded", actor.name, utcnow()
        if state == "withdrawn":
            consent.withdrawal_level, consent.withdrawn_at = withdrawal_level, withdrawn_at
        session.add(consent)
        session.flush()
        record(session, actor=actor, verb=AuditVerb.CONSENT_RECORD, entity_type="participant",
               entity_id=participant.id, trust_id=trust_id,
               summary={"consent_id": consent.id, "form": f"{form.code} v{form.version}", "history": True,
                        "state": state})
        return consent, True
    consent = record_consent(session, actor=actor, participant=participant, form=form, consented_on=consented_on,
                             given_by=given_by, choices=normal, given_by_name=given_by_name, trust_id=trust_id)
    if state == "withdrawn":
        withdraw(session, actor=actor, participant=participant, level=withdrawal_level,
                 reason="as recorded by the exporting system", trust_id=trust_id, when=withdrawn_at)
    return consent, True


def _validated(participant: Participant, form: ConsentForm, consented_on: date, given_by: str,
               given_by_name: str | None, choices: dict[str, bool]) -> Consent:
    """A consent row checked as record_consent checks it (not yet added)."""
    if given_by not in GIVEN_BY:
        raise ValidationFailed(f"given_by must be one of {', '.join(GIVEN_BY)}", field="given_by")
    if consented_on > date.today():
        raise ValidationFailed("the consent date is in the future", field="consented_on")
    if participant.date_of_birth and consented_on < participant.date_of_birth:
        raise ValidationFailed("the consent date is before the participant's birth", field="consented_on")
    unknown = set(choices) - set(form.choices)
    if unknown:
        raise ValidationFailed(f"form {form.code} v{form.version} does not ask: {', '.join(sorted(unknown))}",
                               field="choices")
    return Consent(participant_id=participant.id, form_id=form.id, consented_on=consented_on, given_by=given_by,
                   given_by_name=given_by_name, choices=choices, status="superseded", recorded_by="",
                   recorded_at=utcnow())


def reconsent_due(participant: Participant, consent: Consent | None, today: date) -> bool:
    """True when a child consented by a parent or guardian has reached the re-consent age."""
    if consent is None or consent.status != "active" or consent.given_by != "parent_guardian":
        return False
    dob = participant.date_of_birth
    if dob is None:
        return False
    try:
        birthday = dob.replace(year=dob.year + RECONSENT_AGE)
    except ValueError:  # born on 29 February
        birthday = date(dob.year + RECONSENT_AGE, 3, 1)
    return birthday <= today
