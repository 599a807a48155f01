"""Sample QC: physically possible ranges, per-sample-type thresholds, and a pass/fail with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from gmc.common.errors import ValidationFailed


class QcValueError(ValidationFailed, ValueError):
    """A QC value that cannot be right (negative, or outside what the instrument can report)."""


#: metric -> (unit, lowest possible, highest possible): values outside are typing or instrument errors.
METRICS: dict[str, tuple[str, float, float]] = {
    "concentration_ng_ul": ("ng/µl", 0.0, 5000.0),
    "volume_ul": ("µl", 0.0, 50000.0),
    "total_yield_ng": ("ng", 0.0, 1.0e7),
    "a260_280": ("ratio", 0.0, 4.0),
    "din": ("DIN", 1.0, 10.0),
    "dv200": ("%", 0.0, 100.0),
    "tumour_purity": ("%", 0.0, 100.0),
}

METRIC_LABELS = {
    "concentration_ng_ul": "Concentration", "volume_ul": "Volume", "total_yield_ng": "Total yield",
    "a260_280": "A260/280", "din": "DIN", "dv200": "DV200", "tumour_purity": "Tumour purity",
}


@dataclass(frozen=True)
class QcThreshold:
    """One configurable rule: a metric must lie within [minimum, maximum] (either bound may be open)."""

    metric: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class QcOutcome:
    """The verdict on one set of measurements, with a reason for every failed rule."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    total_yield_ng: float | None = None


#: The default rules per sample type, seeded into the database and editable there.
DEFAULT_THRESHOLDS: dict[str, list[QcThreshold]] = {
    **{code: [QcThreshold("concentration_ng_ul", 15.0), QcThreshold("total_yield_ng", 1000.0),
              QcThreshold("a260_280", 1.7, 2.1), QcThreshold("din", 7.0)]
       for code in ("blood_edta", "saliva", "buccal", "bone_marrow")},
    "ff_tumour": [QcThreshold("concentration_ng_ul", 15.0), QcThreshold("total_yield_ng", 500.0),
                  QcThreshold("a260_280", 1.7, 2.1), QcThreshold("din", 6.0), QcThreshold("tumour_purity", 30.0)],
    **{code: [QcThreshold("total_yield_ng", 300.0), QcThreshold("a260_280", 1.7, 2.2), QcThreshold("dv200", 30.0),
              QcThreshold("tumour_purity", 30.0)]
       for code in ("ffpe_block", "ffpe_section")},
}


def check_values(values: dict[str, float | None]) -> dict[str, float | None]:
    """Returns the known metrics as floats; refuses unknown metrics and impossible values naming the field."""
    out: dict[str, float | None] = {}
    for metric, raw in values.items():
        if metric not in METRICS:
            raise QcValueError(f"unknown QC metric {metric!r}; known: {', '.join(METRICS)}", field=metric)
        if raw is None or raw == "":
            out[metric] = None
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise QcValueError(f"{METRIC_LABELS[metric]} must be a number, not {raw!r}", field=metric) from None
        unit, low, high = METRICS[metric]
        if value != value or not low <= value <= high:  # value != value catches NaN
            raise QcValueError(f"{METRIC_LABELS[metric]} {raw} is out of range: it must be between {low:g} and "
                               f"{high:g} {unit}", field=metric)
        out[metric] = value
    return out


def evaluate(values: dict[str, float | None], thresholds: list[QcThreshold]) -> QcOutcome:
    """Checks measurements against the rules; total yield is computed from concentration x volume if absent."""
    checked = check_values(values)
    if checked.get("total_yield_ng") is None and checked.get("concentration_ng_ul") is not None \
            and checked.get("volume_ul") is not None:
        checked["total_yield_ng"] = round(checked["concentration_ng_ul"] * checked["volume_ul"], 3)  # type: ignore[operator]
    reasons: list[str] = []
    for rule in thresholds:
        label = METRIC_LABELS.get(rule.metric, rule.metric)
        unit = METRICS.get(rule.metric, ("", 0, 0))[0]
        value = checked.get(rule.metric)
        if value is None:
            reasons.append(f"{label} was not measured")
        elif rule.minimum is not None and value < rule.minimum:
            reasons.append(f"{label} {value:g} {unit} is below the minimum {rule.minimum:g}")
        elif rule.maximum is not None and value > rule.maximum:
            reasons.append(f"{label} {value:g} {unit} is above the maximum {rule.maximum:g}")
    return QcOutcome(passed=not reasons, reasons=reasons, total_yield_ng=checked.get("total_yield_ng"))
