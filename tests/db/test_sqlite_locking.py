"""SQLite takes its one write lock only when a transaction writes: readers never wait, writers queue."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from gmc.audit.chain import verify_chain
from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.db.core import Database

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ACTOR = Actor(user_id=None, name="system:test")


def _count(s) -> int:
    return s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()


def test_a_reader_does_not_wait_for_a_writer(database: Database) -> None:
    writer = database.session()
    record(writer, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=1)
    writer.flush()  # holds the write lock, uncommitted
    try:
        started = time.perf_counter()
        with database.session() as reader:
            assert _count(reader) == 0  # the committed state, at once
        assert time.perf_counter() - started < 2
    finally:
        writer.rollback()
        writer.close()


def test_a_transaction_that_read_before_another_wrote_can_still_write(database: Database) -> None:
    first = database.session()
    assert _count(first) == 0  # a read snapshot is open
    with database.transaction() as second:
        record(second, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=2)
    # A deferred transaction would now fail to upgrade (SQLITE_BUSY_SNAPSHOT); gmc begins it again instead.
    record(first, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=3)
    first.commit()
    first.close()
    with database.session() as s:
        assert _count(s) == 2 and verify_chain(s).ok


def test_concurrent_writers_keep_one_chain(database: Database) -> None:
    def work(i: int) -> None:
        with database.transaction() as s:
            _count(s)  # read first, as a request does
            record(s, actor=ACTOR, verb=AuditVerb.UPDATE, entity_type="thing", entity_id=i)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(60)))
    with database.session() as s:
        report = verify_chain(s)
    assert report.ok and report.events_checked == 60


def test_a_writer_past_the_busy_timeout_gets_503_not_500(db_url: str, make_settings) -> None:
    from fastapi.testclient import TestClient

    from gmc.web.app import create_app

    settings = make_settings(db_url, sqlite_busy_seconds=0.5)
    database = Database(db_url, settings=settings)
    app = create_app(settings, database=database)
    holder = database.session()
    record(holder, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=1)
    holder.flush()
    release = threading.Timer(5, holder.rollback)
    release.start()
    try:
        # (The server answers, then re-raises for its log; the test client would re-raise it here too.)
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/health").status_code == 200  # reads go on
            client.get("/login")
            resp = client.post("/login", data={"username": "nobody-here", "password": "x" * 12,
                                               "csrf_token": client.cookies.get("gmc_csrf")})
            assert resp.status_code == 503 and resp.headers["retry-after"] == "5"
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
        database.dispose()
