"""An account's life after creation: password change and reset, second-factor reset, roles, deactivation.

Every change is audited. Whatever should end a user's access ends it at once: their sessions and API tokens
are revoked in the same transaction (deactivation, a password or second-factor reset, becoming an
administrator without a second factor).
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import second_factor, throttle
from gmc.auth.models import ApiToken, User, UserRole, WebSession
from gmc.auth.passwords import check_password, hash_password, verify_password
from gmc.auth.permissions import Role
from gmc.auth.throttle import ThrottlePolicy
from gmc.common.errors import Conflict, DomainError, NotFound, TooManyAttempts, ValidationFailed
from gmc.common.time import utcnow


def require_user(session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return user


def revoke_credentials(session: Session, user: User, *, keep_session_hash: str | None = None,
                       tokens: bool = True) -> dict[str, int]:
    """Ends the user's web sessions (but the one kept) and revokes their API tokens; returns how many."""
    now = utcnow()
    sessions = update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    if keep_session_hash is not None:
        sessions = sessions.where(WebSession.session_hash != keep_session_hash)
    ended = session.execute(sessions.values(revoked_at=now)).rowcount
    if not tokens:
        return {"sessions_ended": ended or 0}
    revoked = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=now)).rowcount
    return {"sessions_ended": ended or 0, "tokens_revoked": revoked or 0}


def check_current_password(session: Session, *, user: User, current: str, address: str | None,
                           policy: ThrottlePolicy) -> DomainError | None:
    """Checks the current password before a change, throttled and audited like a sign-in; None when right.

    Returned, not raised: the caller commits the failure's count and audit event while refusing the change.
    """
    attempt = throttle.begin_attempt(session, username=user.username, address=address, policy=policy)
    if attempt.wait:
        return TooManyAttempts(f"too many failed attempts; try again in {attempt.wait} seconds")
    if not verify_password(user.password_hash, current):
        record(session, actor=Actor(user.id, user.username), verb=AuditVerb.LOGIN_FAILED, entity_type="user",
               entity_id=user.id, summary={"reason": "wrong current password at password change"})
        return ValidationFailed("the current password is wrong", field="current_password")
    throttle.succeeded(session, attempt)
    return None


def change_password(session: Session, *, user: User, new: str, keep_session_hash: str | None = None) -> None:
    """The user's own change, once check_current_password passed: a new password that passes the policy; their
    other browser sessions end."""
    check_password(new, user_inputs=[user.username, user.full_name, user.email or ""], field="new_password")
    if verify_password(user.password_hash, new):
        raise ValidationFailed("choose a password different from the current one", field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    # API tokens survive a change the user made themselves (scripts keep running); their other browser sessions end.
    ended = revoke_credentials(session, user, keep_session_hash=keep_session_hash, tokens=False)
    record(session, actor=Actor(user.id, user.username), verb=AuditVerb.PASSWORD_CHANGE, entity_type="user",
           entity_id=user.id, summary={"sessions_ended": ended["sessions_ended"]})


def reset_password(session: Session, *, actor: Actor, user: User) -> str:
    """An administrator's reset: a random temporary password (returned once) that must be changed at the next
    sign-in; the user's sessions and tokens end."""
    temporary = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    user.password_hash = hash_password(temporary)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    ended = revoke_credentials(session, user)
    record(session, actor=actor, verb=AuditVerb.PASSWORD_RESET, entity_type="user", entity_id=user.id, summary=ended)
    return temporary


def reset_second_factor(session: Session, *, actor: Actor, user: User) -> None:
    """An administrator's reset after a lost phone: the authenticator and recovery codes are forgotten and the
    user's sessions and tokens end (an administrator sets one up again at their next sign-in)."""
    if user.totp_enabled_at is None:
        raise Conflict(f"{user.username} has no second factor to reset")
    second_factor.clear(session, user)
    ended = revoke_credentials(session, user)
    record(session, actor=actor, verb=AuditVerb.SECOND_FACTOR_RESET, entity_type="user", entity_id=user.id,
           summary=ended)


def _active_admins(session: Session) -> int:
    return session.execute(select(func.count(User.id)).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role == Role.ADMIN.value, User.is_active.is_(True))).scalar_one()


def set_active(session: Session, *, actor: Actor, user: User, active: bool) -> None:
    """Deactivates a leaver (sessions and tokens end at once) or reactivates an account."""
    if active == user.is_active:
        return
    if not active:
        if actor.user_id == user.id:
            raise Conflict("you cannot deactivate your own account")
        if Role.ADMIN.value in user.role_names and _active_admins(session) <= 1:
            raise Conflict("this is the last active administrator")
        user.is_active = False
        user.deactivated_at = utcnow()
        ended = revoke_credentials(session, user)
        record(session, actor=actor, verb=AuditVerb.USER_DEACTIVATE, entity_type="user", entity_id=user.id,
               summary=ended)
    else:
        user.is_active = True
        user.deactivated_at = None
        record(session, actor=actor, verb=AuditVerb.USER_REACTIVATE, entity_type="user", entity_id=user.id)


def set_roles(session: Session, *, actor: Actor, user: User, roles: list[str]) -> None:
    """Replaces a user's roles (effective on their next request); granting admin to someone without a second
    factor ends their sessions and tokens, so they set one up before using it."""
    wanted = sorted(set(roles))
    if not wanted:
        raise ValidationFailed("a user needs at least one role", field="roles")
    for role in wanted:
        if role not in {r.value for r in Role}:
            raise ValidationFailed(f"unknown role {role!r}; roles are {', '.join(r.value for r in Role)}",
                                   field="roles")
    before = user.role_names
    if before == wanted:
        return
    admin = Role.ADMIN.value
    if admin in before and admin not in wanted and user.is_active and _active_admins(session) <= 1:
        raise Conflict("this is the last active administrator", field="roles")
    for held in [r for r in user.roles if r.role not in wanted]:
        user.roles.remove(held)
    user.roles.extend(UserRole(role=r) for r in wanted if r not in before)
    summary: dict[str, object] = {"roles": [before, wanted]}
    if admin in wanted and admin not in before and user.totp_enabled_at is None:
        summary.update(revoke_credentials(session, user))
    granted, revoked = sorted(set(wanted) - set(before)), sorted(set(before) - set(wanted))
    if granted:
        record(session, actor=actor, verb=AuditVerb.ROLE_GRANT, entity_type="user", entity_id=user.id,
               summary={**summary, "granted": granted})
    if revoked:
        record(session, actor=actor, verb=AuditVerb.ROLE_REVOKE, entity_type="user", entity_id=user.id,
               summary={**summary, "revoked": revoked})
