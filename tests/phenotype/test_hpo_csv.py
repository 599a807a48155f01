"""Tests for bulk HPO CSV parsing against the real HPO 2025-01-16 release."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from gmc.phenotype.hpo_csv import HpoCsvError, HpoRow, parse_hpo_csv, parse_hpo_csv_text


@pytest.fixture(scope="module")
def hpo_terms(refdata_dir: Path) -> tuple[set[str], set[str]]:
    """(current term ids, obsolete term ids) read straight from the OBO file."""
    current: set[str] = set()
    obsolete: set[str] = set()
    term_id = None
    with gzip.open(refdata_dir / "hpo" / "hpo_2025-01-16_hp.obo.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("id: HP:"):
                term_id = line[4:].strip()
                current.add(term_id)
            elif line.startswith("is_obsolete: true") and term_id:
                obsolete.add(term_id)
    return current - obsolete, obsolete


@pytest.fixture(scope="module")
def known_term(hpo_terms) -> Callable[[str], bool]:
    current, _ = hpo_terms
    return current.__contains__


def test_valid_file(tmp_path: Path, known_term) -> None:
    path = tmp_path / "terms.csv"
    path.write_text(
        "\ufeffparticipant_id,term_id,status,onset,notes\n"
        'P001,HP:0001250,observed,HP:0003593,"focal, then generalised"\n'
        "P001,HP:0001263,excluded,,\n"
        "\n"
        "P002,HP:0001250,Observed,P2Y6M,\n",
        encoding="utf-8",
    )
    rows = parse_hpo_csv(path, known_term=known_term)
    assert rows == [
        HpoRow("P001", "HP:0001250", False, "HP:0003593", "focal, then generalised", 2),
        HpoRow("P001", "HP:0001263", True, None, "", 3),
        HpoRow("P002", "HP:0001250", False, "P2Y6M", "", 5),
    ]


def test_tab_separated_without_optional_columns(known_term) -> None:
    rows = parse_hpo_csv_text(
        "participant_id\tterm_id\tstatus\nP9\tHP:0000407\texcluded\n", known_term=known_term
    )
    assert rows == [HpoRow("P9", "HP:0000407", True, None, "", 2)]


def test_every_bad_row_is_reported_and_nothing_returned(tmp_path: Path, known_term, hpo_terms) -> None:
    _, obsolete = hpo_terms
    obsolete_id = sorted(obsolete)[0]
    path = tmp_path / "bad.csv"
    path.write_text(
        "participant_id,term_id,status,onset,notes\n"
        "P001,HP:0001250,observed,,fine\n"  # 2: good
        "P001,HP:12,observed,,\n"  # 3: malformed id
        f"P001,{obsolete_id},observed,,\n"  # 4: obsolete
        "P001,HP:9999999,observed,,\n"  # 5: not in HPO
        ",HP:0001263,maybe,,\n"  # 6: no participant, bad status
        "P002,HP:0001263,observed,three years,\n"  # 7: bad onset
        "P001,HP:0001250,excluded,,\n"  # 8: contradicts line 2
        "P003,HP:0001263,excluded,P1Y,\n"  # 9: onset on an excluded term
        "P003,HP:0001263\n"  # 10: too few fields
    )
    with pytest.raises(HpoCsvError) as caught:
        parse_hpo_csv(path, known_term=known_term)
    problems = {(line, field) for line, field, _ in caught.value.problems}
    assert problems == {
        (3, "term_id"),
        (4, "term_id"),
        (5, "term_id"),
        (6, "participant_id"),
        (6, "status"),
        (7, "onset"),
        (8, "term_id"),
        (9, "onset"),
        (10, ""),
    }
    message = str(caught.value)
    assert str(path) in message and "9 problem(s)" in message
    assert "line 3 term_id: 'HP:12' is not an HPO id" in message
    assert "both observed and excluded for P001 (see line 2)" in message


def test_header_problems(known_term) -> None:
    with pytest.raises(HpoCsvError) as caught:
        parse_hpo_csv_text("participant,term_id,stauts\nP1,HP:0001250,observed\n", known_term=known_term)
    fields = {field for _, field, _ in caught.value.problems}
    assert fields == {"participant_id", "status", "participant", "stauts"}
    assert all(line == 1 for line, _, _ in caught.value.problems)


def test_empty_and_unreadable(tmp_path: Path, known_term) -> None:
    with pytest.raises(HpoCsvError, match="empty"):
        parse_hpo_csv_text("\n\n", known_term=known_term)
    with pytest.raises(HpoCsvError, match="no rows"):
        parse_hpo_csv_text("participant_id,term_id,status\n", known_term=known_term)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        "participant_id,term_id,status,notes\nP1,HP:0001250,observed,Gar\xe7on\n".encode("latin-1")
    )
    with pytest.raises(HpoCsvError, match="line 2: file is not UTF-8"):
        parse_hpo_csv(latin1, known_term=known_term)
    with pytest.raises(HpoCsvError, match="cannot read file"):
        parse_hpo_csv(tmp_path / "missing.csv", known_term=known_term)
