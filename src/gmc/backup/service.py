"""Backups that restore: one consistent copy of an installation, and putting it back into a fresh one, verified.

A backup directory holds the database (SQLite's online backup API, or `pg_dump --format=custom`), a snapshot of
the variant store taken under the store's writer lock, the other files of GMC_DATA_DIR (uploaded files), the
audit checkpoints, and `backup.json`: what was copied, from where, and the SHA-256 of every file.

The order makes the parts agree with one another while the server keeps working: the audit checkpoints are copied
first (every checkpoint is written after its commit, so each copied one is in the database snapshot), then the
database, then the variant store (an ingest commits its store files before its database rows, so every dataset
the database names is already in the store).

A restore checks every checksum before it changes anything, refuses a target that already holds data (unless
told to replace it), puts the database and files in place, verifies the restored audit chain against the
backup's checkpoints, and starts the target's checkpoint series with a `restore` line naming the verified head.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url

from gmc import __version__
from gmc.audit.checkpoints import RESTORE, append_checkpoint, checkpoint_file, verify_audit
from gmc.common.errors import ValidationFailed
from gmc.common.time import utcnow
from gmc.db.core import Database, database_identity
from gmc.genomics.store.layout import StoreLayout
from gmc.genomics.store.writer import store_writer_lock
from gmc.settings import Settings

BACKUP_FORMAT = 1
MANIFEST_NAME = "backup.json"
SQLITE_FILE = "database.sqlite"
PG_DUMP_FILE = "database.pgdump"
CHECKPOINTS_FILE = "audit/checkpoints.jsonl"
STORE_DIR = "variant_store"
FILES_DIR = "files"
#: Parts of GMC_DATA_DIR a backup leaves out: caches rebuilt from reference data, and parts copied on their own.
_NOT_FILES = {"cache", "variant_store", "audit"}
#: Entries of a store directory that are not committed data (work in progress and the lock).
_STORE_SKIP = {"_staging", ".lock"}

Progress = Callable[[str], None]


class BackupError(ValidationFailed):
    """A backup or restore that cannot go ahead; the message names the file or setting."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put back and what its audit check found."""

    manifest: dict[str, Any]
    database: str
    files: int
    audit_summary: str
    head_seq: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _engine(url: str) -> str:
    return make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BackupError(f"GMC_DATABASE_URL {url!r} names no SQLite file to back up or restore")
    return Path(name).resolve()


def _libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix; the password stays in it)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """The newest installed pg_dump/pg_restore (Debian's versioned directories first, then PATH)."""
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    tool = found[-1] if found else shutil.which(name)
    if not tool:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (Debian: postgresql-client)")
    return tool


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({Path(args[0]).name} exit {done.returncode}): "
                          f"{done.stderr.strip()[-800:]}")


def _store_builds(data_dir: Path) -> list[Path]:
    root = data_dir / STORE_DIR
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _copy_store(build_dir: Path, target: Path) -> int:
    """Copies one build's committed store under its writer lock (no ingest or compaction runs meanwhile)."""
    layout = StoreLayout(build_dir)
    with store_writer_lock(build_dir):
        manifest = layout.read_manifest()
        retired = {r.path for r in manifest.retired}

        def ignore(folder: str, names: list[str]) -> set[str]:
            rel = Path(folder).relative_to(build_dir)
            return {n for n in names if (rel == Path(".") and n in _STORE_SKIP) or str(rel / n) in retired
                    or n.startswith(f"{layout.manifest_path.stem}.tmp")}

        shutil.copytree(build_dir, target, ignore=ignore)
    return sum(1 for p in target.rglob("*") if p.is_file())


def _copy_checkpoints(settings: Settings, target: Path) -> None:
    """Copies the checkpoint file as it is now (whole lines only: a line being appended is left out)."""
    source = checkpoint_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes() if source.exists() else b""
    target.write_bytes(data[: data.rfind(b"\n") + 1])


def _backup_database(database: Database, tmp: Path) -> dict[str, Any]:
    url = database.url
    engine = _engine(url)
    if engine == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(tmp / SQLITE_FILE)
        try:
            source.backup(target)  # one consistent snapshot, taken while other connections keep writing
        finally:
            target.close()
            source.close()
        return {"engine": "sqlite", "file": SQLITE_FILE}
    if engine == "postgresql":
        _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={tmp / PG_DUMP_FILE}", f"--dbname={_libpq_url(url)}"], "pg_dump")
        return {"engine": "postgresql", "file": PG_DUMP_FILE}
    raise BackupError(f"GMC_DATABASE_URL: cannot back up a {engine} database (SQLite or PostgreSQL only)")


def _alembic_heads(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        if not sa_inspect(conn).has_table("alembic_version"):
            return []
        return sorted(r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))


