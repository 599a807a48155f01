"""Running large imports as background jobs: a worker pool in the server, progress, outcome, restart safety.

A route that receives a file above GMC_IMPORT_JOB_BYTES records a job (in the request's transaction, audited)
and answers 202; once that is committed the job is handed to this process's worker pool. The worker runs the
import in ONE transaction, the same all-or-nothing import the route runs for small files, and marks the job
succeeded inside that transaction: either the rows and "succeeded" are committed together, or neither is.
A failed import rolls back and the job records the error with every problem (line and field).

Progress (phase, rows done of rows total) is kept in memory by the process running the job and, on PostgreSQL,
also written to the job's row once a second from a separate connection, so any server process can show it.
(SQLite has one write lock, held by the import's transaction, so there progress is read from memory: a SQLite
server is one process.)

A job whose process died (crash, kill -9, restart) rolled back with it: nothing was half-written. The job row
still says queued or running; the next time any process of the same host starts, or shows the job, it sees
that the runner process is gone and marks the job failed ("interrupted"). Jobs of a server on another host are
marked when that host's server starts again. A server that is shut down stops its running job at the next row
(rolled back, marked failed) instead of making the shutdown wait for it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.principal import Principal
from gmc.common.context import current_request_id, reset_request_id, set_request_id
from gmc.common.errors import Conflict, DomainError, NotFound
from gmc.common.time import utcnow
from gmc.db.core import Database, GmcSession
from gmc.jobs.models import BackgroundJob

log = logging.getLogger("gmc.jobs")

#: progress(phase, done, total): called by an import as it goes.
Progress = Callable[[str, int, int], None]
#: run(session, principal, data, source, progress, **options) -> summary: the import itself (it raises DomainError
#: to refuse); options are the route's parameters (e.g. a FHIR import's trust_code), given to start().
JobFunction = Callable[..., dict[str, Any]]
#: after(summary, **options): work a kind does once its import is committed (e.g. compacting a variant store).
AfterCommit = Callable[..., None]

#: Every kind of job, registered by the feature that owns the import (gmc.registry, gmc.samples, ...).
JOB_KINDS: dict[str, tuple[str, JobFunction]] = {}
_AFTER: dict[str, AfterCommit] = {}

ACTIVE = ("queued", "running")
#: Jobs one user may have queued or running at once (their files wait in memory).
MAX_ACTIVE_PER_USER = 3
INTERRUPTED = ("interrupted: the server process running this job stopped before it finished; nothing was "
               "imported (the import is one transaction). Submit the file again.")
STOPPED = ("stopped: the server was shut down while this job ran; nothing was imported (the import is one "
           "transaction). Submit the file again.")


def register_job_kind(kind: str, title: str, run: JobFunction, *, after: AfterCommit | None = None) -> None:
    """Makes a kind of job runnable (called by the feature that owns the import, at import time)."""
    JOB_KINDS[kind] = (title, run)
    if after is not None:
        _AFTER[kind] = after


class JobStopped(Exception):
    """Raised inside a running job when its server shuts down: the import's transaction rolls back."""


