"""Navigation entries that features register, shown per role in the layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation, shown when the user holds the permission.

    `roles` names the roles whose own work the page is: it sits in their menu bar; other users who may open it
    find it under "More". None: in the menu bar of everyone allowed.
    """

    label: str
    path: str
    permission: str | None
    order: int = 100
    section: str = "main"
    roles: frozenset[str] | None = None


_ITEMS: dict[str, NavItem] = {}


def register_nav(item: NavItem) -> None:
    """Adds (or replaces) a navigation entry, keyed by its path."""
    _ITEMS[item.path] = item


def nav_for(permissions: frozenset[str] | set[str]) -> list[NavItem]:
    """The entries a user with these permissions sees, in display order."""
    return sorted(
        (i for i in _ITEMS.values() if i.permission is None or i.permission in permissions),
        key=lambda i: (i.section != "main", i.order, i.label),
    )


def menu_for(principal: Any) -> tuple[list[NavItem], list[NavItem]]:
    """The signed-in user's menu: (their own work, the other pages they may open)."""
    own, more = [], []
    for item in nav_for(principal.permissions):
        (own if item.roles is None or item.roles & set(principal.roles) else more).append(item)
    return own, more


def current_nav(items: list[NavItem], path: str) -> str | None:
    """The path of the entry the page at `path` belongs to: the longest entry path it starts with."""
    best = None
    for item in items:
        if path == item.path or (item.path != "/" and path.startswith(item.path.rstrip("/") + "/")):
            if best is None or len(item.path) > len(best):
                best = item.path
    return best
