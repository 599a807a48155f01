"""The second factor: TOTP (RFC 6238, with pyotp) and single-use recovery codes; QR codes drawn with segno."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

#: Codes from one step either side of now are accepted (clock drift); each step at most once per user.
VALID_STEPS = (-1, 0, 1)
RECOVERY_CODES = 10
ISSUER = "gmc"


def new_secret() -> str:
    """A fresh random TOTP secret (base32, 160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no script, no image request: fine under a strict CSP)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff",
                                                 title="Scan with your authenticator app")


def matching_step(secret: str, code: str, *, after_step: int | None, now: float | None = None) -> int | None:
    """The time step whose code this is, if it is within the window and later than the last one used."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now if now is not None else time.time())
    found = None
    for offset in VALID_STEPS:
        step = current + offset
        # Every candidate is compared, so the time taken does not say which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and (after_step is None or step > after_step):
            found = step
    return found


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Fresh single-use recovery codes (80 random bits each, grouped for reading aloud)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(n):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """How a recovery code is stored (its SHA-256 after normalising case and separators)."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    """True for input shaped like a recovery code rather than a six-digit TOTP code."""
    return len("".join(ch for ch in code if ch.isalnum())) == 16
