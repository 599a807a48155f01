"""The start page and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from gmc import __version__
from gmc.auth.dependencies import get_principal
from gmc.auth.principal import Principal
from gmc.common.nav import NavItem, menu_for, register_nav
from gmc.common.templating import render
from gmc.common.worklists import worklists_for
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.organisations import repository as org_repository

router = APIRouter(include_in_schema=False)
health_router = APIRouter(tags=["health"])

register_nav(NavItem("Home", "/", None, order=0))


@router.get("/")
def home(request: Request, principal: Principal = Depends(get_principal), db: GmcSession = DB) -> Response:
    """The home page of the signed-in user's roles: their worklists with counts, then their pages."""
    trusts = [] if principal.trust_scope is None else org_repository.trusts_by_ids(db, principal.trust_scope)
    own, more = menu_for(principal)
    return render(request, "web/home.html", {
        "worklists": worklists_for(db, principal), "trusts": trusts,
        "own": [i for i in own if i.path != "/" and i.section == "main"], "more": more})


@health_router.get("/health")
def health(request: Request, db: GmcSession = DB) -> JSONResponse:
    """Liveness and database reachability, without authentication."""
    db.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok", "version": __version__, "database": request.app.state.database.dialect})
