"""Queries for users, tokens and sessions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gmc.auth.models import ApiToken, User, WebSession
from gmc.common.time import utcnow


def get_user(session: Session, user_id: int) -> User | None:
    """The user with this id."""
    return session.get(User, user_id)


def get_user_by_username(session: Session, username: str) -> User | None:
    """The user with this username (case-insensitive match on the stored lower-case name)."""
    return session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()


def list_users(session: Session) -> Sequence[User]:
    """Every user, by username."""
    return session.execute(select(User).order_by(User.username)).scalars().all()


def get_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """The API token with this hash."""
    return session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash)).scalar_one_or_none()


def list_tokens(session: Session, user_id: int) -> Sequence[ApiToken]:
    """A user's tokens, newest first."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    return session.execute(stmt).scalars().all()


def get_session_by_hash(session: Session, session_hash: str) -> WebSession | None:
    """The web session with this hash."""
    return session.execute(select(WebSession).where(WebSession.session_hash == session_hash)).scalar_one_or_none()


def live_credentials(session: Session, user_id: int) -> tuple[int, int]:
    """How many unrevoked, unexpired web sessions and API tokens the user has."""
    now = utcnow()
    sessions = session.execute(select(func.count(WebSession.id)).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)).scalar_one()
    tokens = session.execute(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))).scalar_one()
    return sessions, tokens
