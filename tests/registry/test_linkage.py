"""Tests for record linkage: exact NHS number, weighted demographics, bands, reasons and hard negatives."""

from __future__ import annotations

import math
from datetime import date

import pytest

from gmc.registry.linkage import (
    LinkageError,
    LinkageIndex,
    PersonRecord,
    compare_records,
    find_matches,
    normalise_postcode,
    record_from_mapping,
)
from gmc.registry.names import are_nicknames, nickname_pair_count, normalise_name


def person(
    record_id: str,
    family: str,
    given: str,
    dob: str,
    sex: str = "M",
    postcode: str | None = "B15 2TT",
    nhs: str | None = None,
    trust: str = "RRK",
    mrn: str | None = None,
) -> PersonRecord:
    return PersonRecord(record_id, nhs, family, given, date.fromisoformat(dob), sex, postcode, trust, mrn)


def levels(result) -> dict[str, str]:
    return {c.field: c.level for c in result.fields}


def test_score_is_the_sum_of_documented_weights() -> None:
    # Without frequencies the name weights use the priors: log2(0.9 / 0.002) and log2(0.9 / 0.01).
    a = person("a", "Whitehouse", "Eleanor", "1971-05-02", "F")
    b = person("b", "Whitehouse", "Eleanor", "1971-05-02", "F")
    expected = math.log2(0.9 / 0.002) + math.log2(0.9 / 0.01) + 13.5 + 1.0 + 9.0
    result = compare_records(a, b)
    assert result.score == pytest.approx(expected)
    assert result.band == "match"


def test_identical_nhs_number_wins_over_name_changes() -> None:
    a = person("a", "Patel", "Priya", "1985-11-30", "F", nhs="943 476 5919")
    b = person("b", "Shah", "Priya", "1985-11-30", "F", postcode="CV1 5FB", nhs="9434765919")
    result = compare_records(a, b)
    assert result.band == "match"
    assert levels(result)["nhs_number"] == "exact"


def test_different_valid_nhs_numbers_are_different_people() -> None:
    a = person("a", "Smith", "John", "1960-01-01", nhs="9434765919")
    b = person("b", "Smith", "Jon", "1960-01-01", nhs="4010232137")
    result = compare_records(a, b)
    assert result.band == "non-match"


def test_different_nhs_numbers_with_identical_demographics_are_flagged_not_merged() -> None:
    a = person("a", "Smith", "John", "1960-01-01", nhs="9434765919")
    b = person("b", "Smith", "John", "1960-01-01", nhs="4010232137")
    result = compare_records(a, b)
    assert result.band == "possible"
    assert any("different NHS numbers" in f for f in result.flags)


def test_invalid_nhs_number_falls_back_to_demographics() -> None:
    a = person("a", "Smith", "John", "1960-01-01", nhs="9434765918")  # wrong check digit
    b = person("b", "Smith", "John", "1960-01-01", nhs="4010232137")
    assert "nhs_number" not in levels(compare_records(a, b))


@pytest.mark.parametrize(
    ("a", "b", "field", "level"),
    [
        (("Smyth", "Jonathan"), ("Smith", "Jonathan"), "family_name", "typo"),
        (("Whitehouse", "Jonathon"), ("Whitehouse", "Jonathan"), "given_name", "typo"),
        (("Harris", "Bill"), ("Harris", "William"), "given_name", "nickname"),
        (("Harris", "Peggy"), ("Harris", "Margaret"), "given_name", "nickname"),
        (("Khan", "Mohammed"), ("Khan", "Muhammad"), "given_name", "nickname"),
        (("Ahmed", "Bilal"), ("Bilal", "Ahmed"), "family_name", "swapped"),
    ],
)
def test_tolerated_name_errors_still_match(
    a: tuple[str, str], b: tuple[str, str], field: str, level: str
) -> None:
    result = compare_records(person("a", *a, "1979-08-14"), person("b", *b, "1979-08-14"))
    assert levels(result)[field] == level
    assert result.band == "match", result.reasons()


def test_transposed_day_and_month() -> None:
    result = compare_records(
        person("a", "Jones", "Carys", "1992-03-07", "F"), person("b", "Jones", "Carys", "1992-07-03", "F")
    )
    assert levels(result)["date_of_birth"] == "transposed"
    assert result.band == "match"


def test_moved_address_still_matches() -> None:
    a = person("a", "Nowak", "Agnieszka", "1988-02-19", "F", postcode="B15 2TT")
    b = person("b", "Nowak", "Agnieszka", "1988-02-19", "F", postcode="WV10 0QP", trust="RL4")
    result = compare_records(a, b)
    assert levels(result)["postcode"] == "disagree"
    assert result.band == "match"


