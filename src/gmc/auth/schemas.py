"""Pydantic shapes for users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    """A new user as an admin submits it."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=80)
    password: str = Field(min_length=12, max_length=200)
    full_name: str = ""
    email: str | None = None
    roles: list[str] = Field(min_length=1)
    centre_code: str | None = None
    trust_codes: list[str] = []
    centre_wide: bool = False


class UserOut(BaseModel):
    """A user as the API returns it (never the password hash)."""

    id: int
    username: str
    full_name: str
    email: str | None
    roles: list[str]
    centre_id: int | None
    centre_wide: bool
    trust_ids: list[int]
    is_active: bool
    second_factor: bool = False
    must_change_password: bool = False
    last_login_at: datetime | None = None
    deactivated_at: datetime | None = None


class RolesIn(BaseModel):
    """A user's new set of roles."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1, max_length=10)


class PasswordChange(BaseModel):
    """The caller's current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class PasswordResetOut(BaseModel):
    """A user after an administrator's reset, with the temporary password (shown only here)."""

    user: UserOut
    temporary_password: str


class MeOut(BaseModel):
    """The caller: identity, roles, permissions and scope."""

    user_id: int
    username: str
    full_name: str
    roles: list[str]
    permissions: list[str]
    centre_id: int | None
    trust_scope: list[int] | None
    auth_method: str


class TokenCreate(BaseModel):
    """A request for a new personal access token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    #: At most GMC_TOKEN_MAX_DAYS (a longer request is refused, naming the limit); tokens always expire.
    days: int = Field(default=90, ge=1, le=36500)


class TokenOut(BaseModel):
    """A token's metadata (the secret is shown only once, at creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    """A new token, with its secret."""

    token: str


class AccessToken(BaseModel):
    """OAuth2 password-flow answer, so the API docs' Authorize button works."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime | None
