"""CSV import of collected specimens (all-or-nothing, every bad row reported) and CSV export of samples."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from gmc.common.errors import ValidationFailed
from gmc.common.escaping import spreadsheet_cell

IMPORT_COLUMNS = ["barcode", "participant_id", "referral_id", "trust_code", "sample_type", "collected_at",
                  "collected_by", "tumour_site", "tumour_histology", "tumour_content_pct", "volume_ul"]
REQUIRED = ["barcode", "participant_id", "trust_code", "sample_type", "collected_at", "collected_by"]
EXPORT_COLUMNS = ["barcode", "participant_id", "referral_id", "trust_code", "sample_type", "kind", "tissue",
                  "parent_barcode", "state", "state_changed_at", "collected_at", "collected_by", "tumour_site",
                  "tumour_histology", "tumour_content_pct", "location", "version"]


@dataclass(frozen=True)
class RowProblem:
    """One problem with one cell of the file."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class SampleCsvError(ValidationFailed, ValueError):
    """The file was refused; nothing was imported. Carries every problem found."""

    def __init__(self, problems: list[RowProblem], *, source: str = "upload") -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}; nothing was imported", field=first.column, line=first.line)
        self.problems = problems

    def to_dict(self) -> dict[str, object]:
        """The error with every row problem (line, field, message)."""
        return {**super().to_dict(), "problems": [{"line": p.line, "field": p.column, "message": p.message}
                                                  for p in self.problems]}


@dataclass(frozen=True)
class ImportRow:
    """A parsed, well-formed row (database checks come after)."""

    line: int
    barcode: str
    participant_id: str
    referral_id: str | None
    trust_code: str
    sample_type: str
    collected_at: datetime
    collected_by: str
    tumour_site: str | None
    tumour_histology: str | None
    tumour_content_pct: float | None
    volume_ul: float | None


def _number(raw: str, line: int, column: str, problems: list[RowProblem]) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        problems.append(RowProblem(line, column, f"{raw!r} is not a number"))
        return None


def parse_import(text: str, *, source: str = "upload") -> list[ImportRow]:
    """Parses a specimen CSV; raises SampleCsvError listing every bad row and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:  # the csv module reads as it goes: a malformed line (a stray carriage return, a NUL) fails mid-way
        header = [h.strip() for h in (reader.fieldnames or [])]
        records = list(reader)
    except csv.Error as exc:
        raise SampleCsvError([RowProblem(reader.line_num, "", f"not valid CSV ({exc})")], source=source) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SampleCsvError([RowProblem(1, c, "column is missing from the header") for c in missing], source=source)
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    if unknown:
        raise SampleCsvError([RowProblem(1, c, "unknown column") for c in unknown], source=source)
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(records, start=2):
        cell = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        before = len(problems)
        for column in REQUIRED:
            if not cell.get(column):
                problems.append(RowProblem(line, column, "is empty"))
        barcode = cell.get("barcode", "")
        if barcode in seen:
            problems.append(RowProblem(line, "barcode", f"duplicate barcode {barcode} (also on line {seen[barcode]})"))
        elif barcode:
            seen[barcode] = line
        collected_at = None
        if cell.get("collected_at"):
            try:
                collected_at = datetime.fromisoformat(cell["collected_at"])
                if collected_at.tzinfo is None:
                    collected_at = collected_at.replace(tzinfo=UTC)
            except ValueError:
                problems.append(RowProblem(line, "collected_at", f"{cell['collected_at']!r} is not an ISO date-time"))
        pct = _number(cell.get("tumour_content_pct", ""), line, "tumour_content_pct", problems)
        if pct is not None and not 0 <= pct <= 100:
            problems.append(RowProblem(line, "tumour_content_pct", f"{pct:g} is not a percentage"))
        volume = _number(cell.get("volume_ul", ""), line, "volume_ul", problems)
        if len(problems) == before and collected_at is not None:
            rows.append(ImportRow(line, barcode, cell["participant_id"], cell.get("referral_id") or None,
                                  cell["trust_code"], cell["sample_type"], collected_at, cell["collected_by"],
                                  cell.get("tumour_site") or None, cell.get("tumour_histology") or None, pct, volume))
    if problems:
        raise SampleCsvError(problems, source=source)
    if not rows:
        raise SampleCsvError([RowProblem(2, "barcode", "the file has no rows")], source=source)
    return rows


def write_export(rows: list[dict[str, object]]) -> str:
    """Samples as CSV with the export columns (text that looks like a formula is kept as text)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else spreadsheet_cell(row.get(k))) for k in EXPORT_COLUMNS})
    return out.getvalue()
