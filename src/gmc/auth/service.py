"""Authentication rules: users, throttled sign-in in stages, web sessions and API tokens. Never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import repository, second_factor, throttle
from gmc.auth.models import ApiToken, User, UserRole, UserTrust, WebSession
from gmc.auth.passwords import check_password, hash_password, verify_password
from gmc.auth.permissions import Role, permissions_for
from gmc.auth.principal import Principal
from gmc.auth.throttle import ThrottlePolicy
from gmc.common.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
    ValidationFailed,
)
from gmc.common.time import as_utc, utcnow
from gmc.organisations import repository as org_repository
from gmc.organisations import service as org_service
from gmc.settings import get_settings

TOKEN_PREFIX = "gmc_pat_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def session_hash(key: str) -> str:
    """How a web session's cookie value is stored."""
    return _sha256(key)


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    roles: list[str],
    full_name: str = "",
    email: str | None = None,
    centre_code: str | None = None,
    trust_codes: list[str] | None = None,
    centre_wide: bool = False,
) -> User:
    """Creates a user with roles and trusts; refuses bad names, weak passwords and unknown codes."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationFailed("username must be 2-80 characters: letters, digits, dot, dash, underscore",
                               field="username")
    check_password(password, user_inputs=[username, full_name, email or ""])
    if not roles:
        raise ValidationFailed("a user needs at least one role", field="roles")
    for role in roles:
        if role not in {r.value for r in Role}:
            raise ValidationFailed(f"unknown role {role!r}; roles are {', '.join(r.value for r in Role)}",
                                   field="roles")
    if repository.get_user_by_username(session, username) is not None:
        raise Conflict(f"a user named {username!r} already exists", field="username")
    centre = org_service.require_centre(session, centre_code) if centre_code else None
    trusts = [org_service.require_trust(session, code) for code in (trust_codes or [])]
    for trust in trusts:
        if centre is not None and trust.centre_id != centre.id:
            raise ValidationFailed(f"trust {trust.code} is not part of centre {centre.code}", field="trust_codes")
    if centre is None and trusts:
        centre = trusts[0].centre
    if not centre_wide and not trusts and centre is not None:
        raise ValidationFailed("a user of a centre needs at least one trust, or centre-wide access",
                               field="trust_codes")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        centre_id=centre.id if centre else None,
        centre_wide=centre_wide or centre is None,
        created_at=utcnow(),
        roles=[UserRole(role=r) for r in sorted(set(roles))],
        trusts=[UserTrust(trust_id=t.id) for t in trusts],
    )
    session.add(user)
    session.flush()
    record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="user", entity_id=user.id,
           summary={"username": username, "roles": sorted(set(roles)), "trusts": [t.code for t in trusts],
                    "centre": centre.code if centre else None, "centre_wide": user.centre_wide})
    return user


def principal_for(session: Session, user: User, *, auth_method: str, token_id: int | None = None) -> Principal:
    """Builds the caller's principal: permissions from roles, scope from trusts or centre."""
    if user.centre_wide:
        scope = None if user.centre_id is None else frozenset(org_repository.trust_ids_of_centre(session, user.centre_id))
    else:
        scope = frozenset(user.trust_ids)
    return Principal(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        roles=frozenset(user.role_names),
        permissions=permissions_for(user.role_names),
        centre_id=user.centre_id,
        trust_scope=scope,
        auth_method=auth_method,
        token_id=token_id,
    )


#: Session stages after the password, in the order a user passes them; only FULL signs in.
SECOND_FACTOR, ENROL, PASSWORD, FULL = "second_factor", "enrol", "password", "full"
#: A session waiting at a stage lives this long.
PENDING_MINUTES = 10


def stages_required(user: User) -> list[str]:
    """What the user must still pass after a correct password: their second factor, setting one up (admins
    without one), a new password (after an administrator's reset); then FULL."""
    stages = []
    if user.totp_enabled_at is not None:
        stages.append(SECOND_FACTOR)
    elif Role.ADMIN.value in user.role_names:
        stages.append(ENROL)
    if user.must_change_password:
        stages.append(PASSWORD)
    return [*stages, FULL]


