"""Deduplication of person records into persons: pairwise linkage, guarded clustering, CSV in and out."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from gmc.registry.linkage import (
    DEFAULT_WEIGHTS,
    LinkageError,
    LinkageIndex,
    LinkageWeights,
    MatchResult,
    PersonRecord,
    record_from_mapping,
)

#: Columns a dedupe CSV must have; other columns are carried through unchanged.
DEDUPE_COLUMNS: tuple[str, ...] = (
    "record_id",
    "nhs_number",
    "family_name",
    "given_name",
    "date_of_birth",
    "sex",
    "postcode",
    "trust_code",
    "hospital_number",
)

#: Called with the number of candidate pairs just compared, for progress bars.
ProgressCallback = Callable[[int], None]


class DedupeInputError(ValueError):
    """A dedupe input that cannot be used: names the file, line and field at fault."""


@dataclass
class DedupeResult:
    """Person ids per input record plus what a reviewer needs: the possible matches left unmerged."""

    person_ids: list[str]
    pairs_compared: int = 0
    match_pairs: int = 0
    #: Pairs scored 'possible' whose records ended in different persons: the manual review queue.
    possible_pairs: list[MatchResult] = field(default_factory=list)
    #: Match pairs not merged because another pair across the two clusters is a hard non-match.
    blocked_merges: int = 0

    @property
    def person_count(self) -> int:
        """Returns the number of distinct persons found."""
        return len(set(self.person_ids))


def _is_hard_conflict(result: MatchResult) -> bool:
    # A pair that says "different people" for a reason, not merely for lack of evidence. Two valid NHS
    # numbers always do: identical demographics with different numbers go to a human, never through a chain.
    if any(c.field == "nhs_number" and c.level == "disagree" for c in result.fields):
        return True
    return result.band == "non-match" and bool(result.flags)


def _drop_ambiguous_links(
    matches: list[tuple[float, int, int]],
    verdict: Callable[[int, int], MatchResult],
    margin: float,
) -> list[tuple[float, int, int]]:
    """Returns match links without those of a record that matches two people who are clearly different."""
    # "A Smith" matching both twins Ava and Amelia Smith says nothing about which twin it is: unless one
    # link is clearly stronger, neither is used and the pair stays for review.
    partners: dict[int, list[tuple[float, int]]] = {}
    for score, i, j in matches:
        partners.setdefault(i, []).append((score, j))
        partners.setdefault(j, []).append((score, i))
    dropped: set[tuple[int, int]] = set()
    for x, links in partners.items():
        if len(links) < 2:
            continue
        links.sort(key=lambda link: (-link[0], link[1]))
        for (score_p, p), (score_q, q) in combinations(links, 2):
            if not _is_hard_conflict(verdict(p, q)):
                continue
            dropped.add((min(x, q), max(x, q)))
            if score_p - score_q < margin:
                dropped.add((min(x, p), max(x, p)))
    return [m for m in matches if (m[1], m[2]) not in dropped]


def dedupe_records(
    records: Sequence[PersonRecord],
    *,
    weights: LinkageWeights = DEFAULT_WEIGHTS,
    progress: ProgressCallback | None = None,
    ambiguity_margin: float = 5.0,
) -> DedupeResult:
    """Returns person ids for records: match pairs joined strongest first, never across a hard non-match."""
    seen_ids: set[str] = set()
    for position, record in enumerate(records):
        if record.record_id in seen_ids:
            raise DedupeInputError(f"record {position + 1}: record_id {record.record_id!r} is not unique")
        seen_ids.add(record.record_id)

    index = LinkageIndex(records, weights=weights)
    verdicts: dict[tuple[int, int], MatchResult] = {}
    matches: list[tuple[float, int, int]] = []
    compared = 0
    for i, j in index.candidate_pairs():
        result = index.compare_positions(i, j)
        # Keep only verdicts needed later (matches, review queue); hard conflicts are recomputed on demand,
        # which keeps memory linear in the number of candidate matches rather than in pairs compared.
        if result.band != "non-match":
            verdicts[(i, j)] = result
        compared += 1
        if result.band == "match":
            matches.append((result.score, i, j))
        if progress and compared % 1000 == 0:
            progress(1000)
    if progress:
        progress(compared % 1000)

    parent = list(range(len(records)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(records))}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def verdict(i: int, j: int) -> MatchResult:
        key = (i, j) if i < j else (j, i)
        if key not in verdicts:
            verdicts[key] = index.compare_positions(*key)
        return verdicts[key]

    matches = _drop_ambiguous_links(matches, verdict, ambiguity_margin)
    blocked = 0
    # Strongest evidence first, so a weak link cannot pull a record away from its best partner.
    for _score, i, j in sorted(matches, key=lambda m: (-m[0], m[1], m[2])):
        ri, rj = root(i), root(j)
        if ri == rj:
            continue
        # Chaining guard: A~B and B~C must not merge A and C when A and C are clearly different people.
        if any(_is_hard_conflict(verdict(x, y)) for x in members[ri] for y in members[rj]):
            blocked += 1
            continue
        if len(members[ri]) < len(members[rj]):
            ri, rj = rj, ri
        parent[rj] = ri
        members[ri].extend(members.pop(rj))

    labels: dict[int, str] = {}
    person_ids: list[str] = []
    for i in range(len(records)):
        r = root(i)
        if r not in labels:
            labels[r] = f"P{len(labels) + 1:06d}"
        person_ids.append(labels[r])
    possible = [
        v for (i, j), v in verdicts.items() if v.band == "possible" and person_ids[i] != person_ids[j]
    ]
    possible.sort(key=lambda v: -v.score)
    return DedupeResult(
        person_ids=person_ids,
        pairs_compared=compared,
        match_pairs=len(matches),
        possible_pairs=possible,
        blocked_merges=blocked,
    )


def dedupe_rows(rows: Iterable[Mapping[str, str | None] | PersonRecord]) -> list[str]:
    """Returns one person id per row (mappings with the DEDUPE_COLUMNS or PersonRecords), same order."""
    records = [
        row if isinstance(row, PersonRecord) else _record(row, f"row {n}")
        for n, row in enumerate(rows, start=1)
    ]
    return dedupe_records(records).person_ids


def _record(row: Mapping[str, str | None], where: str) -> PersonRecord:
    try:
        return record_from_mapping(row, where=where)
    except LinkageError as error:
        raise DedupeInputError(str(error)) from error


def read_dedupe_csv(path: Path | str) -> tuple[list[str], list[dict[str, str]], list[PersonRecord]]:
    """Returns header, raw rows and person records of a dedupe CSV; raises DedupeInputError on a bad row."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in DEDUPE_COLUMNS if c not in header]
        if missing:
            raise DedupeInputError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        rows: list[dict[str, str]] = []
        records: list[PersonRecord] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if None in row:
                raise DedupeInputError(f"{path}: line {line}: more fields than the header has")
            record = _record(row, f"{path}: line {line}")
            if record.record_id in seen:
                raise DedupeInputError(
                    f"{path}: line {line}: field record_id: {record.record_id!r} "
                    f"already used on line {seen[record.record_id]}"
                )
            seen[record.record_id] = line
            rows.append(row)
            records.append(record)
    return header, rows, records


