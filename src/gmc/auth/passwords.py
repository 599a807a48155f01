"""Password hashing with argon2id, and the password policy: 12+ characters, not a common or guessable one.

The policy follows the NCSC's password guidance: a minimum length, a deny-list of common passwords, and no
composition rules (no "one digit and one symbol"). The deny-list is zxcvbn's (a maintained package): its lists of
leaked passwords, words and names, matched with common substitutions, reversals, keyboard walks, repeats and
dates; a password whose estimated guess count is below 10^8 (zxcvbn score < 3) is refused, with zxcvbn's reason.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from gmc.common.errors import ValidationFailed

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
#: zxcvbn scores 0-4; 3 means at least 10^8 guesses, enough behind sign-in throttling and argon2id.
MIN_STRENGTH_SCORE = 3

# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("gmc-timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the hash; with no hash, the same work is done against a dummy one."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password(password: str, *, user_inputs: list[str] | None = None, field: str = "password") -> None:
    """Refuses a password that is too short, too long, or common or easy to guess (naming why)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at most {MAX_PASSWORD_LENGTH} characters", field=field)
    inputs = [i for i in (user_inputs or []) if i]
    # zxcvbn looks at the first 100 characters (its own limit); longer passwords are long enough anyway.
    result = zxcvbn(password[:100], user_inputs=inputs)
    if result["score"] < MIN_STRENGTH_SCORE:
        feedback = result.get("feedback") or {}
        reason = feedback.get("warning") or "it is too easy to guess"
        raise ValidationFailed(
            f"password refused: {reason.rstrip('.')}. It is, or is built from, a common password, word or pattern; "
            "a few unrelated words make a strong one", field=field)
