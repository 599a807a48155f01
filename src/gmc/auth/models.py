"""Users, their roles and trusts, web sessions and personal access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base


class User(Base):
    """A person who signs in to gmc."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(200))
    #: argon2id hash; the password itself is never stored or logged.
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    #: The centre the user works for (None: national programme staff).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    #: Sees every trust of the centre (or every centre when centre_id is None).
    centre_wide: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: When the account was deactivated (None while active).
    deactivated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    #: Set by an administrator's reset: the user must choose a new password before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: TOTP secret (base32) once two-step sign-in is on; never shown again after enrolment.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column()
    #: The last TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    trusts: Mapped[list[UserTrust]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_names(self) -> list[str]:
        """The user's roles as plain strings, sorted."""
        return sorted(r.role for r in self.roles)

    @property
    def trust_ids(self) -> set[int]:
        """Ids of the trusts the user belongs to."""
        return {t.trust_id for t in self.trusts}


class UserRole(Base):
    """One role held by a user."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class UserTrust(Base):
    """A trust a user works at."""

    __tablename__ = "user_trust"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), primary_key=True)


class ApiToken(Base):
    """A personal access token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: First characters of the token, shown so users can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app once; only its SHA-256 is stored."""

    __tablename__ = "user_recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column()


class LoginThrottle(Base):
    """Failed sign-ins in a row for one account name (hashed) or one client address, and the wait they impose."""

    __tablename__ = "login_throttle"

    #: "account:<sha256 of the name>" or "address:<ip>".
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    #: No attempt is checked before this time (None: no wait).
    blocked_until: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    """A browser session; the cookie holds a random key whose SHA-256 is stored.

    A session starts at the stage its user still has to pass after the password (second factor, setting one up,
    a new password) and only a `full` one signs the user in; each step replaces the session with a new key.
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column()
    #: full, second_factor, enrol or password.
    stage: Mapped[str] = mapped_column(String(20), nullable=False, default="full", server_default="full")
