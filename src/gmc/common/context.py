"""Per-request context (request id) carried through logs and audit events."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("gmc_request_id", default=None)


def new_request_id() -> str:
    """A fresh random request id."""
    return uuid.uuid4().hex


def set_request_id(value: str | None) -> object:
    """Sets the current request id; returns a token for reset."""
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    """Restores the request id that was current before set_request_id."""
    _request_id.reset(token)  # type: ignore[arg-type]


def current_request_id() -> str | None:
    """The request id of the request being served, if any."""
    return _request_id.get()
