"""Migrations run unchanged on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gmc.bootstrap import load_models
from gmc.db.core import Base
from gmc.db.migrate import upgrade


def test_schema_matches_models(database) -> None:
    load_models()
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent(database) -> None:
    upgrade(database.url)
    upgrade(database.url)
    tables = set(sa.inspect(database.engine).get_table_names())
    assert {"audit_event", "centre", "trust", "app_user", "api_token", "web_session"} <= tables
