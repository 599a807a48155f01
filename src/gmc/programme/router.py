"""The programme JSON API: the dashboard, each chart as CSV, and the plans behind the target trajectories."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.programme import service

router = APIRouter(prefix="/api/programme", tags=["programme"])
VIEW = Depends(require(Permission.PROGRAMME_VIEW))


class PlanIn(BaseModel):
    """A target for NATIONAL or a centre: genomes, cancer_genomes or cancer_patients between two dates."""

    scope: str
    measure: str
    target: int
    starts_on: date
    ends_on: date


def csv_response(data: dict[str, Any], key: str) -> Response:
    """One chart of a dashboard as a CSV download."""
    chart = service.as_chart(service.chart_by_key(data, key))
    return Response(chart.csv_text(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{key}.csv"'})


@router.get("/dashboard")
def dashboard(centre: str | None = None, principal: Principal = VIEW, db: GmcSession = DB) -> dict[str, Any]:
    """Recruitment, samples, genomes, interpretation and turnaround for your view (national, or one centre)."""
    return service.dashboard(db, principal, centre=centre)


@router.get("/charts/{key}.csv")
def chart_csv(key: str, centre: str | None = None, principal: Principal = VIEW, db: GmcSession = DB) -> Response:
    """One dashboard chart's data as CSV."""
    return csv_response(service.dashboard(db, principal, centre=centre), key)


@router.get("/plans")
def list_plans(principal: Principal = VIEW, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Every plan."""
    return service.plans(db, principal)


@router.put("/plans")
def set_plan(body: PlanIn, principal: Principal = VIEW, db: GmcSession = DB) -> dict[str, Any]:
    """Sets (or changes) a plan; national programme staff only."""
    plan = service.set_plan(db, principal, scope=body.scope, measure=body.measure, target=body.target,
                            starts_on=body.starts_on, ends_on=body.ends_on)
    return {"scope": plan.scope, "measure": plan.measure, "target": plan.target, "starts_on": plan.starts_on,
            "ends_on": plan.ends_on}
