"""Server-side list state: filters from the URL keep exactly the rows they name, and links keep every filter."""

from __future__ import annotations

from gmc.common.paging import ListState, filter_rows, paginate_list

ROWS = [{"id": "RR0001", "status": "built", "purpose": "Seizure onset ages"},
        {"id": "RR0002", "status": "requested", "purpose": "Seizure frequency"},
        {"id": "RR0003", "status": "built", "purpose": "Cardiac phenotypes"}]
SORTS = {"id": lambda r: r["id"]}


def test_text_and_exact_filters_combine() -> None:
    assert [r["id"] for r in filter_rows(ROWS, {"q": "seizure"}, text=("purpose",))] == ["RR0001", "RR0002"]
    kept = filter_rows(ROWS, {"q": "seizure", "status": "built"}, text=("purpose",), exact=("status",))
    assert [r["id"] for r in kept] == ["RR0001"]
    assert filter_rows(ROWS, {"status": "cancelled"}, text=("purpose",), exact=("status",)) == []
    assert len(filter_rows(ROWS, {}, text=("purpose",), exact=("status",))) == 3


def test_sort_and_page_links_keep_the_filters() -> None:
    state = ListState.from_query("/research/releases", {"status": "built", "sort": "id", "dir": "desc", "per_page": "25"},
                                 sorts=list(SORTS), default_sort="id", filters=("q", "status"))
    page = paginate_list(filter_rows(ROWS, state.filters, text=("purpose",), exact=("status",)), state, SORTS)
    assert [r["id"] for r in page.items] == ["RR0003", "RR0001"] and page.total == 2
    assert state.sort_url("id") == "/research/releases?status=built&sort=id&dir=asc&per_page=25"
