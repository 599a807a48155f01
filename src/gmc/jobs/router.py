"""Jobs API: a job's status and progress; and how an import route hands a large file to a job."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gmc.auth.dependencies import get_principal
from gmc.auth.principal import Principal
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs import service
from gmc.jobs.models import BackgroundJob
from gmc.jobs.service import JobRunner

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


def job_runner(request: Request) -> JobRunner:
    """This server's worker pool (made by the app factory)."""
    return request.app.state.jobs


def runs_as_job(request: Request, data: bytes) -> bool:
    """True when an uploaded file is large enough to be imported in the background (GMC_IMPORT_JOB_BYTES)."""
    return len(data) > request.app.state.settings.import_job_bytes


def submit_job(request: Request, background: BackgroundTasks, db: GmcSession, principal: Principal, *,
               kind: str, data: bytes, source: str, options: dict[str, Any] | None = None) -> BackgroundJob:
    """Records a job for the file in the request's transaction; it starts once that is committed."""
    runner = job_runner(request)
    job = runner.create(db, principal, kind=kind, data=data, source=source)
    # Background tasks run after the response, so after the request's commit: the worker finds the job.
    background.add_task(runner.start, job.id, principal, data, options)
    return job


def queue_import(request: Request, background: BackgroundTasks, db: GmcSession, principal: Principal, *,
                 kind: str, data: bytes, source: str, options: dict[str, Any] | None = None) -> JSONResponse:
    """Submits the file as a job and answers 202 with where to follow it."""
    job = submit_job(request, background, db, principal, kind=kind, data=data, source=source, options=options)
    body = service.job_summary(job_runner(request), job)
    return JSONResponse(jsonable_encoder(body), status_code=202, headers={"Location": body["status_url"]})


@router.get("/{job_id}")
def job_status(job_id: str, request: Request, principal: Principal = Depends(get_principal),
               db: GmcSession = DB) -> dict[str, Any]:
    """A job you submitted: queued, running (phase, rows done of total), succeeded (counts) or failed (errors)."""
    runner = job_runner(request)
    return service.job_summary(runner, service.get_job(db, runner, principal, job_id))
