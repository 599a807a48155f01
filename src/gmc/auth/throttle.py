"""Sign-in throttling by account and by address: growing delays after failures, never a lock-out.

Failures are counted per account name (hashed, and whether or not such a user exists, so the answer never tells
which names are real) and per client address. After the free failures each further one makes the next attempt
wait twice as long, up to a cap; an attempt that comes before then is refused without checking the password.
An attacker can slow sign-ins to an account down, but not lock its owner out for longer than the cap.

Each attempt is counted *before* its password is checked, in one atomic statement per key, so a burst of
parallel guesses cannot slip through on a count read before the others were written; a success then gives the
attempt back (and clears the account's failures).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gmc.auth.models import LoginThrottle
from gmc.common.time import as_utc, utcnow


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free and how long the delays may grow (from the GMC_LOGIN_* settings)."""

    account_free: int = 5
    address_free: int = 20
    first_delay_seconds: int = 1
    max_delay_seconds: int = 900
    window_minutes: int = 60

    @classmethod
    def from_settings(cls, settings: object) -> ThrottlePolicy:
        """The policy the settings describe."""
        return cls(account_free=settings.login_free_failures,  # type: ignore[attr-defined]
                   address_free=settings.login_address_free_failures,  # type: ignore[attr-defined]
                   first_delay_seconds=settings.login_first_delay_seconds,  # type: ignore[attr-defined]
                   max_delay_seconds=settings.login_max_delay_seconds,  # type: ignore[attr-defined]
                   window_minutes=settings.login_failure_window_minutes)  # type: ignore[attr-defined]

    def delay(self, failures: int, free: int) -> int:
        """Seconds to wait after the given number of failures in a row (0 while they are free)."""
        if failures <= free:
            return 0
        return min(self.max_delay_seconds, self.first_delay_seconds * 2 ** min(failures - free - 1, 30))


def account_key(username: str) -> str:
    """The throttle key of an account name (hashed: no usernames in this table)."""
    return "account:" + hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()[:40]


def address_key(address: str | None) -> str:
    """The throttle key of a client address."""
    return f"address:{(address or 'unknown')[:80]}"


@dataclass(frozen=True)
class Attempt:
    """An attempt that was counted: wait > 0 means it was refused unchecked; started > 0 that a delay began."""

    account: str
    address: str
    wait: int
    started: int


def begin_attempt(session: Session, *, username: str, address: str | None, policy: ThrottlePolicy) -> Attempt:
    """Counts a sign-in attempt against its account and address, or says how long it must wait first."""
    now = utcnow()
    account, addr = account_key(username), address_key(address)
    wait = started = 0
    counted: list[tuple[str, int, int]] = []
    for key, free in ((account, policy.account_free), (addr, policy.address_free)):
        failures, blocked_until = _count(session, key, now, policy)
        if blocked_until is not None and as_utc(blocked_until) > now:
            wait = max(wait, int((as_utc(blocked_until) - now).total_seconds()) + 1)
            continue
        counted.append((key, failures, free))
    if wait:
        # Refused unchecked: give back what this attempt counted on the key that was not blocked.
        for key, failures, _free in counted:
            _set(session, key, failures - 1, 0, now)
        return Attempt(account, addr, wait, 0)
    for key, failures, free in counted:
        delay = policy.delay(failures, free)
        if delay:
            _set(session, key, failures, delay, now)
        started = max(started, delay)
    if random.random() < 0.01:
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - timedelta(minutes=policy.window_minutes)))
    return Attempt(account, addr, 0, started)


def _count(session: Session, key: str, now: datetime, policy: ThrottlePolicy) -> tuple[int, datetime | None]:
    """Adds one to the key's failures unless it is blocked (forgiven after the window) in one statement."""
    window_start = now - timedelta(minutes=policy.window_minutes)
    table = LoginThrottle.__table__
    blocked = (table.c.blocked_until.is_not(None)) & (table.c.blocked_until > now)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(key=key, failures=1, last_failure_at=now, blocked_until=None)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((blocked, table.c.failures), (table.c.last_failure_at < window_start, 1),
                             else_=table.c.failures + 1),
            "blocked_until": case((blocked, table.c.blocked_until), else_=None),
            "last_failure_at": case((blocked, table.c.last_failure_at), else_=now),
        },
    ).returning(table.c.failures, table.c.blocked_until)
    row = session.execute(stmt).one()
    return row.failures, row.blocked_until


def _set(session: Session, key: str, failures: int, delay: int, now: datetime) -> None:
    session.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(
        failures=max(failures, 0), blocked_until=now + timedelta(seconds=delay) if delay else None))


def succeeded(session: Session, attempt: Attempt) -> None:
    """A successful sign-in clears the account's failures and gives the address its attempt back."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == attempt.account))
    row = session.get(LoginThrottle, attempt.address, populate_existing=True)
    if row is not None:
        # The address was not blocked when this attempt began, and is not now.
        _set(session, attempt.address, row.failures - 1, 0, utcnow())


def recent_failures(session: Session, username: str, policy: ThrottlePolicy) -> int:
    """Failed sign-ins in a row for this account name within the window (for the admin's users page)."""
    row = session.execute(select(LoginThrottle).where(LoginThrottle.key == account_key(username))).scalar_one_or_none()
    if row is None or as_utc(row.last_failure_at) < utcnow() - timedelta(minutes=policy.window_minutes):
        return 0
    return row.failures