def stage_after(user: User, passed: str) -> str:
    """The stage that follows the one just passed."""
    order = [SECOND_FACTOR, ENROL, PASSWORD, FULL]
    return next(s for s in stages_required(user) if order.index(s) > order.index(passed))


@dataclass
class LoginOutcome:
    """The result of a login attempt: a user and the stage to start at on success, otherwise the error to show."""

    user: User | None
    error: DomainError | None
    stage: str = FULL
    retry_after: int = 0


def authenticate(session: Session, *, username: str, password: str, address: str | None,
                 policy: ThrottlePolicy) -> LoginOutcome:
    """Checks a password with the same work whatever the username, throttled by account and by address.

    Failures are recorded (throttle, audit) and must be committed by the caller even though the login is refused,
    which is why this returns an outcome instead of raising. An unknown name, a wrong password and a deactivated
    account get the same answer in the same time; a throttled attempt is refused before any password is checked,
    whether or not the name exists.
    """
    attempt = throttle.begin_attempt(session, username=username, address=address, policy=policy)
    if attempt.wait:
        return LoginOutcome(None, TooManyAttempts(
            f"too many failed sign-in attempts for this account or from this address; try again in "
            f"{attempt.wait} seconds"), retry_after=attempt.wait)
    user = repository.get_user_by_username(session, username)
    matches = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not matches or not user.is_active:
        _login_failed(session, user, attempt, "wrong password" if user is not None else "unknown username")
        return LoginOutcome(None, NotAuthenticated("wrong username or password"))
    throttle.succeeded(session, attempt)
    stage = stages_required(user)[0]
    if stage == FULL:
        _signed_in(session, user, second_factor=None)
    return LoginOutcome(user, None, stage=stage)


def _login_failed(session: Session, user: User | None, attempt: throttle.Attempt, reason: str) -> None:
    """Audits a failed attempt (and the delay it started); never names the account tried if it does not exist."""
    actor = Actor(user.id, user.username) if user is not None else Actor.system("auth")
    if user is not None and not user.is_active:
        reason = "deactivated account"
    record(session, actor=actor, verb=AuditVerb.LOGIN_FAILED, entity_type="user",
           entity_id=user.id if user is not None else None, summary={"reason": reason})
    if attempt.started:
        record(session, actor=Actor.system("auth"), verb=AuditVerb.LOGIN_THROTTLED, entity_type="user",
               entity_id=user.id if user is not None else None, summary={"seconds": attempt.started})


def _signed_in(session: Session, user: User, *, second_factor: str | None) -> None:
    user.last_login_at = utcnow()
    record(session, actor=Actor(user.id, user.username), verb=AuditVerb.LOGIN, entity_type="user", entity_id=user.id,
           summary={"second_factor": second_factor} if second_factor else None)


def pass_second_factor(session: Session, *, user: User, code: str, address: str | None,
                       policy: ThrottlePolicy) -> DomainError | None:
    """Checks a TOTP or recovery code at sign-in, throttled like passwords; None when it is right."""
    attempt = throttle.begin_attempt(session, username=user.username, address=address, policy=policy)
    if attempt.wait:
        return TooManyAttempts(f"too many failed attempts; try again in {attempt.wait} seconds")
    used = second_factor.check_code(session, user=user, code=code)
    if used is None:
        _login_failed(session, user, attempt, "wrong second factor")
        return NotAuthenticated("that code is not right (or was used already); enter the current one")
    throttle.succeeded(session, attempt)
    if stage_after(user, SECOND_FACTOR) == FULL:
        _signed_in(session, user, second_factor=used)
    return None


