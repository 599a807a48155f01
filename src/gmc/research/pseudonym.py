"""Keyed pseudonyms for research: research, family and sample ids; ages instead of dates.

Each is an HMAC-SHA256 under GMC_RESEARCH_KEY (set per deployment, never stored in the database) of the
project and the programme id, so the same person carries the same research id in every release of one
project and different ids in different projects or deployments. Pure: plain values in and out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date


def _digest(key: str, *parts: str) -> bytes:
    if not key:
        raise ValueError("the research key is empty: set GMC_RESEARCH_KEY")
    message = "\x1f".join(("gmc-research-v1", *parts)).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def _code(digest: bytes, length: int) -> str:
    """Uppercase base32 letters and digits (no padding)."""
    return base64.b32encode(digest).decode()[:length]


def research_id(key: str, project_id: str, participant_id: str) -> str:
    """A participant's research id in one project, e.g. R7KQ2MX4PA3TZ."""
    return "R" + _code(_digest(key, "participant", project_id, participant_id), 12)


def family_pseudonym(key: str, project_id: str, family_id: str) -> str:
    """A family's id in one project."""
    return "F" + _code(_digest(key, "family", project_id, family_id), 10)


def sample_pseudonym(key: str, project_id: str, dataset_id: str) -> str:
    """A genome dataset's sample id in one project (what VCF and Parquet genotype files name)."""
    return "S" + _code(_digest(key, "sample", project_id, dataset_id), 12)


def key_fingerprint(key: str) -> str:
    """A short fingerprint of the key, recorded with each release to tell key changes apart (not the key)."""
    return _digest(key, "fingerprint").hex()[:16]


def age_in_years(born: date | None, on: date | None) -> int | None:
    """Whole years between birth and an event (None when either is unknown)."""
    if born is None or on is None:
        return None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return max(0, years)
