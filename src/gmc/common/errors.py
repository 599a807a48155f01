"""Domain errors shared by every feature; the web layer maps them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused an action; carries a user-facing message and the field at fault."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description of the error."""
        out: dict[str, object] = {"detail": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.line is not None:
            out["line"] = self.line
        return out


class ValidationFailed(DomainError):
    """Input broke a rule (bad NHS number, unknown HPO id, bad CSV row)."""

    status_code = 422


class NotFound(DomainError):
    """The entity asked for does not exist (or is outside the caller's scope)."""

    status_code = 404


class Conflict(DomainError):
    """The change clashes with the current state (duplicate, stale version, illegal transition)."""

    status_code = 409


class NotAuthenticated(DomainError):
    """No valid credentials were presented."""

    status_code = 401


class PermissionDenied(DomainError):
    """The caller is known but not allowed to do this."""

    status_code = 403


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for an account or from an address: wait before the next attempt."""

    status_code = 429
