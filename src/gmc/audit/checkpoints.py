"""Checkpoints of the audit chain's head, kept outside the database, and verification against them.

After every commit that appended audit events, one JSON line `{db, seq, hash, at, key, mac}` is appended to
GMC_AUDIT_CHECKPOINT_FILE (and, when GMC_AUDIT_SYSLOG is set, sent to syslog). The line is MACed with the audit
key, so it cannot be forged without it. Deleting events at the tail, wiping the table, or rewriting events and
re-hashing the rest leaves the database disagreeing with the checkpoints, which `gmc audit verify` reports.

A `restore` line records that the database was restored from a backup whose head it names: checkpoints written
before the newest restore line no longer describe the database and are not compared.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from gmc.audit.chain import ChainReport, audit_keys, committed_head, key_id, session_settings, verify_chain
from gmc.common.time import utcnow
from gmc.db.core import GmcSession, database_identity
from gmc.settings import Settings

log = logging.getLogger("gmc.audit")

HEAD, ADOPT, RESTORE = "head", "adopt", "restore"


def checkpoint_file(settings: Settings) -> Path:
    """Where this installation appends its checkpoints."""
    return Path(settings.audit_checkpoint_file or settings.data_dir / "audit" / "checkpoints.jsonl").resolve()


def _mac(key: str, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_line(settings: Settings, *, identity: str, seq: int, head_hash: str, kind: str = HEAD,
                    **extra: Any) -> str:
    """One MACed checkpoint line (no newline)."""
    body = {"kind": kind, "db": identity, "seq": seq, "hash": head_hash,
            "at": utcnow().isoformat(timespec="microseconds"), "key": key_id(settings.audit_key), **extra}
    return json.dumps({**body, "mac": _mac(settings.audit_key, body)}, sort_keys=True, separators=(",", ":"))


def append_checkpoint(settings: Settings, *, identity: str, seq: int, head_hash: str, kind: str = HEAD,
                      **extra: Any) -> None:
    """Appends a checkpoint to the file (one O_APPEND write, so lines of concurrent writers never interleave)."""
    line = checkpoint_line(settings, identity=identity, seq=seq, head_hash=head_hash, kind=kind, **extra)
    path = checkpoint_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    if settings.audit_syslog:
        _syslog(settings.audit_syslog).info("gmc-audit-checkpoint %s", line)


@lru_cache(maxsize=8)
def _syslog(target: str) -> logging.Logger:
    """A logger that sends to the syslog target: a socket path, udp://host:port or tcp://host:port."""
    if target.startswith(("udp://", "tcp://")):
        host, _, port = target[6:].rpartition(":")
        kind = socket.SOCK_DGRAM if target.startswith("udp://") else socket.SOCK_STREAM
        handler = logging.handlers.SysLogHandler(address=(host, int(port)), socktype=kind)
    else:
        handler = logging.handlers.SysLogHandler(address=target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"gmc.audit.syslog.{target}")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


@event.listens_for(GmcSession, "after_commit")
def _checkpoint_after_commit(session: Session) -> None:
    """Checkpoints the head once the events that moved it are committed (never for a rolled-back change)."""
    head = committed_head(session)
    if head is None:
        return
    settings = session_settings(session)
    identity = session.info.get("gmc_identity") or database_identity(str(session.get_bind().url))
    try:
        append_checkpoint(settings, identity=identity, seq=head[0], head_hash=head[1])
    except OSError as exc:
        # The change is committed; a missing checkpoint only lets the next one cover it. Said loudly.
        log.error("audit checkpoint not written to %s: %s", checkpoint_file(settings), exc.strerror)


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint line that belongs to the database being verified."""

    kind: str
    seq: int
    hash: str
    at: str
    source: str
    line: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckpointRead:
    """The checkpoints of one database found in some files, and lines that failed their MAC."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    def current(self) -> list[Checkpoint]:
        """The checkpoints since the newest restore (those still describing the database)."""
        restores = [i for i, c in enumerate(self.checkpoints) if c.kind == RESTORE]
        return self.checkpoints[restores[-1]:] if restores else self.checkpoints


def read_checkpoints(paths: Iterable[Path], *, identity: str, settings: Settings) -> CheckpointRead:
    """Reads every checkpoint of this database from the files (syslog lines keep their prefix; JSON is found)."""
    keys = audit_keys(settings)
    out = CheckpointRead()
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{path}:{number}"
                start, end = raw.find("{"), raw.rfind("}")
                if start < 0 or end < start:
                    continue
                try:
                    data = json.loads(raw[start:end + 1])
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                except ValueError:
                    out.bad.append(f"{where}: not a checkpoint line")
                    continue
                if data.get("db") != identity:
                    continue
                mac = data.pop("mac", None)
                key = keys.get(str(data.get("key")))
                if key is None or not isinstance(mac, str) or not hmac.compare_digest(_mac(key, data), mac):
                    out.bad.append(f"{where}: its MAC does not match (forged, or written with another audit key)")
                    continue
                extra = {k: v for k, v in data.items() if k not in {"kind", "db", "seq", "hash", "at", "key"}}
                out.checkpoints.append(Checkpoint(str(data["kind"]), int(data["seq"]), str(data["hash"]),
                                                  str(data["at"]), str(path), number, extra))
    return out


