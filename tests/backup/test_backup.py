"""Backups that restore: a busy demo centre backed up while it keeps writing, restored into a fresh installation,
with its audit chain verified and its pages working; damaged backups and occupied targets refused."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gmc.audit.checkpoints import checkpoint_now, verify_audit
from gmc.audit.service import Actor, AuditVerb, record
from gmc.backup.service import BackupError, create_backup, read_backup, restore_backup
from gmc.db.core import Database
from gmc.genomics.models import GenomeDataset
from gmc.registry.models import Case, Participant
from gmc.settings import Settings, get_settings
from gmc.web.app import create_app


def _settings(root: Path, url: str, refdata: Path) -> Settings:
    return Settings(database_url=url, data_dir=root / "data", environment="test", refdata=refdata,
                    audit_checkpoint_file=root / "audit" / "checkpoints.jsonl", _env_file=None)


class _Busy:
    """Writes participants and audit events in a loop (as users of the running server would) until stopped."""

    def __init__(self, database: Database) -> None:
        self.database, self.written, self.stop = database, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.database.transaction() as session:
                n = self.written + 1
                now = datetime.now(UTC)
                person = Participant(participant_id=f"PB{n:06d}", family_name="Busy", given_name=f"Writer{n}",
                                     sex="female", date_of_birth=date(1990, 1, 1), created_at=now, updated_at=now)
                session.add(person)
                session.flush()
                record(session, actor=Actor.system("busy"), verb=AuditVerb.CREATE, entity_type="participant",
                       entity_id=person.id, summary={"busy": n})
            self.written += 1

    def __enter__(self) -> _Busy:
        self.thread.start()
        while self.written < 3:
            self.stop.wait(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def _pages_work(settings: Settings, database: Database, login, *, case_id: str | None) -> None:
    """Every page without path parameters answers below 500, the main ones 200; a genome case's variants come
    from the restored store."""
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        assert login(client, "scientist").status_code == 303
        for path in ("/", "/participants", "/samples", "/phenotype"):
            page = client.get(path)
            assert page.status_code == 200, (path, page.status_code)
        for route in app.routes:
            path = getattr(route, "path", "")
            if "GET" in getattr(route, "methods", set()) and "{" not in path and not path.startswith(
                    ("/static", "/logout")) and "export" not in path:
                assert client.get(path).status_code < 500, path
        if case_id:
            variants = client.get(f"/api/genomes/cases/{case_id}/variants", params={"limit": 5})
            assert variants.status_code == 200 and variants.json()["total"] > 0, variants.text[:300]


def test_sqlite_backup_of_a_busy_centre_restores_with_its_audit_chain(tmp_path, sqlite_full_demo, login,
                                                                       refdata_dir) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "data" / "incoming").mkdir(parents=True)
    shutil.copy(sqlite_full_demo, src / "gmc.db")
    shutil.copytree(Path(get_settings().data_dir) / "variant_store", src / "data" / "variant_store")
    (src / "data" / "incoming" / "upload.csv").write_text("participant_id\nP1\n")
    settings = _settings(src, f"sqlite:///{src / 'gmc.db'}", refdata_dir)
    database = Database(settings.database_url, settings=settings)
    with database.transaction() as session:  # the file moved here: a new checkpoint series, as an operator would
        assert checkpoint_now(session, identity=database.identity, settings=settings).ok
        case_id = session.execute(sa.select(Case.case_id).join(
            GenomeDataset, GenomeDataset.case_id == Case.id)).scalars().first()
    assert case_id, "the full demo holds ingested genomes"

    with _Busy(database) as busy:
        manifest = create_backup(settings, database, tmp_path / "backup")
        during = busy.written
    assert busy.written > during or busy.written >= 3
    assert manifest["database"]["engine"] == "sqlite" and manifest["variant_store_builds"]
    assert "files/incoming/upload.csv" in manifest["files"] and "audit/checkpoints.jsonl" in manifest["files"]
    assert not any(name.startswith("files/cache") for name in manifest["files"])
    read_backup(tmp_path / "backup")  # every checksum matches

    target = _settings(dst, f"sqlite:///{dst / 'gmc.db'}", refdata_dir)
    result = restore_backup(target, tmp_path / "backup")
    assert result.head_seq > 0 and "intact" in result.audit_summary
    restored = Database(target.database_url, settings=target)
    with restored.transaction() as session:
        busy_rows = session.execute(sa.select(sa.func.count()).select_from(Participant)
                                    .where(Participant.family_name == "Busy")).scalar_one()
        assert 3 <= busy_rows <= busy.written
        check = verify_audit(session, identity=restored.identity, settings=target)
        assert check.ok and check.restored_at, check.summary()
    assert (dst / "data" / "incoming" / "upload.csv").read_text() == "participant_id\nP1\n"
    _pages_work(target, restored, login, case_id=case_id)
    restored.dispose()
    database.dispose()

    # The command line does the same, and refuses to restore over data it would destroy.
    from gmc.cli import app

    runner = CliRunner()
    env = {"GMC_DATABASE_URL": target.database_url, "GMC_DATA_DIR": str(dst / "data"),
           "GMC_AUDIT_CHECKPOINT_FILE": str(target.audit_checkpoint_file)}
    get_settings.cache_clear()
    try:
        refused = runner.invoke(app, ["restore", str(tmp_path / "backup")], env=env)
        assert refused.exit_code == 1 and "already holds data" in refused.output
        verified = runner.invoke(app, ["audit", "verify"], env=env)
        assert verified.exit_code == 0 and "restored from a backup" in verified.output, verified.output
    finally:
        get_settings.cache_clear()


def test_a_damaged_backup_is_refused_before_anything_changes(tmp_path, full_demo_db_url, refdata_dir) -> None:
    settings = _settings(tmp_path / "src", full_demo_db_url, refdata_dir)
    database = Database(full_demo_db_url, settings=settings)
    create_backup(settings, database, tmp_path / "backup")
    database.dispose()
    with pytest.raises(BackupError, match="exists and is not empty"):
        create_backup(settings, database, tmp_path / "backup")
    dumped = tmp_path / "backup" / "database.sqlite"
    data = bytearray(dumped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dumped.write_bytes(bytes(data))
    target = _settings(tmp_path / "dst", f"sqlite:///{tmp_path / 'dst' / 'gmc.db'}", refdata_dir)
    with pytest.raises(BackupError, match=r"database\.sqlite: its checksum differs"):
        restore_backup(target, tmp_path / "backup")
    assert not (tmp_path / "dst").exists()


def test_postgres_backup_restores_into_an_empty_database(tmp_path, postgres_server, postgres_templates, login,
                                                         refdata_dir) -> None:
    source = postgres_server.new_database_name()
    postgres_server.execute_autocommit(f"CREATE DATABASE {source} TEMPLATE {postgres_templates['demo']}")
    settings = _settings(tmp_path / "src", postgres_server.url(source), refdata_dir)
    database = Database(settings.database_url, settings=settings)
    with _Busy(database):
        manifest = create_backup(settings, database, tmp_path / "backup")
    database.dispose()
    assert manifest["database"]["engine"] == "postgresql"
    name = postgres_server.new_database_name()
    postgres_server.execute_autocommit(f"CREATE DATABASE {name}")
    target = _settings(tmp_path / "dst", postgres_server.url(name), refdata_dir)
    result = restore_backup(target, tmp_path / "backup")
    assert result.head_seq > 0
    restored = Database(target.database_url, settings=target)
    with restored.transaction() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Participant)
                               .where(Participant.family_name == "Busy")).scalar_one() >= 3
        assert verify_audit(session, identity=restored.identity, settings=target).ok
    _pages_work(target, restored, login, case_id=None)
    restored.dispose()
    with pytest.raises(BackupError, match="already holds data"):
        restore_backup(target, tmp_path / "backup")
