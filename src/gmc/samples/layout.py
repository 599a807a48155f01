"""Box layouts: positions named by row letter and column number (A1 .. H12)."""

from __future__ import annotations

import re
import string

from gmc.common.errors import ValidationFailed


class PositionError(ValidationFailed, ValueError):
    """A box position that does not exist in the box's layout."""


#: Common biobank box layouts: name -> (rows, columns).
LAYOUTS: dict[str, tuple[int, int]] = {"9x9": (9, 9), "10x10": (10, 10), "8x12": (8, 12), "5x5": (5, 5)}

_POSITION = re.compile(r"^\s*([A-Za-z])\s*0*(\d{1,2})\s*$")


def position_label(row: int, col: int) -> str:
    """The label of a 1-based row and column, e.g. (1, 1) -> 'A1'."""
    return f"{string.ascii_uppercase[row - 1]}{col}"


def parse_position(label: str, rows: int, cols: int) -> tuple[int, int]:
    """The 1-based (row, column) of a label like 'B7' inside a rows x cols box."""
    match = _POSITION.match(label or "")
    if not match:
        raise PositionError(f"position {label!r} is not a row letter and column number like A1", field="position")
    row = string.ascii_uppercase.index(match.group(1).upper()) + 1
    col = int(match.group(2))
    if not (1 <= row <= rows and 1 <= col <= cols):
        last = position_label(rows, cols)
        raise PositionError(f"position {label.strip().upper()} is outside the box (A1 to {last})", field="position")
    return row, col


def all_positions(rows: int, cols: int) -> list[tuple[int, int]]:
    """Every position of a box, row by row."""
    return [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1)]
