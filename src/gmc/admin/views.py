"""Admin web pages: users, the audit trail, centres and trusts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from gmc.audit import repository as audit_repository
from gmc.audit.checkpoints import verify_audit
from gmc.audit.service import record_trail_read
from gmc.auth import lifecycle
from gmc.auth import repository as auth_repository
from gmc.auth import service as auth_service
from gmc.auth.dependencies import get_principal, require
from gmc.auth.passwords import MIN_PASSWORD_LENGTH
from gmc.auth.permissions import Permission, Role
from gmc.auth.principal import Principal
from gmc.auth.throttle import ThrottlePolicy, recent_failures
from gmc.common.errors import DomainError
from gmc.common.flash import redirect_with_message
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, paginate
from gmc.common.requests import FormFields
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.organisations import repository as org_repository
from gmc.refdata.service import status as refdata_status
from gmc.settings import get_settings

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Users", "/admin/users", Permission.USERS_MANAGE, order=800, roles=frozenset({"admin"})))
register_nav(NavItem("Audit trail", "/admin/audit", Permission.AUDIT_READ, order=810, roles=frozenset({"admin"})))
register_nav(NavItem("Centres & trusts", "/organisations", Permission.ORGANISATIONS_READ, order=820, roles=frozenset({"admin"})))
register_nav(NavItem("Reference data", "/refdata", None, order=910, section="account", roles=frozenset({"admin"})))


def _users_context(db: GmcSession, principal: Principal) -> dict[str, object]:
    centres = [c for c in org_repository.list_centres(db)
               if principal.centre_id is None or c.id == principal.centre_id]
    trust_codes = {t.id: t.code for c in org_repository.list_centres(db) for t in c.trusts}
    return {"users": auth_service.users_for(db, principal=principal), "roles": [r.value for r in Role],
            "centres": centres, "trust_codes": trust_codes, "national": principal.centre_id is None,
            "min_length": MIN_PASSWORD_LENGTH}


@router.get("/admin/users")
def users_page(request: Request, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
               db: GmcSession = DB) -> Response:
    """Lists the users you administer with a form to add one."""
    return render(request, "admin/users.html", _users_context(db, principal))


@router.post("/admin/users")
def create_user_page(
    request: Request, form_fields: FormFields,
    username: str = Form(...),
    password: str = Form(...),
    full_name: str = Form(""),
    centre_code: str = Form(""),
    centre_wide: bool = Form(False),
    principal: Principal = Depends(require(Permission.USERS_MANAGE)),
    db: GmcSession = DB,
) -> Response:
    """Creates a user from the form; shows the reason when refused."""
    form = form_fields
    roles = [str(r) for r in form.getlist("roles")]
    trust_codes = [str(t) for t in form.getlist("trust_codes")]
    try:
        with db.begin_nested():
            auth_service.create_user(db, actor=principal.actor, username=username, password=password, roles=roles,
                                     full_name=full_name, centre_code=centre_code or None, trust_codes=trust_codes,
                                     centre_wide=centre_wide, principal=principal)
    except DomainError as exc:
        return render(request, "admin/users.html", {**_users_context(db, principal), "message": exc.message,
                      "message_kind": "error"}, status_code=exc.status_code)
    return redirect_with_message("/admin/users", f"User {username} created.")


def _user_page(request: Request, db: GmcSession, principal: Principal, user_id: int, *, status_code: int = 200,
               **extra: object) -> Response:
    user = lifecycle.require_user(db, user_id, principal=principal)
    policy = ThrottlePolicy.from_settings(request.app.state.settings)
    live_sessions, live_tokens = auth_repository.live_credentials(db, user.id)
    return render(request, "admin/user.html", {
        "user": user, "roles": [r.value for r in Role], "recent_failures": recent_failures(db, user.username, policy),
        "live_sessions": live_sessions, "live_tokens": live_tokens, **extra}, status_code=status_code)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: int, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
              db: GmcSession = DB) -> Response:
    """One user you administer: status, second factor, failed sign-ins, and the forms to change roles and access."""
    return _user_page(request, db, principal, user_id)


def _user_action(request: Request, db: GmcSession, principal: Principal, user_id: int, action,  # noqa: ANN001
                 done: str) -> Response:
    """Runs one audited lifecycle change on a user you administer and shows their page with what happened (or why
    not); another centre's user is not found."""
    user = lifecycle.require_user(db, user_id, principal=principal)
    try:
        with db.begin_nested():
            result = action(user)
    except DomainError as exc:
        return _user_page(request, db, principal, user_id, status_code=exc.status_code, message=exc.message,
                          message_kind="error")
    extra = {"temporary_password": result} if isinstance(result, str) else {}
    return _user_page(request, db, principal, user_id, message=done, message_kind="ok", **extra)


