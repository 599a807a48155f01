"""Server-side paging, sorting and filtering for every list, with the whole state in the URL.

A view reads a `ListState` from the query string (page, per_page, sort, dir and its own filters), asks its
repository for one page through `paginate`, and renders the `pager`/`sort_header` macros of `_paging.html`. Links
keep every filter, so a list is shareable and bookmarkable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50


@dataclass
class ListState:
    """What a list shows: its filters, the sort column and direction, and the page."""

    path: str
    sorts: Sequence[str]
    sort: str
    descending: bool = False
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    filters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, path: str, query: Mapping[str, str], *, sorts: Sequence[str], default_sort: str,
                   default_descending: bool = False, filters: Sequence[str] = ()) -> ListState:
        """Reads the state from a request's query parameters; unknown or bad values fall back to defaults."""
        sort = query.get("sort", default_sort)
        sort = sort if sort in sorts else default_sort
        direction = query.get("dir", "")
        descending = default_descending if direction not in ("asc", "desc") else direction == "desc"
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        try:
            per_page = int(query.get("per_page", str(DEFAULT_PER_PAGE)))
        except ValueError:
            per_page = DEFAULT_PER_PAGE
        per_page = per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE
        kept = {k: query.get(k, "").strip() for k in filters if query.get(k, "").strip()}
        return cls(path, list(sorts), sort, descending, page, per_page, kept)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def url(self, **changes: Any) -> str:
        """This list's URL with some parameters changed (page, sort, dir, per_page or a filter)."""
        params: dict[str, Any] = {**self.filters, "sort": self.sort, "dir": "desc" if self.descending else "asc",
                                  "page": self.page, "per_page": self.per_page}
        params.update(changes)
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        if clean.get("page") == 1:
            clean.pop("page")
        if clean.get("per_page") == DEFAULT_PER_PAGE:
            clean.pop("per_page")
        return f"{self.path}?{urlencode(clean)}" if clean else self.path

    def sort_url(self, key: str) -> str:
        """The URL that sorts by key (toggling the direction when it is already the sort), back on page 1."""
        descending = not self.descending if key == self.sort else False
        return self.url(sort=key, dir="desc" if descending else "asc", page=1)


@dataclass
class Page:
    """One page of a list and where it sits in the whole."""

    items: list[Any]
    total: int
    state: ListState

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
        return max(1, -(-self.total // self.state.per_page))

    @property
    def first_row(self) -> int:
        """The 1-based number of the first row shown (0 when empty)."""
        return 0 if not self.items else self.state.offset + 1

    @property
    def last_row(self) -> int:
        """The 1-based number of the last row shown."""
        return self.state.offset + len(self.items)


def paginate(session: Session, stmt: Select, state: ListState, order: Mapping[str, Any]) -> Page:
    """Runs one page of a select, sorted by the state's column (with the primary order as tie-break)."""
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    column = order[state.sort]
    columns = column if isinstance(column, (list, tuple)) else [column]
    ordered = stmt.order_by(None).order_by(*(c.desc() if state.descending else c.asc() for c in columns))
    if state.offset >= total > 0:  # a page past the end shows the last page
        state.page = max(1, -(-total // state.per_page))
    rows = session.execute(ordered.limit(state.per_page).offset(state.offset)).scalars().all()
    return Page(list(rows), total, state)


def paginate_list(items: Sequence[Any], state: ListState, keys: Mapping[str, Any]) -> Page:
    """One page of a list computed in Python (for lists built from several sources), sorted by a key function."""
    ordered = sorted(items, key=keys[state.sort], reverse=state.descending)
    if state.offset >= len(ordered) > 0:
        state.page = max(1, -(-len(ordered) // state.per_page))
    return Page(ordered[state.offset:state.offset + state.per_page], len(ordered), state)


def matches_text(row: Mapping[str, Any], text: str, fields: Sequence[str]) -> bool:
    """True when every word of text appears (case-insensitively) in one of the row's fields."""
    haystack = " ".join(str(row.get(f) or "") for f in fields).lower()
    return all(word in haystack for word in text.lower().split())


def filter_rows(rows: Sequence[Mapping[str, Any]], filters: Mapping[str, str], *, text: Sequence[str],
                exact: Sequence[str] = ()) -> list[Mapping[str, Any]]:
    """Rows kept by a list's filters: `q` as words found in the text fields, each exact filter equal to its field."""
    query = filters.get("q", "")
    return [r for r in rows if (not query or matches_text(r, query, text))
            and all(not filters.get(key) or str(r.get(key) or "") == filters[key] for key in exact)]
