"""The request-scoped database session: the request boundary commits, errors roll back."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request

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
