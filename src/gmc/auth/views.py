"""Web pages for signing in (password, then the second factor), the account's security, and API tokens."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from gmc.audit.service import Actor
from gmc.auth import lifecycle, repository, second_factor, service, totp
from gmc.auth.dependencies import CSRF_COOKIE, SESSION_COOKIE, get_principal, optional_principal
from gmc.auth.models import User
from gmc.auth.passwords import MIN_PASSWORD_LENGTH
from gmc.auth.permissions import Role
from gmc.auth.principal import Principal
from gmc.auth.throttle import ThrottlePolicy
from gmc.common.errors import DomainError, NotAuthenticated, PermissionDenied
from gmc.common.nav import NavItem, register_nav
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Sign-in and security", "/account/security", None, order=890, section="account"))
register_nav(NavItem("API tokens", "/account/tokens", None, order=900, section="account"))

#: Where a session at each stage goes next.
STAGE_PAGES = {service.SECOND_FACTOR: "/login/second-factor", service.ENROL: "/account/second-factor",
               service.PASSWORD: "/account/password"}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _check_form_csrf(request: Request, sent: str) -> None:
    """The form's token must match its cookie (pages before sign-in have no principal to check it for them)."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise PermissionDenied("the form expired; reload the page and try again")


def _policy(request: Request) -> ThrottlePolicy:
    return ThrottlePolicy.from_settings(request.app.state.settings)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _stage_target(stage: str, next_path: str) -> str:
    """The page a session at this stage goes to (where the user was going, once signed in)."""
    return _safe_next(next_path) if stage == service.FULL else f"{STAGE_PAGES[stage]}?next={_safe_next(next_path)}"


def _set_session_cookie(request: Request, response: Response, key: str, stage: str) -> Response:
    settings = request.app.state.settings
    minutes = settings.session_minutes if stage == service.FULL else service.PENDING_MINUTES
    response.set_cookie(SESSION_COOKIE, key, max_age=minutes * 60, httponly=True,
                        secure=bool(settings.cookie_secure), samesite="lax", path="/")
    return response


def _go_to_stage(request: Request, key: str, stage: str, next_path: str) -> Response:
    """Redirects to the page of the session's stage (or where the user was going) and sets the session cookie."""
    return _set_session_cookie(request, RedirectResponse(_stage_target(stage, next_path), status_code=303), key,
                               stage)


def _pending(request: Request, db: GmcSession, stage: str) -> User | None:
    """The user of the request's session when it waits at this stage."""
    key = request.cookies.get(SESSION_COOKIE)
    return service.web_session_user(db, key, stage=stage) if key else None


@router.get("/login")
def login_page(request: Request, next: str = "/", principal: Principal | None = Depends(optional_principal)) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    username: str = Form(..., max_length=200),
    password: str = Form(..., max_length=1000),
    next: str = Form("/"),
    csrf_token: str = Form(""),
    db: GmcSession = DB,
) -> Response:
    """Checks the password (throttled; the same answer and time for unknown names), then starts a session at the
    first stage the user still has to pass."""
    _check_form_csrf(request, csrf_token)
    settings = request.app.state.settings
    outcome = service.authenticate(db, username=username, password=password, address=_address(request),
                                   policy=_policy(request))
    if outcome.error is not None:
        # Rendered, not raised, so that the throttle counts and the audit events are committed.
        response = render(request, "auth/login.html",
                          {"error": outcome.error.message, "next": _safe_next(next), "username": username},
                          status_code=outcome.error.status_code)
        if outcome.retry_after:
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    assert outcome.user is not None
    key = service.start_web_session(db, user=outcome.user, minutes=settings.session_minutes, stage=outcome.stage)
    return _go_to_stage(request, key, outcome.stage, next)


@router.get("/login/second-factor")
def second_factor_page(request: Request, next: str = "/", db: GmcSession = DB) -> Response:
    """Asks for the code from the authenticator app (after a correct password)."""
    if _pending(request, db, service.SECOND_FACTOR) is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    return render(request, "auth/second_factor.html", {"next": _safe_next(next)})


