"""Records of other features that follow a participant through a merge, and back through an unmerge.

Features above the registry (samples, ...) register a pair of functions here; the registry calls them when it
merges or unmerges, without importing them. `move` re-parents the merged record's rows to the survivor and returns
their ids by kind, which the merge keeps so that `move_back` can return exactly those rows on an unmerge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

#: move(session, principal, survivor, merged) -> {kind: [ids moved]}
Move = Callable[[Session, Any, Any, Any], dict[str, list[int]]]
#: move_back(session, principal, survivor, merged, {kind: [ids]}) -> None
MoveBack = Callable[[Session, Any, Any, Any, dict[str, list[int]]], None]


@dataclass(frozen=True)
class MergeFollower:
    """A feature's rows that follow a participant through merges."""

    name: str
    move: Move
    move_back: MoveBack


_followers: dict[str, MergeFollower] = {}


def register_follower(follower: MergeFollower) -> None:
    """Registers (or replaces, by name) a feature's merge follower."""
    _followers[follower.name] = follower


def followers() -> list[MergeFollower]:
    """Every registered follower, in registration order."""
    return list(_followers.values())
