"""The dashboard's arithmetic on plain data: months, monthly and cumulative counts, the planned trajectory and
turnaround percentiles. Pure: no database."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, datetime


def month_of(value: date | datetime) -> str:
    """YYYY-MM of a date or timestamp."""
    return f"{value.year:04d}-{value.month:02d}"


def months_between(first: date, last: date) -> list[str]:
    """Every month from first to last inclusive, as YYYY-MM."""
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def per_month(values: Iterable[date | datetime], months: list[str]) -> list[int]:
    """How many values fall in each month (values outside the months are ignored)."""
    index = {m: i for i, m in enumerate(months)}
    counts = [0] * len(months)
    for value in values:
        i = index.get(month_of(value))
        if i is not None:
            counts[i] += 1
    return counts


def cumulative(counts: list[int], before: int = 0) -> list[int]:
    """Running totals (starting from what happened before the first month)."""
    out, total = [], before
    for n in counts:
        total += n
        out.append(total)
    return out


def _month_end(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:])
    nxt = date(year + 1, 1, 1) if mon == 12 else date(year, mon + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def expected_by(target: int, starts_on: date, ends_on: date, on: date) -> float:
    """What an even plan expects done by a day: nothing before it starts, the target once it ends."""
    if on < starts_on:
        return 0.0
    if on >= ends_on or ends_on <= starts_on:
        return float(target)
    return target * (on - starts_on).days / (ends_on - starts_on).days


def trajectory(target: int, starts_on: date, ends_on: date, months: list[str]) -> list[float]:
    """The planned cumulative total at the end of each month."""
    return [round(expected_by(target, starts_on, ends_on, _month_end(m)), 1) for m in months]


def days_between(start: date | datetime | None, end: date | datetime | None) -> float | None:
    """Days from start to end (None when either is missing or end comes first)."""
    if start is None or end is None:
        return None
    a = datetime(start.year, start.month, start.day) if not isinstance(start, datetime) else start.replace(tzinfo=None)
    b = datetime(end.year, end.month, end.day) if not isinstance(end, datetime) else end.replace(tzinfo=None)
    days = (b - a).total_seconds() / 86400
    return days if days >= 0 else None


def median_p90(values: list[float]) -> tuple[float | None, float | None]:
    """Median and nearest-rank 90th percentile of days (None for no values)."""
    if not values:
        return None, None
    ordered = sorted(values)
    return round(statistics.median(ordered), 1), round(ordered[max(0, -(-len(ordered) * 9 // 10) - 1)], 1)
