"""Charts as plain data: one description that the page draws with Chart.js, tabulates and offers as CSV.

Features build a `Chart` from numbers they computed; the `chart()` macro in `_chart.html` renders it as a
canvas (drawn by static/gmc-charts.js from a JSON block, no inline script), an accessible data table and a
CSV download. Nothing here knows a feature.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gmc.common.escaping import spreadsheet_cell, spreadsheet_row

#: Colours for series without their own (blue, green, red, purple, orange, grey); text contrast is not needed.
PALETTE = ("#005eb8", "#2e8540", "#c0392b", "#7d5ba6", "#d9822b", "#8a8f98")
#: Colour of a value over its target or outside its expected band.
ALERT = "#c0392b"
_KINDS = ("bar", "line")


@dataclass(frozen=True)
class Series:
    """One row of values across the chart's categories (None where there is no value)."""

    label: str
    values: list[float | None]
    colour: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart of categories (labels) against one or more series, with an optional target or expected band."""

    key: str
    title: str
    labels: list[str]
    series: list[Series]
    kind: str = "bar"
    horizontal: bool = False
    stacked: bool = False
    #: What the values measure (axis title and table header), e.g. "days" or "variants".
    unit: str = ""
    #: What the categories are (first column of the table and CSV), e.g. "Trust".
    category: str = ""
    #: A reference line; a value above it is drawn in the alert colour.
    target: float | None = None
    #: The expected range (low, high), shaded; a value outside it is drawn in the alert colour.
    band: tuple[float, float] | None = None
    #: Values beyond this are drawn at the edge (outliers must not flatten everyone else).
    max_value: float | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"chart {self.key!r}: kind must be one of {', '.join(_KINDS)}, not {self.kind!r}")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"chart {self.key!r}: series {s.label!r} has {len(s.values)} values for "
                                 f"{len(self.labels)} labels")

    @property
    def element_id(self) -> str:
        """A DOM id safe in HTML and CSS, derived from the key."""
        return "chart-" + re.sub(r"[^A-Za-z0-9_-]+", "-", self.key).strip("-").lower()

    def spec(self) -> dict[str, Any]:
        """What gmc-charts.js needs to draw the chart (JSON-ready)."""
        return {
            "kind": self.kind, "title": self.title, "labels": list(self.labels), "horizontal": self.horizontal,
            "stacked": self.stacked, "unit": self.unit, "target": self.target,
            "band": list(self.band) if self.band else None, "max": self.max_value, "alert": ALERT,
            "series": [{"label": s.label, "values": list(s.values),
                        "colour": s.colour or PALETTE[i % len(PALETTE)]} for i, s in enumerate(self.series)],
        }

    def header(self) -> list[str]:
        """The data table's column headings: the category, then one per series."""
        first = self.category or "Category"
        if len(self.series) == 1 and not self.series[0].label:
            return [first, self.unit or "Value"]
        return [first, *(s.label for s in self.series)]

    def rows(self) -> list[tuple[str, list[float | None]]]:
        """One row per category: its label and the value of each series."""
        return [(label, [s.values[i] for s in self.series]) for i, label in enumerate(self.labels)]

    def csv_text(self) -> str:
        """The chart's data as CSV (a header row, then one row per category; empty where no value)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(spreadsheet_row(self.header()))
        for label, values in self.rows():
            writer.writerow([spreadsheet_cell(label), *("" if v is None else _number(v) for v in values)])
        return out.getvalue()

    def csv_href(self) -> str:
        """The CSV as a data: URL for a download link (works without JavaScript)."""
        return "data:text/csv;charset=utf-8," + quote(self.csv_text(), safe="")

    def csv_filename(self) -> str:
        """The download's file name."""
        return self.element_id.removeprefix("chart-") + ".csv"

    def summary(self) -> str:
        """One sentence for screen readers: what is shown, and what the table below holds."""
        parts = [f"{self.title}: {len(self.labels)} {'categories' if len(self.labels) != 1 else 'category'}"]
        if self.target is not None:
            over = sum(1 for s in self.series for v in s.values if v is not None and v > self.target)
            parts.append(f"{over} above the target of {_number(self.target)}")
        if self.band is not None:
            lo, hi = self.band
            outside = sum(1 for s in self.series for v in s.values if v is not None and not lo <= v <= hi)
            parts.append(f"{outside} outside the expected range {_number(lo)} to {_number(hi)}")
        return "; ".join(parts) + ". The data table follows."


def _number(value: float) -> str:
    """A value as people write it: integers without a decimal point, others to at most 3 places."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def format_value(value: float | None) -> str:
    """A table cell's text ('–' when there is no value)."""
    return "–" if value is None else _number(value)