@router.post("/admin/users/{user_id}/roles")
def user_roles_submit(request: Request, user_id: int, roles: list[str] = Form([]),
                      principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                      db: GmcSession = DB) -> Response:
    """Replaces the user's roles."""
    return _user_action(request, db, principal, user_id, lambda u: lifecycle.set_roles(
        db, actor=principal.actor, user=u, roles=roles), "Roles saved.")


@router.post("/admin/users/{user_id}/password-reset")
def user_password_reset(request: Request, user_id: int,
                        principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                        db: GmcSession = DB) -> Response:
    """Gives the user a temporary password; their sessions and tokens end."""
    return _user_action(request, db, principal, user_id, lambda u: lifecycle.reset_password(db, actor=principal.actor, user=u),
                        "Password reset; the user was signed out everywhere.")


@router.post("/admin/users/{user_id}/second-factor-reset")
def user_second_factor_reset(request: Request, user_id: int,
                             principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                             db: GmcSession = DB) -> Response:
    """Forgets the user's authenticator (a lost phone)."""
    return _user_action(request, db, principal, user_id,
                        lambda u: lifecycle.reset_second_factor(db, actor=principal.actor, user=u),
                        "Two-step sign-in reset; the user was signed out everywhere.")


@router.post("/admin/users/{user_id}/deactivate")
def user_deactivate(request: Request, user_id: int, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                    db: GmcSession = DB) -> Response:
    """Deactivates a leaver at once."""
    return _user_action(request, db, principal, user_id,
                        lambda u: lifecycle.set_active(db, actor=principal.actor, user=u, active=False),
                        "Deactivated: sessions ended and API tokens revoked.")


@router.post("/admin/users/{user_id}/reactivate")
def user_reactivate(request: Request, user_id: int, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                    db: GmcSession = DB) -> Response:
    """Lets a deactivated user sign in again."""
    return _user_action(request, db, principal, user_id,
                        lambda u: lifecycle.set_active(db, actor=principal.actor, user=u, active=True),
                        "Reactivated.")


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
    database = request.app.state.database
    # The chain is checked as it stands, before this read adds its own event to it.
    report = (verify_audit(db, identity=database.identity, settings=database.settings)
              if verify and principal.has(Permission.USERS_MANAGE) else None)
    record_trail_read(db, principal, entity_type=state.filters.get("entity_type"), entity_id=None,
                      actor=state.filters.get("actor"), verb=state.filters.get("verb"), shown=len(page.items))
    return render(request, "admin/audit.html", {"page": page, "events": page.items, "report": report,
                                                "filters": state.filters, "total": audit_repository.count_events(db)})


@router.get("/organisations")
def organisations_page(request: Request, _: Principal = Depends(require(Permission.ORGANISATIONS_READ)),
                       db: GmcSession = DB) -> Response:
    """Centres and their trusts."""
    return render(request, "admin/organisations.html", {"centres": org_repository.list_centres(db)})


@router.get("/refdata")
def refdata_page(request: Request, _: Principal = Depends(get_principal)) -> Response:
    """The reference data this installation runs on: each set's release and origin, or what it is missing."""
    root = get_settings().refdata
    return render(request, "admin/refdata.html", {"root": root, "sets": refdata_status(root) if root else []})