@dataclass
class LiveProgress:
    """What a running job has done so far, as its worker last reported it."""

    phase: str
    done: int
    total: int


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRunner:
    """The worker pool of one server process and the progress of the jobs it runs."""

    def __init__(self, database: Database, *, workers: int = 1) -> None:
        self.database = database
        self.host = socket.gethostname()[:60]
        #: host:pid:instance. The instance tells a restarted server apart from its predecessor with the same pid
        #: (a container's server is often pid 1 every time).
        self.runner_id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gmc-job")
        self._live: dict[str, LiveProgress] = {}
        self._stopping = threading.Event()
        self._persist_progress = database.dialect == "postgresql"

    # Submitting ---------------------------------------------------------------------------------------

    def create(self, session: GmcSession, principal: Principal, *, kind: str, data: bytes,
               source: str) -> BackgroundJob:
        """Records a queued job in the caller's transaction (audited); start() it once that is committed."""
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        # Queued files are held in memory: one user may not queue without end.
        active = session.execute(select(func.count()).select_from(BackgroundJob).where(
            BackgroundJob.user_id == principal.user_id, BackgroundJob.status.in_(ACTIVE))).scalar_one()
        if active >= MAX_ACTIVE_PER_USER:
            raise Conflict(f"you have {active} imports queued or running; wait for one to finish", field="file")
        job = BackgroundJob(id=uuid.uuid4().hex, kind=kind, status="queued", user_id=principal.user_id,
                            source=source[:200], size_bytes=len(data), rows_done=0, runner=self.runner_id,
                            created_at=utcnow())
        session.add(job)
        record(session, actor=principal.actor, verb=AuditVerb.IMPORT, entity_type="background_job",
               entity_id=job.id, summary={"kind": kind, "status": "queued", "bytes": len(data)})
        return job

    def start(self, job_id: str, principal: Principal, data: bytes, options: dict[str, Any] | None = None) -> None:
        """Hands a committed job to the worker pool."""
        request_id = current_request_id()
        self._live[job_id] = LiveProgress("queued", 0, 0)
        self._pool.submit(self._run, job_id, principal, data, request_id, options or {})

    # Running ------------------------------------------------------------------------------------------

    def _run(self, job_id: str, principal: Principal, data: bytes, request_id: str | None,
             options: dict[str, Any]) -> None:
        token = set_request_id(request_id)
        try:
            self._run_job(job_id, principal, data, options)
        finally:
            self._live.pop(job_id, None)
            reset_request_id(token)

    def _run_job(self, job_id: str, principal: Principal, data: bytes, options: dict[str, Any]) -> None:
        with self.database.transaction() as session:
            job = session.get(BackgroundJob, job_id)
            if job is None or job.status != "queued":
                return
            if self._stopping.is_set():
                self._fail(session, job, principal, {"detail": STOPPED})
                return
            job.status, job.started_at, job.phase = "running", utcnow(), "checking"
            kind, source = job.kind, job.source
        _, run = JOB_KINDS[kind]
        last_write = [0.0]

        def progress(phase: str, done: int, total: int) -> None:
            if self._stopping.is_set():
                raise JobStopped()
            self._live[job_id] = LiveProgress(phase, done, total)
            now = time.monotonic()
            if self._persist_progress and (now - last_write[0] >= 1.0 or done == total):
                last_write[0] = now
                with self.database.transaction() as s:
                    s.execute(update(BackgroundJob).where(BackgroundJob.id == job_id)
                              .values(phase=phase, rows_done=done, rows_total=total))

        error: dict[str, Any]
        try:
            with self.database.transaction() as session:
                summary = run(session, principal, data, source, progress, **options)
                # Marked in the import's own transaction: the rows and "succeeded" commit together.
                job = session.get(BackgroundJob, job_id)
                live = self._live.get(job_id)
                job.status, job.finished_at, job.phase, job.result = "succeeded", utcnow(), None, summary
                job.rows_total = live.total if live else job.rows_total
                job.rows_done = job.rows_total or 0
                record(session, actor=principal.actor, verb=AuditVerb.IMPORT, entity_type="background_job",
                       entity_id=job_id, summary={"kind": kind, "status": "succeeded", **_counts(summary)})
        except DomainError as exc:
            error = exc.to_dict()
        except JobStopped:
            error = {"detail": STOPPED}
        except Exception as exc:  # noqa: BLE001  (the job must end failed, not stay "running")
            error = {"detail": f"the import failed unexpectedly ({type(exc).__name__}); nothing was imported"}
        else:
            after = _AFTER.get(kind)
            if after is not None:
                try:
                    after(summary, **options)
                except Exception:  # the import is committed and stays so; the follow-up is only logged
                    log.exception("after-import step of job %s (%s) failed", job_id, kind)
            return
        with self.database.transaction() as session:
            job = session.get(BackgroundJob, job_id)
            if job is not None:
                live = self._live.get(job_id)
                if live is not None:
                    job.phase, job.rows_done, job.rows_total = live.phase, live.done, live.total
                self._fail(session, job, principal, error)

    @staticmethod
    def _fail(session: GmcSession, job: BackgroundJob, principal: Principal, error: dict[str, Any]) -> None:
        job.status, job.finished_at, job.error = "failed", utcnow(), error
        record(session, actor=principal.actor, verb=AuditVerb.IMPORT, entity_type="background_job",
               entity_id=job.id, summary={"kind": job.kind, "status": "failed",
                                          "problems": len(error.get("problems") or []) or 1})

    # Reading ------------------------------------------------------------------------------------------

    def live(self, job_id: str) -> LiveProgress | None:
        """The in-memory progress of a job this process is running."""
        return self._live.get(job_id)

    def runner_gone(self, runner: str | None) -> bool:
        """True when a job's runner process is known to be dead (same host, and not this server's pool)."""
        if not runner or runner == self.runner_id:
            return False
        host, _, rest = runner.partition(":")
        pid, _, _instance = rest.partition(":")
        if host != self.host or not pid.isdigit():
            return False
        return int(pid) == os.getpid() or not _pid_alive(int(pid))

    def fail_interrupted(self, session: GmcSession) -> int:
        """Marks failed every queued or running job whose process died; returns how many."""
        jobs = session.execute(select(BackgroundJob).where(BackgroundJob.status.in_(ACTIVE))).scalars().all()
        count = 0
        for job in jobs:
            if self.runner_gone(job.runner):
                job.status, job.finished_at, job.error = "failed", utcnow(), {"detail": INTERRUPTED}
                record(session, actor=_system_actor(), verb=AuditVerb.IMPORT, entity_type="background_job",
                       entity_id=job.id, summary={"kind": job.kind, "status": "failed", "interrupted": True})
                count += 1
        return count

    def recover(self) -> int:
        """At start-up: marks failed the jobs that died with an earlier server process of this host."""
        try:
            with self.database.transaction() as session:
                return self.fail_interrupted(session)
        except DBAPIError as exc:
            # A database without the jobs table (not migrated yet) must not stop the server from starting.
            log.warning("background jobs not checked at start-up: %s", type(exc.orig).__name__)
            return 0

    def shutdown(self) -> None:
        """Stops the running job at its next row (it rolls back and is marked failed) and the queued ones."""
        self._stopping.set()
        self._pool.shutdown(wait=True)


