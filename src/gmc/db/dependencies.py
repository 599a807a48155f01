"""The request-scoped database session: the request boundary commits, errors roll back."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gmc.db.core import Database, GmcSession

#: Threads for ending sessions (commit or rollback, then close), apart from the handlers' thread pool.
END_THREADS = 64

_end_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _end_limiter() -> anyio.CapacityLimiter:
    """The running event loop's limiter for ending sessions (one per loop: limiters are bound to their loop)."""
    loop = asyncio.get_running_loop()
    limiter = _end_limiters.get(loop)
    if limiter is None:
        limiter = _end_limiters[loop] = anyio.CapacityLimiter(END_THREADS)
    return limiter


def _commit_and_close(session: GmcSession) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback_and_close(session: GmcSession) -> None:
    try:
        session.rollback()
    finally:
        session.close()


#: Connections of the pool kept out of the request queue: background jobs (an import and its progress) use them.
RESERVED_CONNECTIONS = 2

_session_limiters: weakref.WeakKeyDictionary[Database, dict[asyncio.AbstractEventLoop, anyio.CapacityLimiter]] = (
    weakref.WeakKeyDictionary()
)


def session_capacity(database: Database) -> int | None:
    """How many requests may hold a session at once: the pool's connections less those kept for jobs (None for a
    pool without a limit)."""
    pool = database.engine.pool
    size = getattr(pool, "size", None)
    if not callable(size):
        return None
    capacity = size() + max(getattr(pool, "_max_overflow", 0), 0)
    return max(capacity - RESERVED_CONNECTIONS, 1) if capacity > 2 * RESERVED_CONNECTIONS else capacity


def _session_limiter(database: Database) -> anyio.CapacityLimiter | None:
    """The running loop's queue for sessions of this database (None when its pool has no limit)."""
    capacity = session_capacity(database)
    if capacity is None:
        return None
    per_loop = _session_limiters.setdefault(database, {})
    loop = asyncio.get_running_loop()
    limiter = per_loop.get(loop)
    if limiter is None:
        limiter = per_loop[loop] = anyio.CapacityLimiter(capacity)
    return limiter


async def get_db(request: Request) -> AsyncIterator[GmcSession]:
    """Yields a session bound to the app's database; commits when the handler succeeds.

    Requests queue for a session on the event loop (a queue that holds no thread), at most as many at once as the
    pool has connections. Without that queue, 50 clients filled the handlers' 40 threads, most of them waiting
    for a connection, and a request holding the audit chain's lock could not get the thread FastAPI needs to
    validate its response before the commit: everyone waited for a timeout (409s and 503s under load). With it,
    every session holder has a connection and threads to spare. A request that waits longer than
    GMC_DB_QUEUE_SECONDS gets 503 with Retry-After.

    The commit runs in a thread of its own pool, not the handlers' one, for the same reason: a transaction that
    holds a lock (the audit chain's, a row's) must always be able to finish.
    """
    database: Database = request.app.state.database
    limiter = _session_limiter(database)
    if limiter is not None:
        with anyio.move_on_after(request.app.state.settings.db_queue_seconds) as waited:
            await limiter.acquire()
        if waited.cancelled_caught:
            raise PoolTimeout("every database session is in use; waited too long in the queue")
    try:
        session = database.session()
        try:
            yield session
        except BaseException:
            # Shielded: a cancelled request (client gone) must still give its connection back.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_rollback_and_close, session, limiter=_end_limiter())
            raise
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_commit_and_close, session, limiter=_end_limiter())
    finally:
        if limiter is not None:
            limiter.release()


#: The session parameter type for routes. scope="function" makes the commit happen when the
#: handler returns and before the response is sent, so a failed commit is a 500, not a lost write.
DbSession = Annotated[GmcSession, Depends(get_db, scope="function")]

#: The same, as a default value: `db: GmcSession = DB`.
DB = Depends(get_db, scope="function")
