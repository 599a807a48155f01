"""Navigation entries that features register, shown per role in the layout."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation, shown when the user holds the permission."""

    label: str
    path: str
    permission: str | None
    order: int = 100
    section: str = "main"


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
