"""The programme dashboard page (national view, or one centre) with each chart's CSV."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.nav import NavItem, register_nav
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.programme import repository as repo
from gmc.programme import service

router = APIRouter(include_in_schema=False)
register_nav(NavItem("Programme", "/programme", Permission.PROGRAMME_VIEW, order=800))
VIEW = Depends(require(Permission.PROGRAMME_VIEW))


@router.get("/programme")
def dashboard_page(request: Request, centre: str | None = None, principal: Principal = VIEW,
                   db: GmcSession = DB) -> Response:
    """The dashboard: recruitment against the target, samples, genomes, interpretation, turnaround."""
    data = service.dashboard(db, principal, centre=centre)
    national = data["national"]
    return render(request, "programme/dashboard.html", {
        "data": data, "charts": [service.as_chart(c) for c in data["charts"]],
        "national_chart": service.as_chart(national["chart"]) if national else None,
        "centre": centre or "", "centres": repo.centres(db), "national_staff": principal.trust_scope is None})
