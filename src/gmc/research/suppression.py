"""Small-number suppression of aggregates that leave for research: counts of 1-9 are shown as "<10", and
further cells are hidden where a shown total would let a hidden one be worked out (secondary suppression).
Pure: counts in, display values out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Counts from 1 to SMALL_NUMBER_LIMIT - 1 are never shown.
SMALL_NUMBER_LIMIT = 10
#: How a small count is shown.
SMALL = "<10"
#: How a cell hidden only to protect a small one is shown.
SECONDARY = "*"


def is_small(count: int) -> bool:
    """True for a count that must not be shown (1-9)."""
    return 0 < count < SMALL_NUMBER_LIMIT


def show(count: int) -> str:
    """A single count as it may be shown: "<10" for 1-9, else the number."""
    return SMALL if is_small(count) else str(count)


@dataclass(frozen=True)
class Breakdown:
    """A count split by one attribute, as it may be shown next to its total."""

    total: str
    #: Category -> shown value ("<10", "*" or the number), in the input's order.
    cells: dict[str, str]
    #: Exact values of the cells that are shown as numbers (None where hidden), for charts.
    values: dict[str, int | None]

    @property
    def suppressed(self) -> bool:
        """True when any cell is hidden."""
        return any(v is None for v in self.values.values())


def breakdown(cells: Mapping[str, int], total: int | None = None) -> Breakdown:
    """Suppresses a one-way table whose total is shown: every 1-9 cell, then the smallest other cells until the
    hidden ones are at least two and add up to at least 10, so that total minus the shown cells reveals nothing.
    When the total itself is 1-9 every non-zero cell is hidden (a split of a hidden total could reveal it)."""
    total = sum(cells.values()) if total is None else total
    if any(v < 0 for v in cells.values()) or total < 0:
        raise ValueError("counts cannot be negative")
    hidden: dict[str, str] = {}
    if is_small(total):
        hidden = {k: SMALL for k, v in cells.items() if v}
    else:
        hidden = {k: SMALL for k, v in cells.items() if is_small(v)}
        if hidden:
            while len(hidden) < 2 or sum(cells[k] for k in hidden) < SMALL_NUMBER_LIMIT:
                rest = sorted((v, k) for k, v in cells.items() if v and k not in hidden)
                if not rest:
                    break
                hidden[rest[0][1]] = SECONDARY
    shown = {k: hidden.get(k, str(v)) for k, v in cells.items()}
    values = {k: None if k in hidden else v for k, v in cells.items()}
    return Breakdown(show(total), shown, values)
