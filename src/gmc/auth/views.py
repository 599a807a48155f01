"""Web pages for signing in and out and for managing one's own API tokens."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from gmc.auth import repository, service
from gmc.auth.dependencies import CSRF_COOKIE, SESSION_COOKIE, get_principal, optional_principal
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, PermissionDenied
from gmc.common.nav import NavItem, register_nav
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB

router = APIRouter(include_in_schema=False)

register_nav(NavItem("API tokens", "/account/tokens", None, order=900, section="account"))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/", principal: Principal | None = Depends(optional_principal)) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    csrf_token: str = Form(""),
    db: GmcSession = DB,
) -> Response:
    """Checks the password, starts a session and sets its cookie."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise PermissionDenied("the sign-in form expired; reload the page and try again")
    settings = request.app.state.settings
    outcome = service.authenticate(db, username=username, password=password,
                                   lockout_threshold=settings.lockout_threshold,
                                   lockout_minutes=settings.lockout_minutes)
    if outcome.error is not None:
        # Rendered, not raised, so that the failure count and its audit event are committed.
        return render(request, "auth/login.html",
                      {"error": outcome.error.message, "next": _safe_next(next), "username": username},
                      status_code=outcome.error.status_code)
    assert outcome.user is not None
    key = service.start_web_session(db, user=outcome.user, minutes=settings.session_minutes)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, key, max_age=settings.session_minutes * 60, httponly=True,
                        secure=bool(settings.cookie_secure), samesite="lax", path="/")
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Ends the session and clears its cookie."""
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        service.end_web_session(db, key=key, actor=principal.actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/tokens")
def tokens_page(request: Request, principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Lists the caller's API tokens with a form to create one."""
    return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id)})


@router.post("/account/tokens")
def create_token_page(request: Request, name: str = Form(...), days: int = Form(90),
                      principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Creates a token and shows its secret once."""
    user = repository.get_user(db, principal.user_id)
    assert user is not None
    try:
        token, secret = service.create_token(db, actor=principal.actor, user=user, name=name, days=days)
    except DomainError as exc:
        return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id),
                      "message": exc.message, "message_kind": "error"}, status_code=exc.status_code)
    db.flush()
    return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id),
                  "new_secret": secret, "new_name": token.name}, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token_page(token_id: int, principal: Principal = Depends(get_principal),
                      db: GmcSession = DB) -> Response:
    """Revokes one of the caller's tokens."""
    service.revoke_token(db, actor=principal.actor, principal=principal, token_id=token_id)
    return RedirectResponse("/account/tokens", status_code=303)
