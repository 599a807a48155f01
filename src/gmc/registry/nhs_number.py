"""NHS number validation (modulus 11), canonical formatting and test-number generation."""

from __future__ import annotations

import random
from collections.abc import Iterator

#: Weights applied to the first nine digits, left to right, by the modulus 11 algorithm.
NHS_WEIGHTS: tuple[int, ...] = (10, 9, 8, 7, 6, 5, 4, 3, 2)

#: Numbers starting 999 are reserved by NHS England for testing and are never issued to people.
TEST_PREFIX = "999"

_SEPARATORS = str.maketrans("", "", " -")


class InvalidNhsNumber(ValueError):
    """An NHS number that fails format or check-digit validation; the message says why."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid NHS number {value!r}: {reason}")


def expected_check_digit(first_nine: str) -> int | None:
    """Returns the modulus 11 check digit for nine digits, or None when no valid digit exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(value: str) -> str:
    """Returns the ten digits of a valid NHS number (spaces, hyphens allowed); raises InvalidNhsNumber."""
    if not isinstance(value, str):
        raise InvalidNhsNumber(str(value), f"expected text, got {type(value).__name__}")
    digits = value.strip().translate(_SEPARATORS)
    if not digits:
        raise InvalidNhsNumber(value, "empty")
    if not digits.isascii() or not digits.isdigit():
        bad = sorted({c for c in digits if not (c.isascii() and c.isdigit())})
        raise InvalidNhsNumber(value, f"contains non-digit characters {''.join(bad)!r}")
    if len(digits) != 10:
        raise InvalidNhsNumber(value, f"wrong length: {len(digits)} digits, expected 10")
    if len(set(digits)) == 1:
        # 0000000000, 1111111111 ... pass some naive checks but are well-known placeholders.
        raise InvalidNhsNumber(value, "all digits are the same")
    expected = expected_check_digit(digits[:9])
    got = int(digits[9])
    if expected is None:
        raise InvalidNhsNumber(
            value, f"check digit mismatch: no valid check digit exists (remainder 10), got {got}"
        )
    if expected != got:
        raise InvalidNhsNumber(value, f"check digit mismatch: expected {expected} got {got}")
    return digits


def is_valid_nhs_number(value: str) -> bool:
    """Returns True when the value is a valid NHS number (spaces/hyphens allowed)."""
    try:
        normalise_nhs_number(value)
    except InvalidNhsNumber:
        return False
    return True


def format_nhs_number(value: str) -> str:
    """Returns a valid NHS number in canonical 3-3-4 form, e.g. '943 476 5919'."""
    digits = normalise_nhs_number(value)
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def generate_test_nhs_numbers(count: int, *, seed: int | None = None) -> list[str]:
    """Returns `count` distinct valid NHS numbers from the 999 test range (bare ten digits)."""
    if count > 900_000:
        raise ValueError(f"count {count} too large for the test range")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        number = _draw_test_number(rng)
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def iter_test_nhs_numbers(*, seed: int | None = None) -> Iterator[str]:
    """Yields an endless stream of valid 999-range test NHS numbers (may repeat)."""
    rng = random.Random(seed)
    while True:
        yield _draw_test_number(rng)


def _draw_test_number(rng: random.Random) -> str:
    while True:
        first_nine = TEST_PREFIX + f"{rng.randrange(1_000_000):06d}"
        check = expected_check_digit(first_nine)
        if check is not None:
            candidate = first_nine + str(check)
            if len(set(candidate)) > 1:
                return candidate