def create_backup(settings: Settings, database: Database, out: Path, *, progress: Progress = lambda _: None
                  ) -> dict[str, Any]:
    """Writes a backup of the installation to `out` (a new directory, written beside it and renamed into place)."""
    out = Path(out).resolve()
    data_dir = Path(settings.data_dir).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out}: the backup directory exists and is not empty")
    if out == data_dir or data_dir in out.parents:
        raise BackupError(f"{out}: a backup directory must lie outside GMC_DATA_DIR ({data_dir})")
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    try:
        progress("audit checkpoints")
        _copy_checkpoints(settings, tmp / CHECKPOINTS_FILE)
        progress("database")
        db_part = _backup_database(database, tmp)
        heads = _alembic_heads(database)
        builds = _store_builds(data_dir)
        for build_dir in builds:
            progress(f"variant store {build_dir.name}")
            _copy_store(build_dir, tmp / STORE_DIR / build_dir.name)
        progress("files")
        sqlite_file = _sqlite_path(database.url) if db_part["engine"] == "sqlite" else None
        skip = {sqlite_file, *(Path(f"{sqlite_file}{s}") for s in ("-wal", "-shm", "-journal"))} if sqlite_file \
            else set()
        if data_dir.is_dir():
            for entry in sorted(data_dir.iterdir()):
                if entry.name in _NOT_FILES or entry.resolve() in skip:
                    continue
                dest = tmp / FILES_DIR / entry.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                if entry.is_dir():
                    shutil.copytree(entry, dest)
                elif entry.is_file():
                    shutil.copy2(entry, dest)
        progress("checksums")
        files = {str(p.relative_to(tmp)): {"sha256": _sha256(p), "bytes": p.stat().st_size}
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format": BACKUP_FORMAT, "created_at": utcnow().isoformat(timespec="seconds"),
            "gmc_version": __version__, "alembic_heads": heads,
            "database": {**db_part, "identity": database.identity},
            "audit_checkpoints": CHECKPOINTS_FILE, "variant_store_builds": [b.name for b in builds],
            "seconds": round(time.monotonic() - started, 2), "files": files,
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_backup(path: Path) -> dict[str, Any]:
    """The manifest of a backup directory after checking every file it lists (a clear error naming the first bad
    one); nothing is changed."""
    path = Path(path)
    manifest_file = path / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{manifest_file}: not found (is {path} a gmc backup?)") from exc
    except ValueError as exc:
        raise BackupError(f"{manifest_file}: not valid JSON ({exc})") from exc
    if manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{manifest_file}: backup format {manifest.get('format')!r} is not {BACKUP_FORMAT}")
    for rel, meta in manifest["files"].items():
        file = path / rel
        if not file.is_file():
            raise BackupError(f"{file}: listed in {MANIFEST_NAME} but missing")
        if file.stat().st_size != meta["bytes"] or _sha256(file) != meta["sha256"]:
            raise BackupError(f"{file}: its checksum differs from {MANIFEST_NAME} (damaged or altered)")
    return manifest


def _target_is_empty(url: str) -> bool:
    if _engine(url) == "sqlite" and not _sqlite_path(url).exists():
        return True
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return not sa_inspect(conn).get_table_names()
    finally:
        database.dispose()


def _restore_sqlite(backup: Path, url: str) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore-{os.getpid()}")
    shutil.copyfile(backup / SQLITE_FILE, tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    for suffix in ("-wal", "-shm", "-journal"):  # an old WAL must never be replayed onto the restored file
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp.replace(target)


def _restore_postgres(backup: Path, url: str, *, replace: bool) -> None:
    args = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            f"--dbname={_libpq_url(url)}"]
    if replace:
        args += ["--clean", "--if-exists"]
    _run([*args, str(backup / PG_DUMP_FILE)], "pg_restore")


def _place(source: Path, dest: Path) -> None:
    """Puts a restored directory or file in place (the old one, if replacing, goes only once the new is ready)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.restore-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, tmp)
    else:
        shutil.copy2(source, tmp)
    if dest.is_dir():
        shutil.rmtree(dest)
    elif dest.exists():
        dest.unlink()
    tmp.rename(dest)


def restore_backup(settings: Settings, backup: Path, *, replace: bool = False,
                   progress: Progress = lambda _: None) -> RestoreResult:
    """Restores a backup into the installation the settings name (GMC_DATABASE_URL, GMC_DATA_DIR,
    GMC_AUDIT_CHECKPOINT_FILE) and verifies its audit chain; run it with the server stopped."""
    backup = Path(backup).resolve()
    progress("checking the backup's checksums")
    manifest = read_backup(backup)
    url = settings.database_url
    engine = _engine(url)
    if manifest["database"]["engine"] != engine:
        raise BackupError(f"GMC_DATABASE_URL is {engine} but the backup holds a {manifest['database']['engine']} "
                          "database: restore into the same engine")
    data_dir = Path(settings.data_dir).resolve()
    placed = [(backup / STORE_DIR, data_dir / STORE_DIR)] if (backup / STORE_DIR).is_dir() else []
    if (backup / FILES_DIR).is_dir():
        placed += [(entry, data_dir / entry.name) for entry in sorted((backup / FILES_DIR).iterdir())]
    if not replace:
        busy = [str(dest) for _, dest in placed if dest.exists() and (dest.is_file() or any(dest.iterdir()))]
        if not _target_is_empty(url):
            busy.insert(0, f"the database {database_identity(url)}")
        if busy:
            raise BackupError(f"the target already holds data ({', '.join(busy)}): restore into a fresh "
                              "installation, or pass --replace to overwrite it")
    progress("database")
    if engine == "sqlite":
        _restore_sqlite(backup, url)
    else:
        _restore_postgres(backup, url, replace=replace)
    for source, dest in placed:
        progress(f"files: {dest.name}")
        _place(source, dest)
    progress("verifying the audit trail against the backup's checkpoints")
    database = Database(url, settings=settings)
    try:
        from_backup = settings.model_copy(update={"audit_checkpoint_file": backup / CHECKPOINTS_FILE,
                                                  "audit_syslog": ""})
        with database.transaction() as session:
            result = verify_audit(session, identity=manifest["database"]["identity"], settings=from_backup)
        if not result.ok:
            raise BackupError(f"restored, but the audit trail does not match the backup's checkpoints: "
                              f"{result.summary()}")
        head = result.chain.head_seq or 0
        append_checkpoint(settings, identity=database.identity, seq=head, head_hash=result.chain.head_hash or "",
                          kind=RESTORE, backup=manifest["created_at"], source=manifest["database"]["identity"])
    finally:
        database.dispose()
    return RestoreResult(manifest=manifest, database=database_identity(url), files=len(manifest["files"]),
                         audit_summary=result.summary(), head_seq=head)
