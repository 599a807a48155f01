"""The append-only, HMAC-chained audit event table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class AuditEvent(Base):
    """One recorded action: who did what to which entity, when, chained to the event before."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Position in the chain, 1-based, without gaps.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    #: When it happened (UTC).
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    #: The user who acted (None for the system or the command line without a user).
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: The actor's username or "system:<what>", kept even if the user is later renamed.
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    #: A verb from gmc.audit.verbs.AuditVerb.
    verb: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    #: The kind of entity acted on (participant, specimen, user, ...).
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    #: Its id as text.
    entity_id: Mapped[str | None] = mapped_column(String(100))
    #: The trust whose data this was, for scoping who may read the trail.
    trust_id: Mapped[int | None] = mapped_column(Integer)
    #: Before/after of the fields that changed, or what was read.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: The request that caused it.
    request_id: Mapped[str | None] = mapped_column(String(64))
    #: Hash of the previous event ("" for the first).
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: HMAC-SHA256 over this event's fields and prev_hash under the audit key (plain SHA-256 when hash_key is NULL).
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Fingerprint of the audit key that hashed this event; NULL for events written before keyed hashing.
    hash_key: Mapped[str | None] = mapped_column(String(16))
