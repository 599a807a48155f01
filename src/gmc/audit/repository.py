"""Queries over the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gmc.audit.models import AuditEvent


def list_events(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    verb: str | None = None,
    trust_ids: set[int] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    """Events newest first, filtered; trust_ids limits to events of those trusts (None = all)."""
    stmt = events_query(entity_type=entity_type, entity_id=entity_id, actor=actor, verb=verb, trust_ids=trust_ids)
    return session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)).scalars().all()


def events_query(*, entity_type: str | None = None, entity_id: str | None = None, actor: str | None = None,
                 verb: str | None = None, trust_ids: set[int] | None = None) -> Select:
    """The filtered events as a select (unordered), for lists that page and sort."""
    stmt = select(AuditEvent)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if verb:
        stmt = stmt.where(AuditEvent.verb == verb)
    if trust_ids is not None:
        stmt = stmt.where(AuditEvent.trust_id.in_(trust_ids))
    return stmt


#: The columns the audit list sorts by.
EVENT_ORDER = {"when": AuditEvent.seq, "actor": [AuditEvent.actor, AuditEvent.seq],
               "verb": [AuditEvent.verb, AuditEvent.seq], "entity": [AuditEvent.entity_type, AuditEvent.seq]}


def count_events(session: Session) -> int:
    """How many events the trail holds."""
    return session.execute(select(func.count(AuditEvent.id))).scalar_one()


def history(session: Session, *, entity_type: str, entity_id: object) -> Sequence[AuditEvent]:
    """Every event about one entity, oldest first (a timeline / chain of custody)."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.seq)
    )
    return session.execute(stmt).scalars().all()
