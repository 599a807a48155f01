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


#: What an audit verb says someone did, for timelines written as sentences.
_DID = {
    "create": "created", "update": "updated", "delete": "deleted", "read": "viewed", "search": "searched",
    "export": "exported", "import": "imported", "merge": "merged records", "unmerge": "undid a merge",
    "link": "linked a record", "consent_record": "recorded consent", "consent_withdraw": "recorded a withdrawal",
    "eligibility_decide": "decided eligibility", "transition": "changed the state", "store": "stored",
    "move": "moved", "ship": "shipped", "receive": "received", "destroy": "destroyed", "ingest": "ingested data",
    "interpret": "ran an interpretation", "classify": "classified", "override": "overrode a criterion",
    "approve": "approved", "reject": "rejected", "sign_off": "signed off",
}


def event_sentence(actor: str, verb: str, summary: object) -> str:
    """An audit event as a sentence: 'rita recorded consent: Form: RD-CHILD 3.0; Given by: a parent or guardian.'"""
    detail = readable(summary)
    return f"{actor} {_DID.get(verb, label(verb).lower())}" + (f": {detail}." if detail else ".")
