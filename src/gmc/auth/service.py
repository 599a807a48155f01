"""Authentication rules: users, login with lockout, web sessions and API tokens. Never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import repository, scope
from gmc.auth.models import ApiToken, User, UserRole, UserTrust, WebSession
from gmc.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from gmc.auth.permissions import Role, permissions_for
from gmc.auth.principal import Principal
from gmc.common.errors import (
    AccountLocked,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gmc.common.time import as_utc, utcnow
from gmc.organisations import repository as org_repository
from gmc.organisations import service as org_service

TOKEN_PREFIX = "gmc_pat_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


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
    principal: Principal | None = None,
) -> User:
    """Creates a user with roles and trusts; refuses bad names, weak passwords and unknown codes.

    principal: the admin creating the user (None: the command line's operator). A centre admin creates users
    only of its own centre and trusts; national users (no centre) come only from a national admin or the CLI.
    """
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationFailed("username must be 2-80 characters: letters, digits, dot, dash, underscore",
                               field="username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
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
    if principal is not None and not scope.may_manage_user(principal, centre.id if centre else None,
                                                           [t.id for t in trusts], centre_wide or centre is None):
        if centre is None:
            raise PermissionDenied("a user without a centre is national staff: only a national admin or the "
                                   "command line creates one")
        raise PermissionDenied("you may create users only of your own centre and of the trusts you administer")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password),
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


def users_for(session: Session, *, principal: Principal) -> list[User]:
    """The users the caller administers (a centre admin: its centre's), by username; the read is audited."""
    users = [u for u in repository.list_users(session)
             if scope.may_manage_user(principal, u.centre_id, u.trust_ids, u.centre_wide)]
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="user",
           summary={"results": len(users)})
    return users


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
        centre_wide=bool(user.centre_wide),
    )


@dataclass
class LoginOutcome:
    """The result of a login attempt: a user on success, otherwise the error to show."""

    user: User | None
    error: NotAuthenticated | AccountLocked | None


def authenticate(session: Session, *, username: str, password: str, lockout_threshold: int,
                 lockout_minutes: int) -> LoginOutcome:
    """Checks a password, counting failures and locking the account after too many in a row.

    Failures are recorded (counter, lock, audit) and must be committed by the caller even though
    the login is refused, which is why this returns an outcome instead of raising.
    """
    user = repository.get_user_by_username(session, username)
    now = utcnow()
    if user is not None and user.locked_until is not None and as_utc(user.locked_until) > now:
        record(session, actor=Actor(user.id, user.username), verb=AuditVerb.LOGIN_FAILED, entity_type="user",
               entity_id=user.id, summary={"reason": "locked"})
        minutes = max(1, int((as_utc(user.locked_until) - now).total_seconds() // 60) + 1)
        return LoginOutcome(None, AccountLocked(
            f"this account is locked after repeated failed logins; try again in {minutes} minutes"))
    if user is None or not user.is_active or not verify_password(user.password_hash if user else None, password):
        if user is not None:
            user.failed_login_count += 1
            record(session, actor=Actor(user.id, user.username), verb=AuditVerb.LOGIN_FAILED, entity_type="user",
                   entity_id=user.id, summary={"failed_in_a_row": user.failed_login_count})
            if user.failed_login_count >= lockout_threshold:
                user.locked_until = now + timedelta(minutes=lockout_minutes)
                user.failed_login_count = 0
                record(session, actor=Actor.system("auth"), verb=AuditVerb.ACCOUNT_LOCKED, entity_type="user",
                       entity_id=user.id, summary={"minutes": lockout_minutes})
        else:
            record(session, actor=Actor.system("auth"), verb=AuditVerb.LOGIN_FAILED, entity_type="user",
                   summary={"reason": "unknown username"})
        return LoginOutcome(None, NotAuthenticated("wrong username or password"))
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, actor=Actor(user.id, user.username), verb=AuditVerb.LOGIN, entity_type="user", entity_id=user.id)
    return LoginOutcome(user, None)


def start_web_session(session: Session, *, user: User, minutes: int) -> str:
    """Creates a web session and returns the cookie value (only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(session_hash=_sha256(key), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(minutes=minutes)))
    return key


def user_for_web_session(session: Session, key: str) -> User | None:
    """The user of a live web session cookie, or None when unknown, expired or revoked."""
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is None or ws.revoked_at is not None or as_utc(ws.expires_at) <= utcnow():
        return None
    user = repository.get_user(session, ws.user_id)
    return user if user is not None and user.is_active else None


def end_web_session(session: Session, *, key: str, actor: Actor) -> None:
    """Revokes a web session (logout)."""
    ws = repository.get_session_by_hash(session, _sha256(key))
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        record(session, actor=actor, verb=AuditVerb.LOGOUT, entity_type="user", entity_id=ws.user_id)


def create_token(
    session: Session, *, actor: Actor, user: User, name: str, days: int | None = 90,
    lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Creates a personal access token; returns the row and the secret, shown once."""
    if not name.strip():
        raise ValidationFailed("a token needs a name", field="name")
    if days is not None and days <= 0:
        raise ValidationFailed("days must be positive", field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_sha256(secret), prefix=secret[:12],
                     created_at=now, expires_at=now + (lifetime or timedelta(days=days)) if (days or lifetime) else None)
    session.add(token)
    session.flush()
    record(session, actor=actor, verb=AuditVerb.TOKEN_CREATE, entity_type="api_token", entity_id=token.id,
           summary={"user": user.username, "name": token.name, "days": days})
    return token, secret


def user_for_token(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The user and token for a bearer secret, or None when unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = repository.get_token_by_hash(session, _sha256(secret))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
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
    """Revokes one of the caller's tokens (admins may revoke those of the users they administer)."""
    token = session.get(ApiToken, token_id)
    owner = repository.get_user(session, token.user_id) if token is not None else None
    if token is None or owner is None or (token.user_id != principal.user_id and not (
            principal.has("users:manage") and scope.may_manage_user(principal, owner.centre_id, owner.trust_ids,
                                                                     owner.centre_wide))):
        raise NotFound(f"no token {token_id}", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=actor, verb=AuditVerb.TOKEN_REVOKE, entity_type="api_token", entity_id=token.id)
    return token