@dataclass(frozen=True)
class AuditVerification:
    """The chain's own check plus its comparison with the checkpoints kept outside the database."""

    ok: bool
    chain: ChainReport
    problems: list[str]
    checkpoints_compared: int
    checkpoint_seq: int | None
    checkpoint_at: str | None
    checkpoint_sources: list[str]
    restored_at: str | None = None

    def summary(self) -> str:
        """One paragraph for people: what was checked and what is wrong."""
        c = self.chain
        if not self.ok:
            return "; ".join(self.problems)
        parts = [f"audit chain intact: {c.events_checked} events verified"]
        if c.legacy_events:
            parts.append(f"{c.legacy_events} of them written before keyed hashing and sealed by the first keyed one")
        if self.checkpoint_seq is not None:
            parts.append(f"the head (seq {c.head_seq}) is at or past the newest checkpoint (seq {self.checkpoint_seq}, "
                         f"{self.checkpoint_at}); {self.checkpoints_compared} checkpoints match")
        if self.restored_at:
            parts.append(f"restored from a backup on {self.restored_at}")
        return "; ".join(parts)


def verify_audit(session: Session, *, identity: str, settings: Settings | None = None,
                 extra_sources: Iterable[Path] = ()) -> AuditVerification:
    """Checks the chain (keyed hashes, links) and compares it with every checkpoint of this database."""
    settings = settings or session_settings(session)
    sources = [checkpoint_file(settings), *(Path(p) for p in extra_sources)]
    read = read_checkpoints(sources, identity=identity, settings=settings)
    current = read.current()
    expected: dict[int, str] = {}
    problems = list(read.bad)
    for cp in current:
        if expected.get(cp.seq, cp.hash) != cp.hash:
            problems.append(f"{cp.source}:{cp.line}: two checkpoints give seq {cp.seq} different hashes")
        expected[cp.seq] = cp.hash
    chain = verify_chain(session, expected=expected)
    if not chain.ok:
        problems.insert(0, f"audit chain broken at event id {chain.broken_event_id} (seq {chain.broken_seq}): "
                           f"{chain.reason}; {chain.events_checked} events before it verified")
    newest = max(current, key=lambda c: c.seq, default=None)
    head = chain.head_seq or 0
    if chain.ok and newest is not None and head < newest.seq:
        lost = "every event was deleted" if head == 0 else f"events {head + 1}-{newest.seq} were deleted"
        problems.append(f"the audit trail ends at seq {head} but a checkpoint of {newest.at} "
                        f"({newest.source}:{newest.line}) recorded seq {newest.seq}: {lost}")
    if chain.ok and newest is None and head > 0:
        problems.append(f"no checkpoint of this database ({identity}) in {', '.join(map(str, sources))}: "
                        "deletion of the newest events cannot be ruled out (if the database was moved, see "
                        "docs/operations.md; `gmc audit checkpoint` starts a new series after a check)")
    restore = next((c for c in reversed(current) if c.kind == RESTORE), None)
    return AuditVerification(
        ok=not problems, chain=chain, problems=problems,
        checkpoints_compared=sum(1 for c in current if c.seq <= head),
        checkpoint_seq=newest.seq if newest else None, checkpoint_at=newest.at if newest else None,
        checkpoint_sources=[str(s) for s in sources], restored_at=restore.at if restore else None,
    )


def checkpoint_now(session: Session, *, identity: str, settings: Settings | None = None,
                   kind: str = ADOPT, **extra: Any) -> ChainReport:
    """Verifies the chain and, when it is intact, checkpoints its head (a new series after an upgrade or move)."""
    settings = settings or session_settings(session)
    report = verify_chain(session)
    if report.ok and report.head_seq:
        append_checkpoint(settings, identity=identity, seq=report.head_seq, head_hash=report.head_hash or "",
                          kind=kind, **extra)
    return report


def adopt_unchecked_chain(session: Session, *, identity: str, settings: Settings) -> str | None:
    """After an upgrade: checkpoints a chain that has events but no checkpoint yet; says what it did (or None)."""
    if read_checkpoints([checkpoint_file(settings)], identity=identity, settings=settings).checkpoints:
        return None
    report = checkpoint_now(session, identity=identity, settings=settings)
    if not report.head_seq and report.ok:
        return None
    if not report.ok:
        return (f"warning: the existing audit chain is broken at seq {report.broken_seq} ({report.reason}); "
                "it was not checkpointed")
    return (f"existing audit chain of {report.events_checked} events verified and checkpointed at seq "
            f"{report.head_seq} in {checkpoint_file(settings)}")
