"""Attacks on the audit trail as someone with write access to the database would make them, each detected.

The attacker can run any SQL (dropping SQLite's triggers or disabling PostgreSQL's), knows gmc's code, but does
not hold GMC_AUDIT_KEY; one test gives them the key too, and the checkpoints outside the database still tell.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from gmc.audit.chain import canonical_fields, key_id, legacy_event_hash, verify_chain
from gmc.audit.checkpoints import checkpoint_file, verify_audit
from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.time import utcnow
from gmc.db.core import Database

ACTOR = Actor(user_id=None, name="system:test")


@pytest.fixture
def audited(db_url: str, make_settings, tmp_path: Path):
    """A database whose settings put the checkpoint file in this test's directory."""
    db = Database(db_url, settings=make_settings(db_url, audit_checkpoint_file=tmp_path / "checkpoints.jsonl"))
    yield db
    db.dispose()


def _write(db: Database, transactions: int, per_transaction: int = 3) -> None:
    for t in range(transactions):
        with db.transaction() as s:
            for i in range(per_transaction):
                record(s, actor=ACTOR, verb=AuditVerb.UPDATE, entity_type="thing", entity_id=f"{t}-{i}",
                       summary={"field": [i, i + 1]})


def _verify(db: Database, **kwargs):
    with db.transaction() as s:
        return verify_audit(s, identity=db.identity, settings=db.settings, **kwargs)


def _tamper(db: Database, *statements: str, params: list[dict] | None = None) -> None:
    """Runs SQL as an attacker with full database access: append-only triggers off, then the statements."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        for sql in statements:
            conn.exec_driver_sql(sql)
        for p in params or []:
            conn.execute(sa.text("UPDATE audit_event SET summary = :summary, prev_hash = :prev, hash = :hash, "
                                 "hash_key = :kid WHERE seq = :seq"), p)


def _rehash_from(db: Database, seq: int, new_summary: dict, *, key: str | None) -> None:
    """Edits event `seq` and re-hashes it and every later event so that the chain links up again."""
    with db.transaction() as s:
        events = s.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        s.expunge_all()
    prev = next(e.hash for e in events if e.seq == seq - 1) if seq > 1 else ""
    updates = []
    for ev in events:
        if ev.seq < seq:
            continue
        if ev.seq == seq:
            ev.summary = new_summary
        ev.prev_hash = prev
        body = canonical_fields(seq=ev.seq, occurred_at=ev.occurred_at, actor_id=ev.actor_id, actor=ev.actor,
                                verb=ev.verb, entity_type=ev.entity_type, entity_id=ev.entity_id,
                                trust_id=ev.trust_id, summary=ev.summary, request_id=ev.request_id,
                                prev_hash=prev).encode()
        if key is None:
            ev.hash, kid = legacy_event_hash(ev), None
        else:
            ev.hash, kid = hmac.new(key.encode(), body, hashlib.sha256).hexdigest(), key_id(key)
        updates.append({"summary": json.dumps(ev.summary), "prev": prev, "hash": ev.hash, "kid": kid, "seq": ev.seq})
        prev = ev.hash
    _tamper(db, params=updates)


def test_an_untouched_trail_verifies_against_its_checkpoints(audited) -> None:
    _write(audited, 4)
    result = _verify(audited)
    assert result.ok, result.problems
    assert result.chain.events_checked == 12 and result.checkpoint_seq == 12 and result.checkpoints_compared == 4
    lines = checkpoint_file(audited.settings).read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 6, 9, 12]
    assert all(json.loads(line)["db"] == audited.identity for line in lines)


def test_deleted_tail_is_detected(audited) -> None:
    _write(audited, 5)
    _tamper(audited, "DELETE FROM audit_event WHERE seq > 9")
    result = _verify(audited)
    assert not result.ok
    assert result.chain.ok  # what is left links up: only the checkpoint can tell
    assert "ends at seq 9" in result.summary() and "events 10-15 were deleted" in result.summary()


def test_full_wipe_is_detected(audited) -> None:
    _write(audited, 3)
    _tamper(audited, "DELETE FROM audit_event")
    result = _verify(audited)
    assert not result.ok and "every event was deleted" in result.summary()


def test_rehash_with_the_unkeyed_algorithm_is_detected(audited) -> None:
    _write(audited, 4)
    _rehash_from(audited, 5, {"field": ["forged", "value"]}, key=None)
    result = _verify(audited)
    assert not result.ok
    assert result.chain.broken_seq == 5 and "unkeyed event after keyed ones" in (result.chain.reason or "")


def test_rehash_with_a_guessed_key_is_detected(audited) -> None:
    _write(audited, 4)
    _rehash_from(audited, 5, {"field": ["forged", "value"]}, key="attackers-own-key-of-forty-characters-long")
    result = _verify(audited)
    assert not result.ok and result.chain.broken_seq == 5
    assert "does not hold" in (result.chain.reason or "")


def test_rehash_by_someone_holding_the_key_is_caught_by_the_checkpoints(audited) -> None:
    _write(audited, 4)
    _rehash_from(audited, 5, {"field": ["forged", "value"]}, key=audited.settings.audit_key)
    with audited.transaction() as s:
        assert verify_chain(s).ok  # self-consistent: the key alone cannot tell
    result = _verify(audited)
    assert not result.ok and result.chain.broken_seq == 6  # first checkpointed seq at or after the edit
    assert "checkpointed" in (result.chain.reason or "")


def test_forged_checkpoint_line_is_reported(audited) -> None:
    _write(audited, 2)
    path = checkpoint_file(audited.settings)
    forged = json.loads(path.read_text().splitlines()[-1])
    forged.update(seq=2, mac="0" * 64)
    with path.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    result = _verify(audited)
    assert not result.ok and "MAC does not match" in result.summary()


def test_rolled_back_changes_write_no_checkpoint(audited) -> None:
    _write(audited, 1)
    with pytest.raises(RuntimeError), audited.transaction() as s:
        record(s, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=1)
        s.flush()
        raise RuntimeError("part-way failure")
    with audited.transaction() as s:
        with s.begin_nested():
            record(s, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=2)
        try:
            with s.begin_nested():
                record(s, actor=ACTOR, verb=AuditVerb.CREATE, entity_type="thing", entity_id=3)
                s.flush()
                raise ValueError("refused")
        except ValueError:
            pass
    seqs = [json.loads(line)["seq"] for line in checkpoint_file(audited.settings).read_text().splitlines()]
    assert seqs == [3, 4]
    assert _verify(audited).ok


def test_missing_checkpoints_are_a_failure_not_a_pass(audited) -> None:
    _write(audited, 2)
    checkpoint_file(audited.settings).unlink()
    result = _verify(audited)
    assert not result.ok and "no checkpoint of this database" in result.summary()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_refuses_update_and_delete(audited) -> None:
    _write(audited, 1)
    for sql in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with audited.engine.begin() as conn:
                conn.exec_driver_sql(sql)
    assert _verify(audited).ok


class _SyslogServer:
    """A UDP syslog receiver on the loopback interface, as a remote log host would be."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []

    def receive(self, n: int) -> list[str]:
        while len(self.lines) < n:
            self.lines.append(self.sock.recv(65536).decode())
        return self.lines


