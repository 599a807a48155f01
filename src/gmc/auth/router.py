"""API routes for signing in, the caller, personal access tokens, and users and their lifecycle (admins)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from gmc.audit.service import Actor
from gmc.auth import lifecycle, repository, service
from gmc.auth.dependencies import SESSION_COOKIE, get_principal, require
from gmc.auth.models import User
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.schemas import (
    AccessToken,
    MeOut,
    PasswordChange,
    PasswordResetOut,
    RolesIn,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
)
from gmc.auth.throttle import ThrottlePolicy
from gmc.common.errors import DomainError, NotFound, PermissionDenied
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB

router = APIRouter(prefix="/api", tags=["auth"])
MANAGE = Depends(require(Permission.USERS_MANAGE))


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, full_name=user.full_name, email=user.email,
                   roles=user.role_names, centre_id=user.centre_id, centre_wide=user.centre_wide,
                   trust_ids=sorted(user.trust_ids), is_active=user.is_active,
                   second_factor=user.totp_enabled_at is not None, must_change_password=user.must_change_password,
                   last_login_at=user.last_login_at, deactivated_at=user.deactivated_at)


def _refused(error: DomainError, retry_after: int = 0) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"}
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(error.to_dict(), status_code=error.status_code, headers=headers)


@router.post("/auth/token", response_model=AccessToken)
def login_for_token(
    request: Request,
    username: str = Form(..., max_length=200),
    password: str = Form(..., max_length=1000),
    otp: str = Form("", max_length=40, description="The code from the authenticator app (or a recovery code), "
                    "for accounts with two-step sign-in"),
    grant_type: str | None = Form(None, pattern="^password$"),
    db: GmcSession = DB,
) -> AccessToken | JSONResponse:
    """Exchanges a username, password and (when two-step sign-in is on) a one-time code for a short-lived API
    token (OAuth2 password flow)."""
    settings = request.app.state.settings
    policy = ThrottlePolicy.from_settings(settings)
    address = request.client.host if request.client else None
    outcome = service.authenticate(db, username=username, password=password, address=address, policy=policy)
    if outcome.error is not None:
        # Returned rather than raised so the throttle counts and audit events are committed.
        return _refused(outcome.error, outcome.retry_after)
    user = outcome.user
    assert user is not None
    stage = outcome.stage
    if stage == service.SECOND_FACTOR:
        if not otp:
            return _refused(PermissionDenied("this account uses two-step sign-in: send the code from the "
                                             "authenticator app as the form field otp"))
        error = service.pass_second_factor(db, user=user, code=otp, address=address, policy=policy)
        if error is not None:
            return _refused(error)
        stage = service.stage_after(user, service.SECOND_FACTOR)
    if stage == service.ENROL:
        return _refused(PermissionDenied("administrators must set up two-step sign-in first: sign in on the web"))
    if stage == service.PASSWORD:
        return _refused(PermissionDenied("your password was reset: sign in on the web and choose a new one first"))
    hours = min(settings.api_login_token_hours, settings.token_max_days * 24)
    token, secret = service.create_token(db, actor=Actor(user.id, user.username), user=user, name="api-login",
                                         lifetime=timedelta(hours=hours), max_days=settings.token_max_days)
    return AccessToken(access_token=secret, expires_at=token.expires_at)


@router.get("/me", response_model=MeOut)
def me(principal: Principal = Depends(get_principal)) -> MeOut:
    """Who the caller is, with roles, permissions and trust scope."""
    return MeOut(user_id=principal.user_id, username=principal.username, full_name=principal.full_name,
                 roles=sorted(principal.roles), permissions=sorted(principal.permissions),
                 centre_id=principal.centre_id,
                 trust_scope=None if principal.trust_scope is None else sorted(principal.trust_scope),
                 auth_method=principal.auth_method)


@router.post("/me/password", status_code=204, response_model=None)
def change_my_password(request: Request, body: PasswordChange, principal: Principal = Depends(get_principal),
                       db: GmcSession = DB) -> Response:
    """Changes the caller's password (the current one is needed, throttled like a sign-in); their other browser
    sessions end."""
    user = lifecycle.require_user(db, principal.user_id)
    refused = lifecycle.check_current_password(db, user=user, current=body.current_password,
                                               address=request.client.host if request.client else None,
                                               policy=ThrottlePolicy.from_settings(request.app.state.settings))
    if refused is not None:
        return JSONResponse(refused.to_dict(), status_code=refused.status_code)  # the failure is committed
    key = request.cookies.get(SESSION_COOKIE) if principal.auth_method == "session" else None
    with db.begin_nested():
        lifecycle.change_password(db, user=user, new=body.new_password,
                                  keep_session_hash=service.session_hash(key) if key else None)
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut])
def list_my_tokens(principal: Principal = Depends(get_principal), db: GmcSession = DB) -> list[TokenOut]:
    """The caller's personal access tokens."""
    return [TokenOut.model_validate(t) for t in repository.list_tokens(db, principal.user_id)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_my_token(request: Request, body: TokenCreate, principal: Principal = Depends(get_principal),
                    db: GmcSession = DB) -> TokenCreated:
    """Creates a personal access token for the caller (at most GMC_TOKEN_MAX_DAYS); the secret is shown only in
    this answer."""
    user = repository.get_user(db, principal.user_id)
    if user is None:
        raise NotFound("your user no longer exists")
    token, secret = service.create_token(db, actor=principal.actor, user=user, name=body.name, days=body.days,
                                         max_days=request.app.state.settings.token_max_days)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_my_token(token_id: int, principal: Principal = Depends(get_principal),
                    db: GmcSession = DB) -> TokenOut:
    """Revokes a token at once."""
    token = service.revoke_token(db, actor=principal.actor, principal=principal, token_id=token_id)
    return TokenOut.model_validate(token)


@router.get("/users", response_model=list[UserOut])
def list_users(_: Principal = MANAGE, db: GmcSession = DB) -> list[UserOut]:
    """Every user (admins only)."""
    return [_user_out(u) for u in repository.list_users(db)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, principal: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """Creates a user with roles and trusts (admins only)."""
    user = service.create_user(db, actor=principal.actor, username=body.username, password=body.password,
                               roles=body.roles, full_name=body.full_name, email=body.email,
                               centre_code=body.centre_code, trust_codes=body.trust_codes,
                               centre_wide=body.centre_wide)
    return _user_out(user)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: int, _: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """One user (admins only)."""
    return _user_out(lifecycle.require_user(db, user_id))


@router.put("/users/{user_id}/roles", response_model=UserOut)
def set_roles(user_id: int, body: RolesIn, principal: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """Replaces a user's roles (audited; effective on their next request)."""
    user = lifecycle.require_user(db, user_id)
    lifecycle.set_roles(db, actor=principal.actor, user=user, roles=body.roles)
    return _user_out(user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate(user_id: int, principal: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """Deactivates a leaver: their sessions and tokens end at once (audited)."""
    user = lifecycle.require_user(db, user_id)
    lifecycle.set_active(db, actor=principal.actor, user=user, active=False)
    return _user_out(user)


@router.post("/users/{user_id}/reactivate", response_model=UserOut)
def reactivate(user_id: int, principal: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """Lets a deactivated user sign in again (audited)."""
    user = lifecycle.require_user(db, user_id)
    lifecycle.set_active(db, actor=principal.actor, user=user, active=True)
    return _user_out(user)


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut)
def reset_password(user_id: int, principal: Principal = MANAGE, db: GmcSession = DB) -> PasswordResetOut:
    """Gives the user a temporary password (shown once) to change at their next sign-in; their sessions and
    tokens end (audited)."""
    user = lifecycle.require_user(db, user_id)
    temporary = lifecycle.reset_password(db, actor=principal.actor, user=user)
    return PasswordResetOut(user=_user_out(user), temporary_password=temporary)


@router.post("/users/{user_id}/second-factor-reset", response_model=UserOut)
def reset_second_factor(user_id: int, principal: Principal = MANAGE, db: GmcSession = DB) -> UserOut:
    """Forgets a user's authenticator (a lost phone); their sessions and tokens end (audited)."""
    user = lifecycle.require_user(db, user_id)
    lifecycle.reset_second_factor(db, actor=principal.actor, user=user)
    return _user_out(user)
