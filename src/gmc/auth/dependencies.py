"""FastAPI dependencies that authenticate the caller and guard each route by permission."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gmc.auth import service
from gmc.auth.principal import Principal
from gmc.common.errors import NotAuthenticated, PermissionDenied
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB

SESSION_COOKIE = "gmc_session"
CSRF_COOKIE = "gmc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def check_csrf(request: Request) -> None:
    """Refuses an unsafe cookie-authenticated request whose CSRF token does not match its cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise PermissionDenied("the form's security token is missing or stale; reload the page and try again")


def _resolve(db: GmcSession, header: str | None, key: str | None,
             token_max_days: int) -> tuple[Principal | None, bool]:
    """Looks the credentials up (blocking database work); returns the principal and whether a cookie was used."""
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise NotAuthenticated("use an Authorization: Bearer <token> header")
        found = service.user_for_token(db, credential.strip(), max_days=token_max_days)
        if found is None:
            raise NotAuthenticated("the API token is invalid, expired or revoked")
        user, token = found
        return service.principal_for(db, user, auth_method="token", token_id=token.id), False
    if not key:
        return None, False
    user = service.user_for_web_session(db, key)
    if user is None:
        return None, False
    return service.principal_for(db, user, auth_method="session"), True


async def _authenticate(request: Request, db: GmcSession) -> Principal | None:
    """The principal behind a bearer token or session cookie; None when no credentials were sent."""
    # The lookups block, so they run in the thread pool: on the event loop they would stall every
    # other request whenever the connection pool is busy.
    principal, by_cookie = await run_in_threadpool(_resolve, db, request.headers.get("authorization"),
                                                   request.cookies.get(SESSION_COOKIE),
                                                   request.app.state.settings.token_max_days)
    if by_cookie and request.method not in SAFE_METHODS:
        await check_csrf(request)
    return principal


async def optional_principal(request: Request, db: GmcSession = DB) -> Principal | None:
    """The caller if signed in, else None (for pages open to everyone, such as the login page)."""
    principal = await _authenticate(request, db)
    request.state.principal = principal
    return principal


async def get_principal(request: Request, db: GmcSession = DB) -> Principal:
    """The signed-in caller; 401 when there are no valid credentials."""
    principal = await _authenticate(request, db)
    if principal is None:
        raise NotAuthenticated("sign in first, or send an API token")
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that lets the request through only when the caller holds the permission."""

    def _guard(principal: Principal = Depends(get_principal)) -> Principal:
        if not principal.has(permission):
            raise PermissionDenied(f"your role does not allow {permission}")
        return principal

    _guard.__name__ = f"require_{str(permission).replace(':', '_')}"
    return _guard
