"""Worklists on the role home pages: each feature contributes its own through one small function.

A feature registers a `WorklistSource` (which roles it is for, and a function that builds the list for a
signed-in user from that feature's service); the home page shows every source of the user's roles with its
count and first items. Nothing here knows a feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Items shown on the home page per worklist (the count and the "see all" link cover the rest).
SHOWN = 5


@dataclass(frozen=True)
class WorkItem:
    """One thing to do: what it is, where to do it, and a short detail."""

    label: str
    href: str
    detail: str = ""


@dataclass(frozen=True)
class Worklist:
    """A worklist as the home page shows it: how many, the first few, and where the whole list is."""

    title: str
    count: int
    items: list[WorkItem] = field(default_factory=list)
    href: str | None = None
    #: ok (nothing urgent), warn (waiting) or bad (late); colours the count.
    tone: str = "warn"
    empty: str = "Nothing waiting."
    #: The link to the whole list, when the count is not a number of items (e.g. "Open the dashboard").
    link_text: str | None = None


@dataclass(frozen=True)
class WorklistSource:
    """A feature's contribution to the home pages of some roles: one worklist, or several from one query."""

    key: str
    roles: frozenset[str]
    build: Callable[[Any, Any], Worklist | list[Worklist]]
    order: int = 100


_SOURCES: dict[str, WorklistSource] = {}


def register_worklist(source: WorklistSource) -> None:
    """Adds (or replaces) a worklist source, keyed by its key."""
    _SOURCES[source.key] = source


def worklists_for(session: Any, principal: Any) -> list[Worklist]:
    """The worklists of the signed-in user's roles, built now, in display order."""
    roles = set(principal.roles)
    sources = sorted((s for s in _SOURCES.values() if s.roles & roles), key=lambda s: (s.order, s.key))
    lists: list[Worklist] = []
    for source in sources:
        built = source.build(session, principal)
        lists.extend(built if isinstance(built, list) else [built])
    return lists


def worklist(title: str, items: list[WorkItem], *, count: int | None = None, href: str | None = None,
             late: bool = False, empty: str = "Nothing waiting.") -> Worklist:
    """A worklist from its items (count defaults to their number; only the first few are kept for display)."""
    total = len(items) if count is None else count
    tone = "ok" if total == 0 else "bad" if late else "warn"
    return Worklist(title=title, count=total, items=items[:SHOWN], href=href, tone=tone, empty=empty)
