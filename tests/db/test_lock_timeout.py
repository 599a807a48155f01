"""PostgreSQL connections give up waiting for a lock after LOCK_TIMEOUT_MS, and the error is recognised."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gmc.db.core import LOCK_TIMEOUT_MS, Database, is_lock_timeout


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_connections_carry_the_lock_timeout(database: Database) -> None:
    with database.engine.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar_one() == f"{LOCK_TIMEOUT_MS // 1000}s"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_waiter_fails_with_a_recognised_lock_timeout(db_url: str) -> None:
    # A short timeout for the test; the production default is the same mechanism.
    quick = Database(db_url, connect_args={"options": "-c lock_timeout=200"})
    try:
        with quick.engine.connect() as holder, quick.engine.connect() as waiter:
            holder.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            with pytest.raises(Exception) as caught:
                waiter.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            assert is_lock_timeout(caught.value)
            holder.rollback()
    finally:
        quick.dispose()
    assert not is_lock_timeout(ValueError("not a database error"))
