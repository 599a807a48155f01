"""Database core: the declarative base, engines for SQLite and PostgreSQL, and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from gmc.settings import Settings, get_settings

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


#: Statements that only read (or steer the transaction): they run on the read snapshot without the write lock.
_READ_ONLY = ("SELECT", "PRAGMA", "EXPLAIN", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "RELEASE", "END")
def _configure_sqlite(engine: Engine, busy_ms: int) -> None:
    """Makes SQLite enforce foreign keys, and take the write lock only when a transaction first writes.

    A transaction begins deferred, so reads run on a WAL snapshot beside any writer. Just before its first
    write (or savepoint) it ends that read snapshot and begins again with BEGIN IMMEDIATE, waiting for the one
    write lock: from there on it sees the newest data and writers are serialised (the audit chain relies on
    that). What it read before its first write is as of its start, which is what PostgreSQL's READ COMMITTED
    gives as well. A read-only request never touches the lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # Take transaction control from pysqlite so SAVEPOINTs and our own BEGINs work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")
        conn.info["gmc_writer"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        if conn.info.get("gmc_writer") is False and not statement.lstrip().upper().startswith(_READ_ONLY):
            take_write_lock(conn)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn) -> None:  # noqa: ANN001
        conn.info.pop("gmc_writer", None)


def take_write_lock(conn: Connection) -> None:
    """Makes a SQLite transaction that has not written yet a writer (no-op once it is one, and on PostgreSQL)."""
    if conn.dialect.name != "sqlite" or conn.info.get("gmc_writer") is not False:
        return
    dbapi = conn.connection.dbapi_connection
    conn.info["gmc_writer"] = True
    dbapi.execute("COMMIT")  # nothing was written: this only lets go of the read snapshot
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except Exception:
        conn.info["gmc_writer"] = None
        raise


def is_database_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (another writer held the lock past the busy timeout), and for a
    request that waited past the pool timeout for a connection (every connection busy): both mean "try again"."""
    if isinstance(exc, PoolTimeout):
        return True
    orig = getattr(exc, "orig", exc)
    return type(orig).__name__ == "OperationalError" and "database is locked" in str(orig)


#: PostgreSQL lock_timeout of every connection, in milliseconds (see create_db_engine).
LOCK_TIMEOUT_MS = 5000


def is_lock_timeout(exc: BaseException) -> bool:
    """True for PostgreSQL's lock_timeout error (SQLSTATE 55P03), however SQLAlchemy wraps it."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "55P03"


def is_nul_in_text(exc: BaseException) -> bool:
    """True when PostgreSQL was given text holding a NUL byte (it cannot store one; SQLite can): bad input."""
    orig = getattr(exc, "orig", exc)
    return type(orig).__name__ == "DataError" and "cannot contain NUL" in str(orig)


def is_value_out_of_range(exc: BaseException) -> bool:
    """True when the database cannot hold a number it was given: SQLite's 64-bit integers (OverflowError when
    binding) or PostgreSQL's numeric_value_out_of_range (SQLSTATE 22003). The request asked for the impossible."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, OverflowError) or getattr(orig, "sqlstate", None) == "22003"


def create_db_engine(url: str, *, sqlite_busy_seconds: float = 30, **kwargs: object) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the settings gmc relies on.

    A SQLite writer waits up to sqlite_busy_seconds for the write lock ("database is locked" after, a 503).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": sqlite_busy_seconds},
                               hide_parameters=True,
                               **kwargs)
        _configure_sqlite(engine, int(sqlite_busy_seconds * 1000))
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


def database_identity(url: str) -> str:
    """A stable name for the database a URL points at, without credentials (which files describe it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ":memory:"
        return "sqlite:" + (name if name == ":memory:" else str(Path(name).resolve()))
    host = (parsed.host or "localhost").lower()
    return f"{parsed.get_backend_name()}://{host}:{parsed.port or 5432}/{parsed.database or ''}"


class Database:
    """An engine and its session factory for one database URL.

    Its settings (the process-wide ones unless given) travel in each session's `info`, so hooks such as the
    audit chain's find their key and checkpoint file without a global.
    """

    def __init__(self, url: str, *, settings: Settings | None = None, **engine_kwargs: object) -> None:
        self.url = url
        self.settings = settings or get_settings()
        self.identity = database_identity(url)
        engine_kwargs.setdefault("sqlite_busy_seconds", self.settings.sqlite_busy_seconds)
        self.engine = create_db_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(bind=self.engine, class_=GmcSession, expire_on_commit=False,
                                         info={"gmc_settings": self.settings, "gmc_identity": self.identity})

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
