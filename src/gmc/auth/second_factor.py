"""Two-step sign-in: setting up a TOTP authenticator, checking its codes and the recovery codes, resetting it.

Required for administrators (they are sent to set it up before anything else) and offered to everyone. A code
is accepted once (the last time step used is kept), and each recovery code once.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import totp
from gmc.auth.models import RecoveryCode, User
from gmc.auth.passwords import verify_password
from gmc.auth.permissions import Role
from gmc.common.errors import Conflict, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow


def sign_pending(secret_key: str, user_id: int, secret: str) -> str:
    """A setup key carried through the enrolment form, signed so the form cannot swap in another one."""
    mac = hmac.new(secret_key.encode(), f"totp-enrol:{user_id}:{secret}".encode(), hashlib.sha256).hexdigest()
    return f"{secret}.{mac}"


def open_pending(secret_key: str, user_id: int, pending: str) -> str:
    """The setup key from a signed form value; refuses one that was altered or belongs to someone else."""
    secret, _, mac = pending.partition(".")
    if not secret or not hmac.compare_digest(sign_pending(secret_key, user_id, secret), pending):
        raise ValidationFailed("the setup form was altered or expired; start again", field="pending")
    return secret


def check_code(session: Session, *, user: User, code: str) -> str | None:
    """Checks a TOTP code (once per time step) or an unused recovery code; says which it was, or None."""
    if user.totp_secret is None:
        return None
    if totp.looks_like_recovery_code(code):
        row = session.execute(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == totp.recovery_code_hash(code),
            RecoveryCode.used_at.is_(None))).scalar_one_or_none()
        if row is None:
            return None
        row.used_at = utcnow()
        return "recovery_code"
    step = totp.matching_step(user.totp_secret, code, after_step=user.totp_last_step)
    if step is None:
        return None
    user.totp_last_step = step
    return "totp"


def enrol(session: Session, *, actor: Actor, user: User, secret: str, code: str) -> list[str]:
    """Turns two-step sign-in on once the user proves their app holds the key; returns new recovery codes."""
    if user.totp_enabled_at is not None:
        raise Conflict("two-step sign-in is already on", field="code")
    step = totp.matching_step(secret, code, after_step=None)
    if step is None:
        raise ValidationFailed("that code does not match the key: check the app's clock and enter the current code",
                               field="code")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, utcnow(), step
    codes = _new_recovery_codes(session, user)
    record(session, actor=actor, verb=AuditVerb.SECOND_FACTOR_ENROL, entity_type="user", entity_id=user.id)
    return codes


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    now = utcnow()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(c), created_at=now) for c in codes)
    return codes


def regenerate_recovery_codes(session: Session, *, actor: Actor, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code from the app."""
    if user.totp_enabled_at is None:
        raise Conflict("two-step sign-in is off", field="code")
    if check_code(session, user=user, code=code) != "totp":
        raise ValidationFailed("that code is not right; enter the one your app shows now", field="code")
    codes = _new_recovery_codes(session, user)
    record(session, actor=actor, verb=AuditVerb.RECOVERY_CODES_CREATE, entity_type="user", entity_id=user.id)
    return codes


def unused_recovery_codes(session: Session, user_id: int) -> int:
    """How many of the user's recovery codes are left."""
    return session.execute(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).scalar_one()


def disable(session: Session, *, actor: Actor, user: User, password: str, code: str) -> None:
    """Turns the user's own two-step sign-in off (not for roles that require it), with password and code."""
    if Role.ADMIN.value in user.role_names:
        raise PermissionDenied("administrators must keep two-step sign-in on")
    if not verify_password(user.password_hash, password):
        raise ValidationFailed("wrong password", field="password")
    if check_code(session, user=user, code=code) is None:
        raise ValidationFailed("that code is not right; enter the one your app shows now", field="code")
    clear(session, user)
    record(session, actor=actor, verb=AuditVerb.SECOND_FACTOR_DISABLE, entity_type="user", entity_id=user.id)


def clear(session: Session, user: User) -> None:
    """Forgets the user's authenticator and recovery codes (callers audit why)."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
