"""The job page: a background import's progress while it runs, then its outcome (counts or every problem)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gmc.auth.dependencies import get_principal
from gmc.auth.principal import Principal
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs import service
from gmc.jobs.router import job_runner

router = APIRouter(include_in_schema=False)


def _context(request: Request, db: GmcSession, principal: Principal, job_id: str) -> dict[str, object]:
    runner = job_runner(request)
    return {"job": service.job_summary(runner, service.get_job(db, runner, principal, job_id))}


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, principal: Principal = Depends(get_principal),
             db: GmcSession = DB) -> Response:
    """A job you submitted, refreshing itself while it runs."""
    return render(request, "jobs/job.html", _context(request, db, principal, job_id))


@router.get("/jobs/{job_id}/status")
def job_status_fragment(job_id: str, request: Request, principal: Principal = Depends(get_principal),
                        db: GmcSession = DB) -> Response:
    """The status part of the job page (htmx polls it while the job runs)."""
    return render(request, "jobs/_status.html", _context(request, db, principal, job_id))