@router.post("/login/second-factor")
def second_factor_submit(request: Request, code: str = Form(..., max_length=40), next: str = Form("/"),
                         csrf_token: str = Form(""), db: GmcSession = DB) -> Response:
    """Checks the TOTP or recovery code and moves the session on (signed in, or the next stage)."""
    _check_form_csrf(request, csrf_token)
    user = _pending(request, db, service.SECOND_FACTOR)
    if user is None:
        return RedirectResponse(f"/login?next={_safe_next(next)}", status_code=303)
    error = service.pass_second_factor(db, user=user, code=code, address=_address(request), policy=_policy(request))
    if error is not None:
        return render(request, "auth/second_factor.html", {"error": error.message, "next": _safe_next(next)},
                      status_code=error.status_code)
    key, stage = service.advance_web_session(db, key=request.cookies[SESSION_COOKIE], user=user,
                                             passed=service.SECOND_FACTOR,
                                             minutes=request.app.state.settings.session_minutes)
    return _go_to_stage(request, key, stage, next)


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form(""), db: GmcSession = DB) -> Response:
    """Ends the session (signed in or still at a sign-in stage) and clears its cookie."""
    _check_form_csrf(request, csrf_token)
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        user = service.user_for_web_session(db, key) or next(
            (u for s in STAGE_PAGES if (u := service.web_session_user(db, key, stage=s)) is not None), None)
        if user is not None:
            service.end_web_session(db, key=key, actor=Actor(user.id, user.username))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account_user(request: Request, db: GmcSession, principal: Principal | None, stage: str) -> User:
    """The signed-in user, or the user whose session waits at this stage; otherwise sign in first."""
    if principal is not None:
        user = repository.get_user(db, principal.user_id)
        if user is not None:
            return user
    user = _pending(request, db, stage)
    if user is None:
        raise NotAuthenticated("sign in first")
    return user


@router.get("/account/second-factor")
def enrol_page(request: Request, next: str = "/", principal: Principal | None = Depends(optional_principal),
               db: GmcSession = DB) -> Response:
    """Shows a new setup key as a QR code, for signed-in users and administrators who must set one up."""
    user = _account_user(request, db, principal, service.ENROL)
    if user.totp_enabled_at is not None:
        return RedirectResponse("/account/security", status_code=303)
    secret = totp.new_secret()
    return _enrol_form(request, user, secret, next, required=principal is None)


def _enrol_form(request: Request, user: User, secret: str, next: str, *, required: bool, error: str | None = None,
                status_code: int = 200) -> Response:
    uri = totp.provisioning_uri(secret, user.username)
    return render(request, "auth/enrol.html", {
        "qr_svg": totp.qr_svg(uri), "secret_grouped": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "pending": second_factor.sign_pending(request.app.state.settings.secret_key, user.id, secret),
        "next": _safe_next(next), "required": required, "error": error}, status_code=status_code)


@router.post("/account/second-factor")
def enrol_submit(request: Request, pending: str = Form(..., max_length=200), code: str = Form(..., max_length=20),
                 next: str = Form("/"), csrf_token: str = Form(""),
                 principal: Principal | None = Depends(optional_principal), db: GmcSession = DB) -> Response:
    """Turns two-step sign-in on when the code matches, and shows the recovery codes once."""
    _check_form_csrf(request, csrf_token)
    user = _account_user(request, db, principal, service.ENROL)
    secret = second_factor.open_pending(request.app.state.settings.secret_key, user.id, pending)
    try:
        codes = second_factor.enrol(db, actor=Actor(user.id, user.username), user=user, secret=secret,
                                    code=code)
    except DomainError as exc:
        return _enrol_form(request, user, secret, next, required=principal is None, error=exc.message,
                           status_code=exc.status_code)
    if principal is not None:
        return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/account/security"})
    key, stage = service.advance_web_session(db, key=request.cookies[SESSION_COOKIE], user=user, passed=service.ENROL,
                                             minutes=request.app.state.settings.session_minutes)
    page = render(request, "auth/recovery_codes.html", {"codes": codes, "next": _stage_target(stage, next)})
    return _set_session_cookie(request, page, key, stage)


@router.get("/account/password")
def password_page(request: Request, next: str = "/", principal: Principal | None = Depends(optional_principal),
                  db: GmcSession = DB) -> Response:
    """The form to change one's password (required after an administrator's reset)."""
    _account_user(request, db, principal, service.PASSWORD)
    return render(request, "auth/password.html", {"next": _safe_next(next), "required": principal is None,
                                                  "min_length": MIN_PASSWORD_LENGTH})


