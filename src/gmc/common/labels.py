"""Codes as people read them: one label (and one colour tone) for each stored code value.

Stored values stay machine codes (`rare_disease`, `qc_failed`); pages show `{{ value|label }}` and colour a
state with `{{ value|tone }}` (ok, warn, bad, info or ''). Features add their own codes with `add_labels`.
"""

from __future__ import annotations

_LABELS: dict[str, str] = {
    # programme arms
    "rare_disease": "Rare disease", "cancer": "Cancer",
    # referral and case states
    "received": "Received", "eligible": "Eligible", "ineligible": "Not eligible", "open": "Open",
    "interpretation": "In interpretation", "closed": "Closed",
    # consent
    "participant": "the participant", "parent_guardian": "a parent or guardian", "consultee": "a consultee",
    "active": "Active", "superseded": "Superseded", "withdrawn": "Withdrawn",
    "no_further_contact": "No further contact", "no_further_use": "No further use",
    "taking_part": "Taking part", "research_data": "Research use of data", "research_samples": "Research use of samples",
    "additional_findings": "Additional findings", "recontact": "Re-contact",
    # shipments and runs
    "draft": "Draft", "shipped": "Shipped", "to_lab": "To the lab", "to_sequencing": "To sequencing",
    "queued": "Queued", "running": "Running", "done": "Done", "failed": "Failed",
    # people
    "female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown",
    "affected": "Affected", "unaffected": "Unaffected",
}

_TONES: dict[str, str] = {
    "eligible": "ok", "ineligible": "bad", "open": "info", "interpretation": "warn", "closed": "ok",
    "active": "ok", "withdrawn": "bad", "superseded": "", "consented": "ok", "declined": "bad", "no consent": "warn",
    "draft": "warn", "shipped": "info", "done": "ok", "failed": "bad", "queued": "info", "running": "info",
}


def add_labels(labels: dict[str, str], tones: dict[str, str] | None = None) -> None:
    """Adds a feature's codes (a feature may not change a label another feature set)."""
    for code, text in labels.items():
        _LABELS.setdefault(code, text)
    for code, tone in (tones or {}).items():
        _TONES.setdefault(code, tone)


def label(value: object) -> str:
    """The label of a code; an unknown code is shown with its underscores as spaces; booleans as Yes/No."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = str(value)
    return _LABELS.get(text, text.replace("_", " "))


def tone(value: object) -> str:
    """The colour tone of a state (ok, warn, bad, info) or '' for a neutral one."""
    text = str(value or "")
    return _TONES.get(text, _TONES.get(text.split(":", 1)[0], ""))


def readable(value: object) -> str:
    """A stored summary (dict, list or value) as a sentence people read: 'Form: RD-CHILD v3.0; Given by: ...'."""
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            if inner in (None, "", [], {}):
                continue
            parts.append(f"{label(key).capitalize()}: {readable(inner)}")
        return "; ".join(parts)
    if isinstance(value, (list, tuple)):
        return ", ".join(readable(v) for v in value)
    return label(value)
