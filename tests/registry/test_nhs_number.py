"""Tests for NHS number validation, formatting and test-number generation."""

from __future__ import annotations

import pytest

from gmc.registry.nhs_number import (
    InvalidNhsNumber,
    expected_check_digit,
    format_nhs_number,
    generate_test_nhs_numbers,
    is_valid_nhs_number,
    normalise_nhs_number,
)


def test_published_example_is_valid() -> None:
    # 943 476 5919 is the example used in NHS Digital's data dictionary.
    # Hand check: 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299; 299 % 11 = 2; 11 - 2 = 9.
    assert expected_check_digit("943476591") == 9
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("943-476-5919") == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"


def test_remainder_rules() -> None:
    # 100 000 001: 1*10 + 1*2 = 12; 12 % 11 = 1; 11 - 1 = 10 -> no valid check digit.
    assert expected_check_digit("100000001") is None
    # 110 000 000: 1*10 + 1*9 = 19; 19 % 11 = 8; 11 - 8 = 3.
    assert expected_check_digit("110000000") == 3
    # 010 000 001: 1*9 + 1*2 = 11; 11 % 11 = 0; 11 - 0 = 11 -> check digit 0.
    assert expected_check_digit("010000001") == 0
    assert is_valid_nhs_number("0100000010")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("943476591", "wrong length: 9 digits"),
        ("94347659190", "wrong length: 11 digits"),
        ("943476591X", "non-digit"),
        ("9434765918", "check digit mismatch: expected 9 got 8"),
        ("1000000010", "no valid check digit"),
        ("1111111111", "all digits are the same"),
        ("", "empty"),
    ],
)
def test_invalid_numbers_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidNhsNumber, match=reason):
        normalise_nhs_number(value)
    assert not is_valid_nhs_number(value)


def test_invalid_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        format_nhs_number("123")


def test_generated_test_numbers_are_valid_distinct_and_reserved() -> None:
    numbers = generate_test_nhs_numbers(2000, seed=7)
    assert len(set(numbers)) == 2000
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)
    assert generate_test_nhs_numbers(5, seed=7) == numbers[:5]
