"""Recording audit events in the same transaction as the change they describe."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gmc.audit import chain as _chain  # noqa: F401  (registers the hash-chain flush hook)
from gmc.audit import checkpoints as _checkpoints  # noqa: F401  (registers the checkpoint-after-commit hook)
from gmc.audit.models import AuditEvent
from gmc.audit.verbs import AuditVerb
from gmc.common.context import current_request_id
from gmc.common.time import utcnow

_order = itertools.count()


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, or the system (CLI, importer, demo)."""

    user_id: int | None
    name: str

    @classmethod
    def system(cls, what: str) -> Actor:
        """An actor for work done by gmc itself, e.g. Actor.system("cli")."""
        return cls(user_id=None, name=f"system:{what}")


def record(
    session: Session,
    *,
    actor: Actor,
    verb: AuditVerb,
    entity_type: str,
    entity_id: object | None = None,
    trust_id: int | None = None,
    summary: dict[str, Any] | None = None,
) -> AuditEvent:
    """Adds an audit event to the session; it commits (or rolls back) with the change itself."""
    ev = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.user_id,
        actor=actor.name,
        verb=AuditVerb(verb).value,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        trust_id=trust_id,
        summary=summary or {},
        request_id=current_request_id(),
        prev_hash="",
        hash="",
    )
    ev._gmc_order = next(_order)  # type: ignore[attr-defined]
    session.add(ev)
    return ev


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields whose values changed, as {field: [before, after]}."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
