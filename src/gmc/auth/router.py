"""API routes for signing in, the caller, personal access tokens and users."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from gmc.audit.service import Actor
from gmc.auth import repository, service
from gmc.auth.dependencies import get_principal, require
from gmc.auth.models import User
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.schemas import AccessToken, MeOut, TokenCreate, TokenCreated, TokenOut, UserCreate, UserOut
from gmc.common.errors import NotFound
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB

router = APIRouter(prefix="/api", tags=["auth"])


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, full_name=user.full_name, email=user.email,
                   roles=user.role_names, centre_id=user.centre_id, centre_wide=user.centre_wide,
                   trust_ids=sorted(user.trust_ids), is_active=user.is_active)


@router.post("/auth/token", response_model=AccessToken)
def login_for_token(request: Request, form: OAuth2PasswordRequestForm = Depends(),
                    db: GmcSession = DB) -> AccessToken | JSONResponse:
    """Exchanges a username and password for a 12-hour API token (OAuth2 password flow)."""
    settings = request.app.state.settings
    outcome = service.authenticate(db, username=form.username, password=form.password,
                                   lockout_threshold=settings.lockout_threshold,
                                   lockout_minutes=settings.lockout_minutes)
    if outcome.error is not None:
        # Returned rather than raised so the failure count and audit event are committed.
        return JSONResponse(outcome.error.to_dict(), status_code=outcome.error.status_code,
                            headers={"WWW-Authenticate": "Bearer"})
    assert outcome.user is not None
    token, secret = service.create_token(db, actor=Actor(outcome.user.id, outcome.user.username),
                                         user=outcome.user, name="api-login", lifetime=timedelta(hours=12))
    return AccessToken(access_token=secret, expires_at=token.expires_at)


@router.get("/me", response_model=MeOut)
def me(principal: Principal = Depends(get_principal)) -> MeOut:
    """Who the caller is, with roles, permissions and trust scope."""
    return MeOut(user_id=principal.user_id, username=principal.username, full_name=principal.full_name,
                 roles=sorted(principal.roles), permissions=sorted(principal.permissions),
                 centre_id=principal.centre_id,
                 trust_scope=None if principal.trust_scope is None else sorted(principal.trust_scope),
                 auth_method=principal.auth_method)


@router.get("/tokens", response_model=list[TokenOut])
def list_my_tokens(principal: Principal = Depends(get_principal), db: GmcSession = DB) -> list[TokenOut]:
    """The caller's personal access tokens."""
    return [TokenOut.model_validate(t) for t in repository.list_tokens(db, principal.user_id)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_my_token(body: TokenCreate, principal: Principal = Depends(get_principal),
                    db: GmcSession = DB) -> TokenCreated:
    """Creates a personal access token for the caller; the secret is shown only in this answer."""
    user = repository.get_user(db, principal.user_id)
    if user is None:
        raise NotFound("your user no longer exists")
    token, secret = service.create_token(db, actor=principal.actor, user=user, name=body.name, days=body.days)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_my_token(token_id: int, principal: Principal = Depends(get_principal),
                    db: GmcSession = DB) -> TokenOut:
    """Revokes a token at once."""
    token = service.revoke_token(db, actor=principal.actor, principal=principal, token_id=token_id)
    return TokenOut.model_validate(token)


@router.get("/users", response_model=list[UserOut])
def list_users(principal: Principal = Depends(require(Permission.USERS_MANAGE)),
               db: GmcSession = DB) -> list[UserOut]:
    """The users you administer (a centre admin: its centre's); the read is audited."""
    return [_user_out(u) for u in service.users_for(db, principal=principal)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                db: GmcSession = DB) -> UserOut:
    """Creates a user with roles and trusts: a centre admin only of its own centre and trusts; users without a
    centre (national staff) only a national admin."""
    user = service.create_user(db, actor=principal.actor, username=body.username, password=body.password,
                               roles=body.roles, full_name=body.full_name, email=body.email,
                               centre_code=body.centre_code, trust_codes=body.trust_codes,
                               centre_wide=body.centre_wide, principal=principal)
    return _user_out(user)
