"""Alembic migrations run programmatically (`gmc db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at gmc's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["gmc_url"] = url
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Brings the database schema up to date (every feature's branch)."""
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> set[str]:
    """The revisions the database is at."""
    from alembic.runtime.migration import MigrationContext

    from gmc.db.core import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
