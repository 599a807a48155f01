"""JSON logs with the request id; redaction keeps identifiers out as a safety net (NHS-number-like digits, and the
values databases quote in their errors: SQL parameters, PostgreSQL's Key (...)=(...) and failing rows)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from gmc.common.context import current_request_id

# Ten digits in 3-3-4 or run together: the shape of an NHS number. Logs must never carry one,
# so anything of that shape is masked even if a developer logs it by mistake.
_NHS_LIKE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime", "color_message"}


# What database errors quote of a row: the statement's parameters (SQLAlchemy, when not hidden), the key of a
# unique or foreign-key violation and the whole failing row (PostgreSQL) - names, dates of birth, postcodes.
_DB_VALUES = [
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|$))", re.S), "[parameters: redacted]"),
    (re.compile(r"(Key \([^)]*\)=)\((?:[^()]|\([^()]*\))*\)"), r"\1(redacted)"),
    (re.compile(r"(Failing row contains )\((?:[^()]|\([^()]*\))*\)"), r"\1(redacted)"),
]


def redact(text: str) -> str:
    """Masks identifier-shaped digit runs and the row values database errors quote in a log message."""
    for pattern, replacement in _DB_VALUES:
        text = pattern.sub(replacement, text)
    return _NHS_LIKE.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Renders the record, its extra fields and the request id."""
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            payload["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in payload and not key.startswith("_"):
                payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Sends gmc and uvicorn logs to stderr as JSON lines."""
    root = logging.getLogger()
    # Replace only gmc's own handler, so handlers others installed (e.g. pytest's capture) stay.
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_gmc_json", False)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._gmc_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints raw paths and query strings, which may hold identifiers;
    # gmc logs each request itself with the route template instead.
    logging.getLogger("uvicorn.access").disabled = True
