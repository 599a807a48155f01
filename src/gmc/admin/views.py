"""Admin web pages: users, the audit trail, centres and trusts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from gmc.audit import repository as audit_repository
from gmc.audit.chain import verify_chain
from gmc.auth import repository as auth_repository
from gmc.auth import service as auth_service
from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission, Role
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError
from gmc.common.flash import redirect_with_message
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, paginate
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.organisations import repository as org_repository

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Users", "/admin/users", Permission.USERS_MANAGE, order=800, roles=frozenset({"admin"})))
register_nav(NavItem("Audit trail", "/admin/audit", Permission.AUDIT_READ, order=810, roles=frozenset({"admin"})))
register_nav(NavItem("Centres & trusts", "/organisations", Permission.ORGANISATIONS_READ, order=820, roles=frozenset({"admin"})))


def _users_context(db: GmcSession) -> dict[str, object]:
    centres = org_repository.list_centres(db)
    trust_codes = {t.id: t.code for c in centres for t in c.trusts}
    return {"users": auth_repository.list_users(db), "roles": [r.value for r in Role], "centres": centres,
            "trust_codes": trust_codes}


@router.get("/admin/users")
def users_page(request: Request, _: Principal = Depends(require(Permission.USERS_MANAGE)),
               db: GmcSession = DB) -> Response:
    """Lists users with a form to add one."""
    return render(request, "admin/users.html", _users_context(db))


@router.post("/admin/users")
async def create_user_page(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    full_name: str = Form(""),
    centre_code: str = Form(""),
    centre_wide: bool = Form(False),
    principal: Principal = Depends(require(Permission.USERS_MANAGE)),
    db: GmcSession = DB,
) -> Response:
    """Creates a user from the form; shows the reason when refused."""
    form = await request.form()
    roles = [str(r) for r in form.getlist("roles")]
    trust_codes = [str(t) for t in form.getlist("trust_codes")]
    try:
        with db.begin_nested():
            auth_service.create_user(db, actor=principal.actor, username=username, password=password, roles=roles,
                                     full_name=full_name, centre_code=centre_code or None, trust_codes=trust_codes,
                                     centre_wide=centre_wide)
    except DomainError as exc:
        return render(request, "admin/users.html", {**_users_context(db), "message": exc.message,
                      "message_kind": "error"}, status_code=exc.status_code)
    return redirect_with_message("/admin/users", f"User {username} created.")


@router.get("/admin/audit")
def audit_page(request: Request, verify: bool = False, principal: Principal = Depends(require(Permission.AUDIT_READ)),
               db: GmcSession = DB) -> Response:
    """The audit trail, a page at a time: filterable by entity type, actor and verb, sortable, chain check on demand."""
    state = ListState.from_query("/admin/audit", request.query_params, sorts=list(audit_repository.EVENT_ORDER),
                                 default_sort="when", default_descending=True, filters=("entity_type", "actor", "verb"))
    scope = None if principal.trust_scope is None else set(principal.trust_scope)
    stmt = audit_repository.events_query(entity_type=state.filters.get("entity_type"),
                                         actor=state.filters.get("actor"), verb=state.filters.get("verb"),
                                         trust_ids=scope)
    page = paginate(db, stmt, state, audit_repository.EVENT_ORDER)
    report = verify_chain(db) if verify and principal.has(Permission.USERS_MANAGE) else None
    return render(request, "admin/audit.html", {"page": page, "events": page.items, "report": report,
                                                "filters": state.filters, "total": audit_repository.count_events(db)})


@router.get("/organisations")
def organisations_page(request: Request, _: Principal = Depends(require(Permission.ORGANISATIONS_READ)),
                       db: GmcSession = DB) -> Response:
    """Centres and their trusts."""
    return render(request, "admin/organisations.html", {"centres": org_repository.list_centres(db)})
