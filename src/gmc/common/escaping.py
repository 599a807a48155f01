"""Escaping user text where it would otherwise be read as code: LIKE patterns, and spreadsheet cells."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: The escape character of every LIKE pattern built with escape_like (pass it as `escape=LIKE_ESCAPE`).
LIKE_ESCAPE = "\\"
#: A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def escape_like(text: str) -> str:
    """The text with LIKE's wildcards (% and _) and the escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def spreadsheet_cell(value: Any) -> Any:
    """A cell value a spreadsheet shows as text, never runs: text that starts like a formula gets a leading
    apostrophe (the spreadsheets' own mark for "this is text"); numbers and plain signed numbers are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    """spreadsheet_cell of every value of a CSV row."""
    return [spreadsheet_cell(v) for v in values]
