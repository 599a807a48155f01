"""Database core: the declarative base, engines for SQLite and PostgreSQL, and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every gmc model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class GmcSession(Session):
    """The session class gmc uses; audit hooks attach to it."""


def _configure_sqlite(engine: Engine) -> None:
    """Makes SQLite enforce foreign keys and serialise writers with BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # Take transaction control from pysqlite so SAVEPOINTs and BEGIN IMMEDIATE work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        # Every transaction may append to the hash-chained audit log, so writers take the
        # write lock up front instead of failing later on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: PostgreSQL lock_timeout of every connection, in milliseconds (see create_db_engine).
LOCK_TIMEOUT_MS = 5000


def is_lock_timeout(exc: BaseException) -> bool:
    """True for PostgreSQL's lock_timeout error (SQLSTATE 55P03), however SQLAlchemy wraps it."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "55P03"


def create_db_engine(url: str, **kwargs: object) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the settings gmc relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True,
                               **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    # A statement waits at most this long for a row or advisory lock, then fails (mapped to 409 "busy, try
    # again"): a lock holder may still need a worker thread to finish its request (FastAPI validates a sync
    # handler's response in the thread pool before the request's commit), so a burst of writers to one row that
    # fills the pool while waiting would otherwise wait for it forever.
    kwargs.setdefault("connect_args", {"options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"})
    # hide_parameters: errors never quote a statement's values (names, dates of birth) into logs or messages.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


class Database:
    """An engine and its session factory for one database URL."""

    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(bind=self.engine, class_=GmcSession, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return self.engine.dialect.name

    def session(self) -> GmcSession:
        """A new session (the caller commits or rolls back)."""
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[GmcSession]:
        """A session whose work commits at the end of the block, or rolls back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()
