"""The request-scoped database session: the request boundary commits, errors roll back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from gmc.db.core import GmcSession


def get_db(request: Request) -> Iterator[GmcSession]:
    """Yields a session bound to the app's database; commits when the handler succeeds."""
    session = request.app.state.database.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: The session parameter type for routes. scope="function" makes the commit happen when the
#: handler returns and before the response is sent, so a failed commit is a 500, not a lost write.
DbSession = Annotated[GmcSession, Depends(get_db, scope="function")]

#: The same, as a default value: `db: GmcSession = DB`.
DB = Depends(get_db, scope="function")