def start_web_session(session: Session, *, user: User, minutes: int, stage: str = FULL) -> str:
    """Creates a web session at a stage and returns the cookie value (only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = minutes if stage == FULL else min(minutes, PENDING_MINUTES)
    session.add(WebSession(session_hash=_sha256(key), user_id=user.id, created_at=now, stage=stage,
                           expires_at=now + timedelta(minutes=lifetime)))
    return key


def advance_web_session(session: Session, *, key: str, user: User, passed: str, minutes: int) -> tuple[str, str]:
    """Replaces a session that passed a stage by one at the next stage (a new key: no session fixation).

    Returns the new key and its stage; reaching FULL after the last stage records the sign-in.
    """
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is not None:
        ws.revoked_at = utcnow()
    stage = stage_after(user, passed)
    if stage == FULL and passed != SECOND_FACTOR:
        _signed_in(session, user, second_factor="totp" if user.totp_enabled_at else None)
    return start_web_session(session, user=user, minutes=minutes, stage=stage), stage


def web_session_user(session: Session, key: str, *, stage: str = FULL) -> User | None:
    """The user of a live web session cookie at this stage, or None when unknown, expired, revoked or elsewhere."""
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is None or ws.revoked_at is not None or as_utc(ws.expires_at) <= utcnow() or ws.stage != stage:
        return None
    user = repository.get_user(session, ws.user_id)
    return user if user is not None and user.is_active else None


def user_for_web_session(session: Session, key: str) -> User | None:
    """The signed-in user of a web session cookie (a session at a pending stage signs no one in)."""
    return web_session_user(session, key, stage=FULL)


def web_session_stage(session: Session, key: str) -> str | None:
    """The stage of a live session, or None."""
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is None or ws.revoked_at is not None or as_utc(ws.expires_at) <= utcnow():
        return None
    return ws.stage


def end_web_session(session: Session, *, key: str, actor: Actor) -> None:
    """Revokes a web session (logout)."""
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        record(session, actor=actor, verb=AuditVerb.LOGOUT, entity_type="user", entity_id=ws.user_id)


def create_token(
    session: Session, *, actor: Actor, user: User, name: str, days: int | None = 90,
    lifetime: timedelta | None = None, max_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Creates a personal access token that expires within GMC_TOKEN_MAX_DAYS; returns the row and the secret."""
    cap = max_days if max_days is not None else get_settings().token_max_days
    if not name.strip():
        raise ValidationFailed("a token needs a name", field="name")
    if lifetime is None:
        if days is None:
            raise ValidationFailed(f"tokens must expire: give days (at most {cap})", field="days")
        if days <= 0:
            raise ValidationFailed("days must be positive", field="days")
        if days > cap:
            raise ValidationFailed(f"tokens may last at most {cap} days (GMC_TOKEN_MAX_DAYS)", field="days")
        lifetime = timedelta(days=days)
    lifetime = min(lifetime, timedelta(days=cap))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_sha256(secret), prefix=secret[:12],
                     created_at=now, expires_at=now + lifetime)
    session.add(token)
    session.flush()
    record(session, actor=actor, verb=AuditVerb.TOKEN_CREATE, entity_type="api_token", entity_id=token.id,
           summary={"user": user.username, "name": token.name, "expires_at": token.expires_at.isoformat()})
    return token, secret


def token_expiry(token: ApiToken, max_days: int) -> datetime:
    """When a token stops working: its own expiry, but never later than GMC_TOKEN_MAX_DAYS after its creation
    (tokens made before the cap, without an expiry, included)."""
    capped = as_utc(token.created_at) + timedelta(days=max_days)
    return capped if token.expires_at is None else min(as_utc(token.expires_at), capped)


def user_for_token(session: Session, secret: str, *, max_days: int | None = None) -> tuple[User, ApiToken] | None:
    """The user and token for a bearer secret, or None when unknown, expired, revoked or its user deactivated."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = repository.get_token_by_hash(session, _sha256(secret))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token_expiry(token, max_days if max_days is not None else get_settings().token_max_days) <= now:
        return None
    user = repository.get_user(session, token.user_id)
    if user is None or not user.is_active:
        return None
    # Written at most once a minute: a write on every request would make concurrent requests with the
    # same token queue on this one row.
    if token.last_used_at is None or now - as_utc(token.last_used_at) > timedelta(minutes=1):
        token.last_used_at = now
    return user, token


def revoke_token(session: Session, *, actor: Actor, principal: Principal, token_id: int) -> ApiToken:
    """Revokes one of the caller's tokens (admins may revoke anyone's)."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != principal.user_id and not principal.has("users:manage")):
        raise NotFound(f"no token {token_id}", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=actor, verb=AuditVerb.TOKEN_REVOKE, entity_type="api_token", entity_id=token.id)
    return token
