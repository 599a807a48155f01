"""Rules for centres and trusts: idempotent creation with an audit trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.errors import NotFound
from gmc.organisations import repository
from gmc.organisations.models import Centre, Trust


def ensure_centre(
    session: Session, *, actor: Actor, code: str, name: str, region: str | None = None,
    genome_target: int | None = None,
) -> Centre:
    """Returns the centre with this code, creating it (audited) when missing."""
    centre = repository.get_centre_by_code(session, code)
    if centre is None:
        centre = Centre(code=code, name=name, region=region, genome_target=genome_target)
        session.add(centre)
        session.flush()
        record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="centre", entity_id=centre.id,
               summary={"code": code, "name": name})
    return centre


def ensure_trust(session: Session, *, actor: Actor, centre: Centre, code: str, name: str) -> Trust:
    """Returns the trust with this ODS code, creating it (audited) when missing."""
    trust = repository.get_trust_by_code(session, code)
    if trust is None:
        trust = Trust(code=code, name=name, centre_id=centre.id)
        session.add(trust)
        session.flush()
        record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="trust", entity_id=trust.id,
               trust_id=trust.id, summary={"code": code, "name": name, "centre": centre.code})
    return trust


def require_trust(session: Session, code: str) -> Trust:
    """The trust with this ODS code, or an error naming the code."""
    trust = repository.get_trust_by_code(session, code)
    if trust is None:
        raise NotFound(f"no trust with code {code!r}", field="trust_code")
    return trust


def require_centre(session: Session, code: str) -> Centre:
    """The centre with this code, or an error naming the code."""
    centre = repository.get_centre_by_code(session, code)
    if centre is None:
        raise NotFound(f"no centre with code {code!r}", field="centre_code")
    return centre
