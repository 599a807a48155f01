"""Alembic environment: runs gmc's migrations on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import context

from gmc.bootstrap import load_models
from gmc.db.core import Base, create_db_engine

config = context.config
load_models()
target_metadata = Base.metadata


def run_migrations() -> None:
    """Runs the migrations online against the configured URL."""
    url = config.attributes.get("gmc_url") or config.get_main_option("sqlalchemy.url")
    engine = create_db_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
