"""Keyed hash chaining of audit events: computed at flush time under a lock, checked by verify.

Each event carries an HMAC-SHA256 over its fields and the previous event's hash, keyed by GMC_AUDIT_KEY, which
lives in the settings and never in the database: whoever can write the database cannot forge a consistent chain
without it. Events written before keyed hashing (`hash_key` NULL) were hashed with plain SHA-256; they are
accepted only as the chain's prefix, and the first keyed event's link seals them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from gmc.audit.models import AuditEvent
from gmc.common.time import as_utc
from gmc.db.core import GmcSession, take_write_lock
from gmc.settings import Settings, get_settings

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


def _canonical(ev: AuditEvent) -> bytes:
    return canonical_fields(
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
    ).encode("utf-8")


def key_id(key: str) -> str:
    """A short public fingerprint of an audit key, stored with each event to say which key hashed it."""
    return hmac.new(key.encode("utf-8"), b"gmc-audit-key-id", hashlib.sha256).hexdigest()[:16]


def legacy_event_hash(ev: AuditEvent) -> str:
    """Unkeyed SHA-256 of an event's canonical fields (how events were hashed before keyed chaining)."""
    return hashlib.sha256(_canonical(ev)).hexdigest()


def event_hash(ev: AuditEvent, key: str) -> str:
    """HMAC-SHA256 of an event's canonical fields under the audit key."""
    return hmac.new(key.encode("utf-8"), _canonical(ev), hashlib.sha256).hexdigest()


def session_settings(session: Session) -> Settings:
    """The settings of the Database a session came from (the process-wide ones for a bare session)."""
    return session.info.get("gmc_settings") or get_settings()


def audit_keys(settings: Settings) -> dict[str, str]:
    """Every key verification accepts, by key id: the current GMC_AUDIT_KEY and GMC_AUDIT_OLD_KEYS."""
    keys = [settings.audit_key, *(k.strip() for k in settings.audit_old_keys.split(",") if k.strip())]
    return {key_id(k): k for k in keys}


def _lock_chain(session: Session) -> None:
    """Serialises chain appends across concurrent transactions, before the last event is read."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    else:
        # SQLite has one write lock: holding it, this transaction reads the newest head and no one appends.
        take_write_lock(session.connection())


@event.listens_for(GmcSession, "before_flush")
def _chain_new_events(session: Session, _flush_context: object, _instances: object) -> None:
    """Gives each new audit event its sequence number and keyed hash before it is written."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent) and not obj.hash]
    if not pending:
        return
    _lock_chain(session)
    key = session_settings(session).audit_key
    kid = key_id(key)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, "")
    for ev in sorted(pending, key=lambda e: e._gmc_order):  # type: ignore[attr-defined]
        seq += 1
        ev.seq = seq
        ev.prev_hash = prev
        ev.hash_key = kid
        ev.hash = event_hash(ev, key)
        prev = ev.hash
    # The values are kept beside the objects: after the commit the objects may be expired, and may not load.
    session.info.setdefault("gmc_audit_flushed", []).extend((ev, ev.seq, ev.hash) for ev in pending)


def committed_head(session: Session) -> tuple[int, str] | None:
    """The (seq, hash) of the newest event this session wrote that survived its savepoints, once per commit."""
    flushed: Iterable[tuple[AuditEvent, int, str]] = session.info.pop("gmc_audit_flushed", ())
    alive = [(seq, hash_) for ev, seq, hash_ in flushed if inspect(ev).has_identity]
    return max(alive) if alive else None


@event.listens_for(GmcSession, "after_transaction_end")
def _forget_flushed(session: Session, transaction: object) -> None:
    """A top-level transaction that ended without a commit (which pops them first) wrote nothing to checkpoint."""
    if getattr(transaction, "parent", None) is None:
        session.info.pop("gmc_audit_flushed", None)


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the audit chain in the database."""

    ok: bool
    events_checked: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None
    #: Events hashed without a key, before keyed chaining was introduced (the chain's prefix).
    legacy_events: int = 0
    #: The last event's sequence number and hash (None for an empty chain).
    head_seq: int | None = None
    head_hash: str | None = None


def verify_chain(
    session: Session,
    *,
    batch_size: int = 5000,
    expected: dict[int, str] | None = None,
) -> ChainReport:
    """Recomputes every event's keyed hash and link; names the first event that does not fit.

    `expected` maps sequence numbers to the hashes checkpoints recorded for them; an event whose hash differs
    was rewritten after the checkpoint, even if the rewritten chain is consistent in itself.
    """
    keys = audit_keys(session_settings(session))
    prev_hash = ""
    expected_seq = 1
    checked = legacy = 0
    last_seq = 0
    keyed_seen = False
    while True:
        rows = (
            session.execute(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return ChainReport(ok=True, events_checked=checked, legacy_events=legacy,
                               head_seq=last_seq or None, head_hash=prev_hash or None)
        for ev in rows:
            reason = _event_fault(ev, expected_seq, prev_hash, keys, keyed_seen, expected)
            if reason:
                session.expunge_all()
                return ChainReport(False, checked, ev.id, ev.seq, reason, legacy_events=legacy)
            keyed_seen = keyed_seen or ev.hash_key is not None
            legacy += ev.hash_key is None
            prev_hash = ev.hash
            expected_seq += 1
            checked += 1
            last_seq = ev.seq
        session.expunge_all()


def _event_fault(ev: AuditEvent, expected_seq: int, prev_hash: str, keys: dict[str, str], keyed_seen: bool,
                 expected: dict[int, str] | None) -> str | None:
    """Why one event does not fit the chain, or None."""
    if ev.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {ev.seq}"
    if ev.prev_hash != prev_hash:
        return "prev_hash does not match the previous event's hash"
    if ev.hash_key is None:
        if keyed_seen:
            return "an unkeyed event after keyed ones (rewritten without the audit key)"
        if legacy_event_hash(ev) != ev.hash:
            return "contents do not match the stored hash (edited after it was written)"
    else:
        key = keys.get(ev.hash_key)
        if key is None:
            return (f"hashed with an audit key this installation does not hold (key id {ev.hash_key}); "
                    "set GMC_AUDIT_OLD_KEYS if the key was changed")
        if not hmac.compare_digest(event_hash(ev, key), ev.hash):
            return "contents do not match the stored hash (edited after it was written)"
    if expected is not None and ev.seq in expected and not hmac.compare_digest(expected[ev.seq], ev.hash):
        return "hash differs from the one checkpointed for this event (the chain was rewritten)"
    return None
