"""Genomic cases open for eligible referrals, and only once the proband's consent allows it."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.errors import Conflict
from gmc.common.time import utcnow
from gmc.registry import repository
from gmc.registry.models import Case, Referral


def new_programme_id(session: Session, prefix: str, model: type, column: str) -> str:
    """A fresh programme id (prefix + 8 digits) not yet used in model.column."""
    for _ in range(20):
        candidate = f"{prefix}{secrets.randbelow(10**8):08d}"
        if session.query(model).filter(getattr(model, column) == candidate).first() is None:
            return candidate
    raise Conflict(f"could not allocate a new {prefix} id")  # pragma: no cover - 1e8 id space


def open_case(session: Session, *, actor: Actor, referral: Referral) -> Case:
    """Opens the genomic case that answers an eligible referral (once per referral)."""
    existing = repository.case_for_referral(session, referral.id)
    if existing is not None:
        return existing
    case = Case(case_id=new_programme_id(session, "C", Case, "case_id"), referral_id=referral.id,
                proband_id=referral.participant_id, family_id=referral.family_id, trust_id=referral.trust_id,
                programme_arm=referral.programme_arm, status="open", created_at=utcnow())
    session.add(case)
    session.flush()
    record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="case", entity_id=case.id,
           trust_id=referral.trust_id, summary={"case": case.case_id, "referral": referral.referral_id,
                                                "arm": referral.programme_arm})
    return case


def open_consented_cases(session: Session, *, actor: Actor, participant_pk: int, consented: bool) -> list[Case]:
    """Opens the cases of a participant's eligible referrals once their consent is valid (none before)."""
    if not consented:
        return []
    referrals = session.execute(select(Referral).where(Referral.participant_id == participant_pk,
                                                       Referral.status == "eligible")).scalars().all()
    return [open_case(session, actor=actor, referral=r) for r in referrals
            if repository.case_for_referral(session, r.id) is None]
