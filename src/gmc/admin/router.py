"""API routes for the audit trail and the organisations list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from gmc.audit import repository as audit_repository
from gmc.audit.checkpoints import verify_audit
from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.organisations import repository as org_repository
from gmc.organisations.schemas import CentreOut

router = APIRouter(prefix="/api", tags=["admin"])


class AuditEventOut(BaseModel):
    """An audit event as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor: str
    verb: str
    entity_type: str
    entity_id: str | None
    trust_id: int | None
    summary: dict[str, Any]
    request_id: str | None
    hash: str


class ChainOut(BaseModel):
    """The result of checking the audit chain and comparing it with the checkpoints kept outside the database."""

    ok: bool
    events_checked: int
    broken_event_id: int | None
    broken_seq: int | None
    reason: str | None
    legacy_events: int
    head_seq: int | None
    checkpoint_seq: int | None
    checkpoint_at: str | None
    checkpoints_compared: int
    problems: list[str]
    summary: str


@router.get("/audit/events", response_model=list[AuditEventOut])
def audit_events(
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    verb: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(require(Permission.AUDIT_READ)),
    db: GmcSession = DB,
) -> list[AuditEventOut]:
    """Audit events newest first, filtered, limited to the caller's trusts unless national."""
    scope = None if principal.trust_scope is None else set(principal.trust_scope)
    events = audit_repository.list_events(db, entity_type=entity_type, entity_id=entity_id, actor=actor,
                                          verb=verb, trust_ids=scope, limit=limit, offset=offset)
    return [AuditEventOut.model_validate(e) for e in events]


@router.get("/audit/verify", response_model=ChainOut)
def audit_verify(request: Request, _: Principal = Depends(require(Permission.USERS_MANAGE)),
                 db: GmcSession = DB) -> ChainOut:
    """Recomputes the keyed hash chain, names the first broken event, and compares the head with the checkpoints."""
    database = request.app.state.database
    result = verify_audit(db, identity=database.identity, settings=database.settings)
    c = result.chain
    return ChainOut(ok=result.ok, events_checked=c.events_checked, broken_event_id=c.broken_event_id,
                    broken_seq=c.broken_seq, reason=c.reason, legacy_events=c.legacy_events, head_seq=c.head_seq,
                    checkpoint_seq=result.checkpoint_seq, checkpoint_at=result.checkpoint_at,
                    checkpoints_compared=result.checkpoints_compared, problems=result.problems,
                    summary=result.summary())


@router.get("/centres", response_model=list[CentreOut])
def centres(_: Principal = Depends(require(Permission.ORGANISATIONS_READ)),
            db: GmcSession = DB) -> list[CentreOut]:
    """Every centre with its trusts."""
    return [CentreOut.model_validate(c) for c in org_repository.list_centres(db)]