@router.post("/account/password")
def password_submit(request: Request, current_password: str = Form(..., max_length=1000),
                    new_password: str = Form(..., max_length=1000), next: str = Form("/"),
                    csrf_token: str = Form(""), principal: Principal | None = Depends(optional_principal),
                    db: GmcSession = DB) -> Response:
    """Changes the password; other sessions end; a session that had to change it is signed in."""
    _check_form_csrf(request, csrf_token)
    user = _account_user(request, db, principal, service.PASSWORD)
    key = request.cookies.get(SESSION_COOKIE, "")
    try:
        refused = lifecycle.check_current_password(db, user=user, current=current_password,
                                                   address=_address(request), policy=_policy(request))
        if refused is not None:
            raise refused
        with db.begin_nested():
            lifecycle.change_password(db, user=user, new=new_password, keep_session_hash=service.session_hash(key))
    except DomainError as exc:
        return render(request, "auth/password.html", {"error": exc.message, "next": _safe_next(next),
                      "required": principal is None, "min_length": MIN_PASSWORD_LENGTH},
                      status_code=exc.status_code)
    if principal is None:
        new_key, stage = service.advance_web_session(db, key=key, user=user, passed=service.PASSWORD,
                                                     minutes=request.app.state.settings.session_minutes)
        return _go_to_stage(request, new_key, stage, next)
    return render(request, "auth/security.html", {**_security_context(db, user), "message": "Password changed; "
                  "your other sessions were signed out.", "message_kind": "ok"})


def _security_context(db: GmcSession, user: User) -> dict[str, object]:
    return {"user": user, "unused_codes": second_factor.unused_recovery_codes(db, user.id),
            "can_disable": Role.ADMIN.value not in user.role_names}


@router.get("/account/security")
def security_page(request: Request, principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Password and two-step sign-in of the signed-in user."""
    user = _account_user(request, db, principal, service.FULL)
    return render(request, "auth/security.html", _security_context(db, user))


@router.post("/account/recovery-codes")
def recovery_codes_submit(request: Request, code: str = Form(..., max_length=20),
                          principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Replaces the recovery codes after a current code from the app."""
    user = _account_user(request, db, principal, service.FULL)
    try:
        with db.begin_nested():
            codes = second_factor.regenerate_recovery_codes(db, actor=principal.actor, user=user, code=code)
    except DomainError as exc:
        return render(request, "auth/security.html", {**_security_context(db, user), "message": exc.message,
                      "message_kind": "error"}, status_code=exc.status_code)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/account/security"})


@router.post("/account/second-factor/disable")
def disable_submit(request: Request, password: str = Form(..., max_length=1000), code: str = Form(..., max_length=20),
                   principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Turns two-step sign-in off (roles that require it cannot)."""
    user = _account_user(request, db, principal, service.FULL)
    try:
        with db.begin_nested():
            second_factor.disable(db, actor=principal.actor, user=user, password=password, code=code)
    except DomainError as exc:
        return render(request, "auth/security.html", {**_security_context(db, user), "message": exc.message,
                      "message_kind": "error"}, status_code=exc.status_code)
    return render(request, "auth/security.html", {**_security_context(db, user),
                  "message": "Two-step sign-in is off.", "message_kind": "ok"})


@router.get("/account/tokens")
def tokens_page(request: Request, principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Lists the caller's API tokens with a form to create one."""
    return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id),
                                                "max_days": request.app.state.settings.token_max_days})


@router.post("/account/tokens")
def create_token_page(request: Request, name: str = Form(..., max_length=100), days: int = Form(90, ge=1, le=36500),
                      principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """Creates a token and shows its secret once."""
    user = repository.get_user(db, principal.user_id)
    assert user is not None
    max_days = request.app.state.settings.token_max_days
    try:
        token, secret = service.create_token(db, actor=principal.actor, user=user, name=name, days=days,
                                             max_days=max_days)
    except DomainError as exc:
        return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id),
                      "message": exc.message, "message_kind": "error", "max_days": max_days},
                      status_code=exc.status_code)
    db.flush()
    return render(request, "auth/tokens.html", {"tokens": repository.list_tokens(db, principal.user_id),
                  "new_secret": secret, "new_name": token.name, "max_days": max_days}, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token_page(token_id: int, principal: Principal = Depends(get_principal),
                      db: GmcSession = DB) -> Response:
    """Revokes one of the caller's tokens."""
    service.revoke_token(db, actor=principal.actor, principal=principal, token_id=token_id)
    return RedirectResponse("/account/tokens", status_code=303)
