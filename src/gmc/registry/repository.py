"""Every registry query; scoped queries go through `scoped` so a missing scope is visible."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gmc.registry.models import (
    Case,
    Consent,
    ConsentForm,
    DuplicateCandidate,
    EligibilityRuleSet,
    Family,
    FamilyMember,
    HospitalNumber,
    MergeRecord,
    Participant,
    ParticipantBlockKey,
    Referral,
    TrustRegistration,
)


def scoped(stmt: Select, trust_scope: frozenset[int] | None) -> Select:
    """Limits a participant query to those referred or registered at trusts in scope (None: all)."""
    if trust_scope is None:
        return stmt
    ids = list(trust_scope)
    return stmt.where(
        or_(
            Participant.id.in_(select(Referral.participant_id).where(Referral.trust_id.in_(ids))),
            Participant.id.in_(select(TrustRegistration.participant_id).where(TrustRegistration.trust_id.in_(ids))),
        )
    )


def participant_trust_ids(session: Session, participant_pk: int) -> set[int]:
    """The trusts a participant is referred or registered at."""
    referral = select(Referral.trust_id).where(Referral.participant_id == participant_pk)
    registered = select(TrustRegistration.trust_id).where(TrustRegistration.participant_id == participant_pk)
    return set(session.execute(referral.union(registered)).scalars())


def registration(session: Session, participant_pk: int, trust_id: int) -> TrustRegistration | None:
    """The participant's registration at a trust."""
    stmt = select(TrustRegistration).where(TrustRegistration.participant_id == participant_pk,
                                           TrustRegistration.trust_id == trust_id)
    return session.execute(stmt).scalar_one_or_none()


def get_by_participant_id(session: Session, participant_id: str) -> Participant | None:
    """The participant with this programme id."""
    return session.execute(select(Participant).where(Participant.participant_id == participant_id)).scalar_one_or_none()


def get_by_nhs_number(session: Session, nhs_number: str) -> Sequence[Participant]:
    """Live (not merged) participants with this NHS number."""
    stmt = select(Participant).where(Participant.nhs_number == nhs_number, Participant.merged_into_id.is_(None))
    return session.execute(stmt).scalars().all()


def get_by_hospital_number(session: Session, trust_id: int, number: str) -> Participant | None:
    """The participant holding a hospital number at a trust."""
    stmt = select(Participant).join(HospitalNumber).where(HospitalNumber.trust_id == trust_id,
                                                          HospitalNumber.number == number)
    return session.execute(stmt).scalar_one_or_none()


def linkage_candidates(session: Session, keys: set[str], *, max_block_size: int) -> Sequence[Participant]:
    """Every live participant sharing a blocking key with a new record (through the key index; no cap). Keys
    shared by more than max_block_size records carry little evidence and are skipped, as the in-memory linkage
    index skips such blocks."""
    if not keys:
        return []
    sizes = session.execute(select(ParticipantBlockKey.key, func.count()).where(ParticipantBlockKey.key.in_(keys))
                            .group_by(ParticipantBlockKey.key)).all()
    usable = [key for key, size in sizes if size <= max_block_size]
    if not usable:
        return []
    ids = select(ParticipantBlockKey.participant_id).where(ParticipantBlockKey.key.in_(usable)).distinct()
    stmt = select(Participant).where(Participant.id.in_(ids), Participant.merged_into_id.is_(None))
    return session.execute(stmt.order_by(Participant.id)).scalars().all()


def search(session: Session, *, text: str, trust_scope: frozenset[int] | None, limit: int = 50) -> Sequence[Participant]:
    """Participants matching a name, NHS number, hospital number or programme id, within scope."""
    q = text.strip()
    stmt = select(Participant).where(Participant.merged_into_id.is_(None))
    digits = q.replace(" ", "").replace("-", "")
    conditions = [Participant.participant_id == q.upper(),
                  Participant.id.in_(select(HospitalNumber.participant_id).where(HospitalNumber.number == q))]
    if digits.isdigit() and len(digits) == 10:
        conditions.append(Participant.nhs_number == digits)
    words = [w for w in q.replace(",", " ").split() if w]
    if words and not digits.isdigit():
        name_match = [or_(func.lower(Participant.family_name).startswith(w.lower()),
                          func.lower(Participant.given_name).startswith(w.lower())) for w in words]
        from sqlalchemy import and_

        conditions.append(and_(*name_match))
    stmt = scoped(stmt.where(or_(*conditions)), trust_scope)
    return session.execute(stmt.order_by(Participant.family_name, Participant.given_name).limit(limit)).scalars().all()


