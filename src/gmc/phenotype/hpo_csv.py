"""Bulk HPO CSV upload: participant HPO terms, checked all-or-nothing with every problem reported at once."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REQUIRED_COLUMNS = ("participant_id", "term_id", "status")
OPTIONAL_COLUMNS = ("onset", "notes")
STATUSES = ("observed", "excluded")

HPO_ID = re.compile(r"^HP:\d{7}$")
# ISO 8601 duration as phenopackets write ages (P3Y6M, P10D, P1Y2M3DT4H).
ISO8601_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


class HpoCsvError(ValueError):
    """The CSV has problems; `problems` lists (line, field, message) for every one of them."""

    def __init__(self, source: str, problems: list[tuple[int, str, str]]) -> None:
        self.source = source
        #: (line number, column name or "" for the whole row, message).
        self.problems = problems
        listed = "; ".join(
            f"line {line}{f' {name}' if name else ''}: {message}" for line, name, message in problems
        )
        super().__init__(f"{source}: {len(problems)} problem(s): {listed}")


@dataclass(frozen=True)
class HpoRow:
    """One participant's HPO term as uploaded."""

    participant_id: str
    term_id: str
    #: True when the term was looked for and is absent.
    excluded: bool
    #: An HPO onset term (HP:0003577) or an ISO 8601 age (P3Y); None when not given.
    onset: str | None
    notes: str
    #: The CSV line the row came from.
    line: int


def parse_hpo_csv(path: str | Path, *, known_term: Callable[[str], bool]) -> list[HpoRow]:
    """Reads an HPO CSV file; raises HpoCsvError listing every bad row, returning nothing when any is bad."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise HpoCsvError(source, [(0, "", f"cannot read file: {exc.strerror or exc}")]) from exc
    try:
        # utf-8-sig: spreadsheets often save a byte-order mark before the header.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HpoCsvError(source, [(line, "", "file is not UTF-8 text (save it as CSV UTF-8)")]) from exc
    return parse_hpo_csv_text(text, known_term=known_term, source=source)


def parse_hpo_csv_text(
    text: str, *, known_term: Callable[[str], bool], source: str = "<csv>"
) -> list[HpoRow]:
    """Parses HPO CSV text (comma- or tab-separated, header first) with the same all-or-nothing rules."""
    lines = text.splitlines(keepends=True)
    first = next((line for line in lines if line.strip()), "")
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    problems: list[tuple[int, str, str]] = []
    header: list[str] | None = None
    header_line = 0
    rows: list[HpoRow] = []
    seen: dict[tuple[str, str], tuple[int, bool]] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header, header_line = [f.strip().lower() for f in fields], line
                problems.extend(_header_problems(header, line))
                if problems:
                    break
                continue
            row = _row(header, fields, line, known_term, problems)
            if row is None:
                continue
            key = (row.participant_id, row.term_id)
            if key in seen:
                first_line, first_excluded = seen[key]
                if first_excluded != row.excluded:
                    message = f"{row.term_id} is both observed and excluded for {row.participant_id} (see line {first_line})"
                else:
                    message = f"{row.term_id} for {row.participant_id} repeats line {first_line}"
                problems.append((line, "term_id", message))
                continue
            seen[key] = (line, row.excluded)
            rows.append(row)
    except csv.Error as exc:
        problems.append((reader.line_num, "", f"malformed CSV: {exc}"))
    if header is None:
        problems.append(
            (1, "", "the file is empty; expected a header: " + ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS))
        )
    elif not rows and not problems:
        problems.append((header_line, "", "no rows after the header"))
    if problems:
        raise HpoCsvError(source, problems)
    return rows


def _header_problems(header: list[str], line: int) -> list[tuple[int, str, str]]:
    """Missing required columns, unknown columns (usually typos) and repeated columns."""
    problems = []
    for name in REQUIRED_COLUMNS:
        if name not in header:
            problems.append((line, name, f"required column {name!r} is missing"))
    allowed = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for name in header:
        if name not in allowed:
            problems.append((line, name, f"unknown column {name!r}; expected {', '.join(sorted(allowed))}"))
        elif header.count(name) > 1:
            problems.append((line, name, f"column {name!r} appears more than once"))
    # One report per repeated name is enough.
    return list(dict.fromkeys(problems))


def _row(
    header: list[str],
    fields: list[str],
    line: int,
    known_term: Callable[[str], bool],
    problems: list[tuple[int, str, str]],
) -> HpoRow | None:
    """One data row, or None after recording its problems."""
    if len(fields) != len(header):
        problems.append((line, "", f"expected {len(header)} fields, found {len(fields)}"))
        return None
    values = {name: value.strip() for name, value in zip(header, fields, strict=True)}
    before = len(problems)
    participant_id = values["participant_id"]
    if not participant_id:
        problems.append((line, "participant_id", "participant id is empty"))
    term_id = values["term_id"]
    if not HPO_ID.match(term_id):
        problems.append((line, "term_id", f"{term_id!r} is not an HPO id such as HP:0001250"))
    elif not known_term(term_id):
        problems.append((line, "term_id", f"{term_id} is not a current term of the HPO release in use"))
    status = values["status"].lower()
    if status not in STATUSES:
        problems.append((line, "status", f"{values['status']!r} is not observed or excluded"))
    onset = values.get("onset") or None
    if onset is not None and status == "excluded":
        problems.append((line, "onset", "an excluded term cannot have an onset"))
    elif onset is not None:
        if HPO_ID.match(onset):
            if not known_term(onset):
                problems.append((line, "onset", f"{onset} is not a current term of the HPO release in use"))
        elif not ISO8601_DURATION.match(onset):
            problems.append(
                (line, "onset", f"{onset!r} is neither an HPO onset term nor an ISO 8601 age such as P3Y")
            )
    if len(problems) > before:
        return None
    return HpoRow(
        participant_id=participant_id,
        term_id=term_id,
        excluded=status == "excluded",
        onset=onset,
        notes=values.get("notes", ""),
        line=line,
    )