def test_syslog_copy_detects_deletion_after_the_local_file_is_gone(db_url: str, make_settings,
                                                                  tmp_path: Path) -> None:
    server = _SyslogServer()
    settings = make_settings(db_url, audit_syslog=f"udp://127.0.0.1:{server.port}",
                             audit_checkpoint_file=tmp_path / "checkpoints.jsonl")
    db = Database(db_url, settings=settings)
    try:
        _write(db, 3)
        received = threading.Thread(target=server.receive, args=(3,))
        received.start()
        received.join()
        assert all("gmc-audit-checkpoint" in line for line in server.lines)
        remote = tmp_path / "from-syslog.log"
        remote.write_text("\n".join(server.lines) + "\n")
        _tamper(db, "DELETE FROM audit_event WHERE seq > 3")
        checkpoint_file(settings).unlink()  # the attacker removed the local copy too
        result = _verify(db, extra_sources=[remote])
        assert not result.ok and "events 4-9 were deleted" in result.summary()
    finally:
        db.dispose()
        server.sock.close()


def test_a_chain_written_before_keyed_hashing_migrates_and_verifies(tmp_path: Path, make_settings) -> None:
    """An installation upgraded from 0001: its SHA-256 events stay as they were and the keyed ones seal them."""
    from gmc.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001_foundation")
    engine = sa.create_engine(url)
    prev = ""
    with engine.begin() as conn:
        for seq in range(1, 6):
            ev = AuditEvent(seq=seq, occurred_at=utcnow(), actor_id=None,
                            actor="system:old", verb="create", entity_type="thing", entity_id=str(seq), trust_id=None,
                            summary={"n": seq}, request_id=None, prev_hash=prev, hash="")
            ev.hash = legacy_event_hash(ev)
            conn.execute(sa.text("INSERT INTO audit_event (seq, occurred_at, actor_id, actor, verb, entity_type, "
                                 "entity_id, trust_id, summary, request_id, prev_hash, hash) VALUES (:seq, :at, "
                                 "NULL, 'system:old', 'create', 'thing', :eid, NULL, :summary, NULL, :prev, :hash)"),
                         {"seq": seq, "at": ev.occurred_at, "eid": str(seq), "summary": json.dumps({"n": seq}),
                          "prev": prev, "hash": ev.hash})
            prev = ev.hash
    engine.dispose()
    upgrade(url)
    db = Database(url, settings=make_settings(url, audit_checkpoint_file=tmp_path / "checkpoints.jsonl"))
    try:
        from gmc.audit.checkpoints import adopt_unchecked_chain

        with db.transaction() as s:
            message = adopt_unchecked_chain(s, identity=db.identity, settings=db.settings)
        assert message and "5 events verified and checkpointed at seq 5" in message
        _write(db, 1)
        result = _verify(db)
        assert result.ok, result.problems
        assert result.chain.legacy_events == 5 and result.chain.events_checked == 8
        assert "written before keyed hashing" in result.summary()
    finally:
        db.dispose()


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_the_api_and_the_page_report_a_deleted_tail(demo_client, login, bearer, demo_database) -> None:
    headers = bearer(demo_client, "admin")
    ok = demo_client.get("/api/audit/verify", headers=headers).json()
    assert ok["ok"] and ok["checkpoint_seq"] is not None and ok["head_seq"] >= ok["checkpoint_seq"]
    head = ok["head_seq"]
    _tamper(demo_database, f"DELETE FROM audit_event WHERE seq > {head - 2}")
    broken = demo_client.get("/api/audit/verify", headers=headers).json()
    assert not broken["ok"] and f"events {head - 1}-{head} were deleted" in broken["summary"]
    login(demo_client, "admin")
    page = demo_client.get("/admin/audit?verify=true")
    assert "Audit trail not intact" in page.text and "were deleted" in page.text
