"""The request-scoped database session: the request boundary commits, errors roll back."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request

from gmc.db.core import GmcSession

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


async def get_db(request: Request) -> AsyncIterator[GmcSession]:
    """Yields a session bound to the app's database; commits when the handler succeeds.

    The commit runs in a thread of its own pool, not the handlers' one: a transaction that holds a lock (the
    audit chain's, a row's) must always be able to finish, or a burst of writers that fills the handlers' pool
    while waiting for that lock would wait forever for the one thread the holder needs to commit.
    """
    session = request.app.state.database.session()
    try:
        yield session
    except BaseException:
        # Shielded: a cancelled request (client gone) must still give its connection back.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_rollback_and_close, session, limiter=_end_limiter())
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_commit_and_close, session, limiter=_end_limiter())


#: The session parameter type for routes. scope="function" makes the commit happen when the
#: handler returns and before the response is sent, so a failed commit is a 500, not a lost write.
DbSession = Annotated[GmcSession, Depends(get_db, scope="function")]

#: The same, as a default value: `db: GmcSession = DB`.
DB = Depends(get_db, scope="function")
