"""Hash chaining of audit events: computed at flush time under a lock, checked by verify."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from gmc.audit.models import AuditEvent
from gmc.common.time import as_utc
from gmc.db.core import GmcSession

#: Key of the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 7_420_131


def canonical_fields(
    *,
    seq: int,
    occurred_at: Any,
    actor_id: int | None,
    actor: str,
    verb: str,
    entity_type: str,
    entity_id: str | None,
    trust_id: int | None,
    summary: dict[str, Any],
    request_id: str | None,
    prev_hash: str,
) -> str:
    """The exact text that is hashed for one event (stable across SQLite and PostgreSQL)."""
    return json.dumps(
        {
            "seq": seq,
            "occurred_at": as_utc(occurred_at).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor": actor,
            "verb": verb,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "trust_id": trust_id,
            "summary": summary,
            "request_id": request_id,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )


def event_hash(ev: AuditEvent) -> str:
    """SHA-256 of an event's canonical fields."""
    body = canonical_fields(
        seq=ev.seq,
        occurred_at=ev.occurred_at,
        actor_id=ev.actor_id,
        actor=ev.actor,
        verb=ev.verb,
        entity_type=ev.entity_type,
        entity_id=ev.entity_id,
        trust_id=ev.trust_id,
        summary=ev.summary or {},
        request_id=ev.request_id,
        prev_hash=ev.prev_hash,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialises chain appends across concurrent transactions."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    # SQLite transactions start with BEGIN IMMEDIATE, so writers are already serialised.


@event.listens_for(GmcSession, "before_flush")
def _chain_new_events(session: Session, _flush_context: object, _instances: object) -> None:
    """Gives each new audit event its sequence number and hash before it is written."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent) and not obj.hash]
    if not pending:
        return
    _lock_chain(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, "")
    for ev in sorted(pending, key=lambda e: e._gmc_order):  # type: ignore[attr-defined]
        seq += 1
        ev.seq = seq
        ev.prev_hash = prev
        ev.hash = event_hash(ev)
        prev = ev.hash


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the audit chain."""

    ok: bool
    events_checked: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch_size: int = 5000) -> ChainReport:
    """Recomputes every event's hash and link; names the first event that does not fit."""
    prev_hash = ""
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return ChainReport(ok=True, events_checked=checked)
        for ev in rows:
            reason = None
            if ev.seq != expected_seq:
                reason = f"sequence gap: expected {expected_seq}, found {ev.seq}"
            elif ev.prev_hash != prev_hash:
                reason = "prev_hash does not match the previous event's hash"
            elif event_hash(ev) != ev.hash:
                reason = "contents do not match the stored hash (edited after it was written)"
            if reason:
                return ChainReport(False, checked, ev.id, ev.seq, reason)
            prev_hash = ev.hash
            expected_seq += 1
            checked += 1
            last_seq = ev.seq
        session.expunge_all()