def dedupe_csv(
    input_path: Path | str, output_path: Path | str, *, progress: ProgressCallback | None = None
) -> DedupeResult:
    """Reads a person CSV, assigns person ids and writes the rows plus a person_id column (all or nothing)."""
    header, rows, records = read_dedupe_csv(input_path)
    result = dedupe_records(records, progress=progress)
    output_path = Path(output_path)
    out_header = header if "person_id" in header else [*header, "person_id"]
    # Write beside the target and rename, so a failure never leaves a half-written output.
    fd, tmp_name = tempfile.mkstemp(prefix=".dedupe-", suffix=".csv", dir=output_path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=out_header)
            writer.writeheader()
            for row, person_id in zip(rows, result.person_ids, strict=True):
                writer.writerow({**row, "person_id": person_id})
        os.replace(tmp_name, output_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return result


def write_review_csv(pairs: Iterable[MatchResult], path: Path | str) -> int:
    """Writes possible matches (record ids, score, reasons) for manual review and returns how many."""
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "other_record_id", "score", "band", "reasons"])
        for pair in pairs:
            writer.writerow(
                [
                    pair.record_id,
                    pair.other_record_id,
                    f"{pair.score:.1f}",
                    pair.band,
                    "; ".join(pair.reasons()),
                ]
            )
            count += 1
    return count