def recent(session: Session, *, trust_scope: frozenset[int] | None, limit: int = 25) -> Sequence[Participant]:
    """The most recently registered participants in scope."""
    stmt = scoped(select(Participant).where(Participant.merged_into_id.is_(None)), trust_scope)
    return session.execute(stmt.order_by(Participant.created_at.desc(), Participant.id.desc()).limit(limit)).scalars().all()


def count_participants(session: Session, *, trust_scope: frozenset[int] | None) -> int:
    """How many live participants are in scope."""
    stmt = scoped(select(Participant.id).where(Participant.merged_into_id.is_(None)), trust_scope)
    return session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def referrals_of(session: Session, participant_pk: int) -> Sequence[Referral]:
    """A participant's referrals, oldest first."""
    stmt = select(Referral).where(Referral.participant_id == participant_pk).order_by(Referral.referral_date, Referral.id)
    return session.execute(stmt).scalars().all()


def get_referral(session: Session, referral_id: str) -> Referral | None:
    """The referral with this programme id."""
    return session.execute(select(Referral).where(Referral.referral_id == referral_id)).scalar_one_or_none()


def families_of(session: Session, participant_pk: int) -> Sequence[Family]:
    """Families the participant belongs to."""
    stmt = select(Family).join(FamilyMember).where(FamilyMember.participant_id == participant_pk)
    return session.execute(stmt).scalars().unique().all()


def get_family(session: Session, family_id: str) -> Family | None:
    """The family with this programme id."""
    return session.execute(select(Family).where(Family.family_id == family_id)).scalar_one_or_none()


def active_rule_set(session: Session, arm: str) -> EligibilityRuleSet | None:
    """The newest active rule set of an arm."""
    stmt = (select(EligibilityRuleSet).where(EligibilityRuleSet.programme_arm == arm, EligibilityRuleSet.active)
            .order_by(EligibilityRuleSet.version.desc()).limit(1))
    return session.execute(stmt).scalar_one_or_none()


def rule_sets(session: Session, arm: str) -> Sequence[EligibilityRuleSet]:
    """Every version of an arm's rules, newest first."""
    stmt = select(EligibilityRuleSet).where(EligibilityRuleSet.programme_arm == arm).order_by(
        EligibilityRuleSet.version.desc())
    return session.execute(stmt).scalars().all()


def consent_forms(session: Session, *, active_only: bool = True) -> Sequence[ConsentForm]:
    """Consent forms, by code and version."""
    stmt = select(ConsentForm).order_by(ConsentForm.code, ConsentForm.version)
    if active_only:
        stmt = stmt.where(ConsentForm.active)
    return session.execute(stmt).scalars().all()


def get_consent_form(session: Session, code: str, version: str) -> ConsentForm | None:
    """A consent form version."""
    stmt = select(ConsentForm).where(ConsentForm.code == code, ConsentForm.version == version)
    return session.execute(stmt).scalar_one_or_none()


def open_duplicates(session: Session, *, trust_scope: frozenset[int] | None,
                    limit: int | None = 200) -> Sequence[DuplicateCandidate]:
    """Duplicate candidates waiting for a decision, highest score first, where both records are in scope (a pair
    across scopes is never shown: each side learns of the other only through a link request); limit None: all."""
    stmt = select(DuplicateCandidate).where(DuplicateCandidate.status == "open")
    if trust_scope is not None:
        visible = scoped(select(Participant.id), trust_scope)
        stmt = stmt.where(DuplicateCandidate.participant_a_id.in_(visible),
                          DuplicateCandidate.participant_b_id.in_(visible))
    stmt = stmt.order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.id)
    return session.execute(stmt if limit is None else stmt.limit(limit)).scalars().all()


def duplicate_between(session: Session, a: int, b: int) -> DuplicateCandidate | None:
    """The candidate row for a pair, in either order."""
    low, high = sorted((a, b))
    stmt = select(DuplicateCandidate).where(DuplicateCandidate.participant_a_id == low,
                                            DuplicateCandidate.participant_b_id == high)
    return session.execute(stmt).scalar_one_or_none()


