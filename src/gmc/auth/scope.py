"""The one scope rule of every write (and read): whose records a caller may touch.

Records belong to trusts (a participant to the trusts that registered or referred them, a sample or a case to
its trust); resources belong to a centre (freezers, shipments, uploads, QC rules); a few things are national
(eligibility rules). Services call these checks before they change anything:

- a record named by id that is outside the caller's trusts is *not found* (404), so ids reveal nothing;
- a trust or centre the caller names for a new record, but does not work for, is *forbidden* (403);
- a centre's resources are changed only by its centre-wide staff (and national staff);
- national things are changed only by national staff (no centre), or at the command line.
"""

from __future__ import annotations

from collections.abc import Iterable

from gmc.auth.principal import Principal
from gmc.common.errors import NotFound, PermissionDenied


def is_national(principal: Principal) -> bool:
    """True for national staff (and the command line's operator): every trust is in scope."""
    return principal.trust_scope is None and principal.centre_id is None


def sees_any(principal: Principal, trust_ids: Iterable[int | None]) -> bool:
    """True when the caller may see a record held by these trusts (one of them is enough)."""
    if principal.trust_scope is None:
        return True
    return any(t is not None and t in principal.trust_scope for t in trust_ids)


def sees_all(principal: Principal, trust_ids: Iterable[int | None]) -> bool:
    """True when every one of these trusts is in the caller's scope."""
    if principal.trust_scope is None:
        return True
    return all(t is not None and t in principal.trust_scope for t in trust_ids)


def require_record(principal: Principal, trust_ids: Iterable[int | None], *, what: str,
                   field: str | None = None) -> None:
    """Refuses (404, as if it did not exist) a record none of whose trusts is in the caller's scope."""
    if not sees_any(principal, list(trust_ids)):
        raise NotFound(f"no {what} at your trusts", field=field)


def require_records(principal: Principal, holders: Iterable[Iterable[int | None]], *, what: str,
                    field: str | None = None) -> None:
    """Refuses (404) an action on several records unless the caller may see every one of them."""
    for trust_ids in holders:
        require_record(principal, trust_ids, what=what, field=field)


def require_trust(principal: Principal, trust_id: int | None, *, what: str = "that trust") -> None:
    """Refuses (403) a trust the caller names but does not work for."""
    if not principal.can_see_trust(trust_id):
        raise PermissionDenied(f"{what} is outside your trusts")


def require_centre(principal: Principal, centre_id: int | None, *, what: str, hidden: bool = False) -> None:
    """Refuses a change to a centre's resource unless the caller is national staff or centre-wide staff of it.

    hidden: the resource was named by id or name, so another centre's is reported as not found (404).
    """
    if is_national(principal) or principal.trust_scope is None:
        return
    if centre_id is None or centre_id != principal.centre_id:
        if hidden:
            raise NotFound(f"no {what} at your centre")
        raise PermissionDenied(f"{what} belongs to another centre")
    if not principal.centre_wide:
        raise PermissionDenied(f"only centre-wide staff may change the centre's {what}")


def require_national(principal: Principal, *, what: str) -> None:
    """Refuses (403) a change to something national unless the caller is national staff."""
    if not is_national(principal):
        raise PermissionDenied(f"{what} is national: only national staff (or the command line) may change it")


def may_manage_user(principal: Principal, centre_id: int | None, trust_ids: Iterable[int],
                    centre_wide: bool) -> bool:
    """Admin scope: national admins manage anyone; a centre admin manages only users of its own centre, and
    (unless centre-wide itself) only users confined to trusts it works for. Users without a centre (national
    staff) come only from a national admin or the command line."""
    if is_national(principal):
        return True
    if centre_id is None or centre_id != principal.centre_id:
        return False
    if principal.centre_wide:
        return True
    return not centre_wide and sees_all(principal, trust_ids)


def require_manageable_user(principal: Principal, user: object, *, hidden: bool = True) -> None:
    """Refuses an action on another scope's user: 404 by default (ids reveal nothing), 403 when not hidden."""
    if not may_manage_user(principal, user.centre_id, user.trust_ids, user.centre_wide):  # type: ignore[attr-defined]
        if hidden:
            raise NotFound("no such user at your centre")
        raise PermissionDenied("that user is outside the centre and trusts you administer")
