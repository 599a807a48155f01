"""Turnaround between lifecycle steps per trust and sample type, overdue samples, and their charts."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from gmc.common.charts import Chart, Series
from gmc.common.time import as_utc

#: The reported steps: (label, from states, to states); the first entry into each counts.
STEPS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("collection to receipt", ("collected",), ("received",)),
    ("receipt to QC", ("received",), ("qc_passed", "qc_failed")),
    ("QC to dispatch", ("qc_passed",), ("dispatched",)),
    ("dispatch to data", ("dispatched",), ("data_received",)),
    ("collection to data", ("collected",), ("data_received",)),
]


@dataclass(frozen=True)
class SampleClock:
    """One specimen's lineage: where it came from and when it (or its derivatives) first entered each state."""

    barcode: str
    trust: str
    sample_type: str
    entered: dict[str, datetime]


@dataclass(frozen=True)
class StepStats:
    """Turnaround of one step for one group (trust or sample type), in days."""

    group: str
    step: str
    n: int
    median_days: float
    p90_days: float


def _days(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)).total_seconds() / 86400.0


def step_durations(clock: SampleClock) -> dict[str, float]:
    """The days each step took for one specimen (steps not yet done are left out)."""
    out: dict[str, float] = {}
    for label, starts, ends in STEPS:
        start = min((clock.entered[s] for s in starts if s in clock.entered), default=None)
        end = min((clock.entered[s] for s in ends if s in clock.entered), default=None)
        if start is not None and end is not None and as_utc(end) >= as_utc(start):
            out[label] = _days(start, end)
    return out


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    # Nearest-rank percentile: the smallest value with at least 90% of values at or below it.
    rank = max(1, -(-len(ordered) * 90 // 100))
    return ordered[rank - 1]


def turnaround(clocks: list[SampleClock], by: str = "trust") -> list[StepStats]:
    """Median and 90th-percentile days of each step, grouped by trust or sample_type."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for clock in clocks:
        key = clock.trust if by == "trust" else clock.sample_type
        for step, days in step_durations(clock).items():
            groups[(key, step)].append(days)
    order = {label: i for i, (label, _, _) in enumerate(STEPS)}
    return [StepStats(g, step, len(v), round(statistics.median(v), 2), round(_p90(v), 2))
            for (g, step), v in sorted(groups.items(), key=lambda kv: (order[kv[0][1]], kv[0][0]))]


@dataclass(frozen=True)
class Overdue:
    """A sample waiting in a state longer than its target."""

    barcode: str
    state: str
    days_in_state: float
    target_days: float


def overdue(waiting: list[tuple[str, str, str, datetime]], targets: dict[tuple[str, str | None], float],
            now: datetime) -> list[Overdue]:
    """Samples (barcode, state, type, since) over target; a type's own target beats the all-types one."""
    out = []
    for barcode, state, stype, since in waiting:
        target = targets.get((state, stype), targets.get((state, None)))
        if target is None:
            continue
        days = _days(since, now)
        if days > target:
            out.append(Overdue(barcode, state, round(days, 2), target))
    return sorted(out, key=lambda o: o.days_in_state - o.target_days, reverse=True)


def turnaround_charts(stats: list[StepStats], targets: dict[tuple[str, str | None], float],
                      by: str = "trust") -> list[Chart]:
    """One bar chart per step: the median days of each group, against the step's all-types target."""
    charts = []
    for label, starts, _ in STEPS:
        rows = [s for s in stats if s.step == label]
        if not rows:
            continue
        target = targets.get((starts[0], None)) if label != "collection to data" else None
        charts.append(Chart(
            key=f"turnaround-{label}", title=f"{label}: median days", labels=[s.group for s in rows],
            series=[Series("", [s.median_days for s in rows])], horizontal=True, unit="days",
            category="Trust" if by == "trust" else "Sample type", target=target))
    return charts
