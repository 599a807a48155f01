"""Turnaround between lifecycle steps per trust and sample type, overdue samples, and SVG bar charts."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

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


def bar_chart_svg(title: str, bars: list[tuple[str, float]], *, unit: str = "days", target: float | None = None,
                  width: int = 560, bar_height: int = 18) -> str:
    """A horizontal bar chart as a standalone SVG string (server-rendered, no JavaScript)."""
    label_w, pad, top = 180, 8, 28
    height = top + len(bars) * (bar_height + pad) + 24
    peak = max([v for _, v in bars] + [target or 0, 1e-9])
    scale = (width - label_w - 70) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">',
             f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = top + i * (bar_height + pad)
        w = max(1.0, value * scale)
        over = target is not None and value > target
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height - 4}" font-size="12" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                     f'fill="{"#c0392b" if over else "#005eb8"}"><title>{escape(label)}: {value:g} {unit}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height - 4}" font-size="12">{value:g}</text>')
    if target is not None:
        x = label_w + target * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20}" stroke="#b35c00" '
                     f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{height - 6}" font-size="11" '
                     f'text-anchor="middle" fill="#b35c00">target {target:g}</text>')
    parts.append("</svg>")
    return "".join(parts)
