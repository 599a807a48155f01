"""The audit trail: written with the change, hash-chained, verifiable, append-only in PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gmc.audit.chain import verify_chain
from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor, diff, record
from gmc.audit.verbs import AuditVerb

ACTOR = Actor(user_id=None, name="system:test")


def _add(db, n: int) -> None:
    with db.transaction() as s:
        for i in range(n):
            record(s, actor=ACTOR, verb=AuditVerb.UPDATE, entity_type="thing", entity_id=i,
                   summary={"field": [i, i + 1]})


def test_events_chain_and_verify(database) -> None:
    _add(database, 3)
    _add(database, 2)
    with database.transaction() as s:
        events = s.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        assert events[0].prev_hash == ""
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
        report = verify_chain(s)
    assert report.ok and report.events_checked == 5


def test_rolled_back_change_leaves_no_event(database) -> None:
    with pytest.raises(RuntimeError):
        with database.transaction() as s:
            record(s, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=1)
            s.flush()
            raise RuntimeError("part-way failure")
    with database.transaction() as s:
        assert s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one() == 0


def test_unknown_verb_is_refused(database) -> None:
    with database.transaction() as s, pytest.raises(ValueError):
        record(s, actor=ACTOR, verb="teleport", entity_type="thing")  # type: ignore[arg-type]


def test_diff_lists_changed_fields_only() -> None:
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": [2, 3], "c": [None, 4]}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hand_edit_in_sqlite_is_detected(database) -> None:
    _add(database, 4)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")  # as an attacker with the file would
        conn.exec_driver_sql("UPDATE audit_event SET summary = '{\"field\": [99, 100]}' WHERE seq = 3")
    with database.transaction() as s:
        report = verify_chain(s)
        broken = s.execute(sa.select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
    assert not report.ok
    assert report.broken_seq == 3 and report.broken_event_id == broken.id
    assert report.events_checked == 2
    assert "edited" in (report.reason or "")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deleted_event_is_detected(database) -> None:
    _add(database, 4)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 2")
    with database.transaction() as s:
        report = verify_chain(s)
    assert not report.ok and report.broken_seq == 3 and "gap" in (report.reason or "")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_update_delete_truncate(database) -> None:
    _add(database, 2)
    for sql in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event", "TRUNCATE audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with database.engine.begin() as conn:
                conn.exec_driver_sql(sql)
    with database.transaction() as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_appends_keep_one_chain(database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> None:
        with database.transaction() as s:
            record(s, actor=ACTOR, verb=AuditVerb.UPDATE, entity_type="thing", entity_id=i)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(40)))
    with database.transaction() as s:
        report = verify_chain(s)
    assert report.ok and report.events_checked == 40