def merges_of(session: Session, participant_pk: int) -> Sequence[MergeRecord]:
    """Merges in which the participant was the survivor or the merged record."""
    stmt = select(MergeRecord).where(or_(MergeRecord.survivor_id == participant_pk,
                                         MergeRecord.merged_id == participant_pk)).order_by(MergeRecord.merged_at)
    return session.execute(stmt).scalars().all()


def reconsent_candidates(session: Session, *, born_on_or_before: date,
                         trust_scope: frozenset[int] | None) -> Sequence[Participant]:
    """Live participants old enough to need re-consent (the consent check is done by the caller)."""
    stmt = scoped(select(Participant).where(Participant.merged_into_id.is_(None),
                                            Participant.date_of_birth <= born_on_or_before), trust_scope)
    return session.execute(stmt).scalars().all()


def case_for_referral(session: Session, referral_pk: int) -> Case | None:
    """The case opened for a referral."""
    return session.execute(select(Case).where(Case.referral_id == referral_pk)).scalar_one_or_none()


def get_case(session: Session, case_id: str) -> Case | None:
    """The case with this programme id."""
    return session.execute(select(Case).where(Case.case_id == case_id)).scalar_one_or_none()


def cases_of(session: Session, participant_pk: int) -> Sequence[Case]:
    """Cases in which the participant is the proband, or a member of the case's family."""
    families = select(FamilyMember.family_id).where(FamilyMember.participant_id == participant_pk)
    stmt = select(Case).where(or_(Case.proband_id == participant_pk, Case.family_id.in_(families)))
    return session.execute(stmt.order_by(Case.created_at)).scalars().all()


def list_cases(session: Session, *, trust_scope: frozenset[int] | None, arm: str | None = None,
               status: str | None = None, limit: int = 500) -> Sequence[Case]:
    """Cases at trusts in scope, newest first."""
    stmt = select(Case)
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    if arm:
        stmt = stmt.where(Case.programme_arm == arm)
    if status:
        stmt = stmt.where(Case.status == status)
    return session.execute(stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).scalars().all()


def referrals_awaiting_consent(session: Session, *, trust_scope: frozenset[int] | None,
                               limit: int = 50) -> tuple[int, Sequence[Referral]]:
    """Open referrals in scope whose participant has no current consent at all: (how many, the oldest few)."""
    has_consent = select(Consent.id).where(Consent.participant_id == Referral.participant_id,
                                           Consent.status.in_(("active", "withdrawn"))).exists()
    stmt = select(Referral).where(Referral.status.in_(("received", "eligible")), ~has_consent)
    if trust_scope is not None:
        stmt = stmt.where(Referral.trust_id.in_(list(trust_scope)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return total, session.execute(stmt.order_by(Referral.referral_date, Referral.id).limit(limit)).scalars().all()


def participants_query(*, trust_scope: frozenset[int] | None, consent: str | None = None,
                       arm: str | None = None) -> Select:
    """Live participants in scope as a select for a paged list; consent=none keeps those with no current
    consent, consent=withdrawn those who withdrew; arm keeps those referred for it."""
    stmt = scoped(select(Participant).where(Participant.merged_into_id.is_(None)), trust_scope)
    current = select(Consent.id).where(Consent.participant_id == Participant.id)
    if consent == "none":
        stmt = stmt.where(~current.where(Consent.status.in_(("active", "withdrawn"))).exists())
    elif consent == "withdrawn":
        stmt = stmt.where(current.where(Consent.status == "withdrawn").exists())
    elif consent == "active":
        stmt = stmt.where(current.where(Consent.status == "active").exists())
    if arm:
        stmt = stmt.where(select(Referral.id).where(Referral.participant_id == Participant.id,
                                                    Referral.programme_arm == arm).exists())
    return stmt


#: The columns the participant list sorts by.
PARTICIPANT_ORDER = {"registered": [Participant.created_at, Participant.id], "id": Participant.participant_id,
                     "name": [Participant.family_name, Participant.given_name, Participant.id],
                     "born": [Participant.date_of_birth, Participant.id]}