def _system_actor():  # noqa: ANN202
    from gmc.audit.service import Actor

    return Actor.system("jobs")


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if isinstance(v, int)}


def get_job(session: GmcSession, runner: JobRunner, principal: Principal, job_id: str) -> BackgroundJob:
    """A job of the caller's (404 for anyone else's: they may not learn it exists)."""
    # Ids are 32 hex digits; anything else (a NUL byte, which PostgreSQL refuses in text) is not looked up.
    job = session.get(BackgroundJob, job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    if job is None or job.user_id != principal.user_id:
        raise NotFound("no such job")
    if job.status in ACTIVE and runner.runner_gone(job.runner):
        runner.fail_interrupted(session)
    return job


def job_summary(runner: JobRunner, job: BackgroundJob) -> dict[str, Any]:
    """The job as the status endpoint and page show it, with live progress when this process runs it."""
    phase, done, total = job.phase, job.rows_done, job.rows_total
    live = runner.live(job.id) if job.status in ACTIVE else None
    if live is not None and live.phase != "queued":
        phase, done, total = live.phase, live.done, live.total
    title = JOB_KINDS.get(job.kind, (job.kind, None))[0]
    return {"job_id": job.id, "kind": job.kind, "title": title, "status": job.status, "phase": phase,
            "rows_done": done, "rows_total": total, "source": job.source, "size_bytes": job.size_bytes,
            "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
            "result": job.result, "error": job.error,
            "status_url": f"/api/jobs/{job.id}", "page_url": f"/jobs/{job.id}"}