def test_changed_surname_at_same_address_matches_and_says_so() -> None:
    a = person("a", "Brown", "Rebecca", "1990-06-21", "F")
    b = person("b", "Okafor", "Rebecca", "1990-06-21", "F")
    result = compare_records(a, b)
    assert result.band in ("match", "possible")
    assert any("changed surname" in f for f in result.flags)


def test_changed_surname_after_a_move_needs_a_human() -> None:
    a = person("a", "Brown", "Rebecca", "1990-06-21", "F", postcode="B15 2TT")
    b = person("b", "Okafor", "Rebecca", "1990-06-21", "F", postcode="DY1 4QX")
    result = compare_records(a, b)
    assert result.band == "possible"
    assert "family_name: different (BROWN / OKAFOR) (-4.0)" in result.reasons()


def test_twins_are_not_matched() -> None:
    a = person("a", "Begum", "Ayesha", "2015-04-02", "F")
    b = person("b", "Begum", "Fatima", "2015-04-02", "F")
    result = compare_records(a, b)
    assert result.band == "non-match"
    assert any("twin" in f for f in result.flags)


def test_parent_and_child_with_the_same_name_at_one_address_are_not_matched() -> None:
    father = person("a", "Walker", "David", "1961-09-12")
    son = person("b", "Walker", "David", "1990-02-27")
    assert compare_records(father, son).band == "non-match"


def test_brother_and_sister_with_similar_names_are_not_auto_matched() -> None:
    brother = person("a", "Thomas", "Oliver", "2012-01-05", "M")
    sister = person("b", "Thomas", "Olivia", "2012-01-05", "F")
    assert compare_records(brother, sister).band != "match"


def test_placeholder_given_name_counts_as_missing() -> None:
    baby = person("a", "Kowalski", "Baby", "2025-10-01", "F")
    named = person("b", "Kowalski", "Zofia", "2025-10-01", "F")
    result = compare_records(baby, named)
    assert levels(result)["given_name"] == "missing"
    assert result.band == "match"


def test_find_matches_ranks_the_right_person_first_with_reasons() -> None:
    existing = [
        person("r1", "Evans", "Robert", "1950-12-01", postcode="WS1 1AA", trust="RBK"),
        person("r2", "Evans", "Richard", "1950-12-01", postcode="WS1 1AA", trust="RBK"),  # twin
        person("r3", "Evans", "Robert", "1978-05-05", postcode="WS1 1AA", trust="RBK"),  # son
        person("r4", "Edwards", "Roberta", "1950-12-01", "F", postcode="B1 1AA"),
    ]
    index = LinkageIndex(existing)
    candidate = person("new", "Evans", "Bob", "1950-12-01", postcode="WS1 1AB", trust="RXK")
    matches = find_matches(candidate, index)
    assert matches[0].other_record_id == "r1"
    assert matches[0].band == "match"
    assert "given_name: known name variants (BOB / ROBERT) (+5.0)" in matches[0].reasons()
    assert {m.other_record_id for m in matches} <= {"r1", "r4"}


def test_find_matches_accepts_plain_records() -> None:
    existing = [person("r1", "Sandhu", "Harjit", "1969-07-30", "F")]
    assert (
        find_matches(person("c", "Sandhu", "Harjit", "1969-07-30", "F"), existing)[0].other_record_id == "r1"
    )


def test_nickname_table_is_broad_and_symmetric() -> None:
    assert nickname_pair_count() >= 300
    for a, b in [
        ("BILL", "WILLIAM"),
        ("LIAM", "WILL"),
        ("LIZ", "ELIZABETH"),
        ("BETH", "ELIZABETH"),
        ("BOB", "ROBERT"),
    ]:
        assert are_nicknames(a, b) and are_nicknames(b, a)
    assert not are_nicknames("JOHN", "MARY")


def test_name_and_postcode_normalisation() -> None:
    assert normalise_name("Mrs  O'Brien-Smith") == "OBRIEN SMITH"
    assert normalise_name("Zoë") == "ZOE"
    assert normalise_postcode(" b15 2tt ") == "B152TT"
    assert normalise_postcode("not a postcode") is None


def test_record_from_mapping_names_the_bad_field() -> None:
    row = {"record_id": "x1", "family_name": "Ali", "given_name": "Omar", "date_of_birth": "31/02/1990"}
    with pytest.raises(LinkageError, match="line 7: field date_of_birth"):
        record_from_mapping(row, where="line 7")
    with pytest.raises(LinkageError, match="field nhs_number: .*check digit"):
        record_from_mapping(
            {**row, "date_of_birth": "1990-02-01", "nhs_number": "9434765918"}, where="line 8"
        )
    with pytest.raises(LinkageError, match="field sex"):
        record_from_mapping({**row, "date_of_birth": "1990-02-01", "sex": "X"}, where="line 9")
