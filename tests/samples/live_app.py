"""The app factory the concurrency test serves with uvicorn: the real app with a pool for 50 callers."""

from __future__ import annotations

from fastapi import FastAPI

from gmc.db.core import Database
from gmc.settings import get_settings
from gmc.web.app import create_app

#: Connections kept open. gmc's async get_principal runs its first query on the event loop thread, so
#: when more requests are in flight than the pool holds, the loop itself blocks waiting for a connection
#: and the server stalls; the pool must cover the expected concurrency (reported to the lead).
POOL_SIZE = 60


def create() -> FastAPI:
    """The gmc app over a connection pool sized for the test's 50 concurrent scanning stations."""
    settings = get_settings()
    return create_app(settings, database=Database(settings.database_url, pool_size=POOL_SIZE, max_overflow=0))
