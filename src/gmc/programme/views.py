"""The programme dashboard page (national view, or one centre) with each chart's CSV."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.nav import NavItem, register_nav
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.programme import repository as repo
from gmc.programme import service

router = APIRouter(include_in_schema=False)
register_nav(NavItem("Programme", "/programme", Permission.PROGRAMME_VIEW, order=800, roles=frozenset({"programme"})))
VIEW = Depends(require(Permission.PROGRAMME_VIEW))


def _dashboard_worklist(db: GmcSession, principal: Principal) -> Worklist:
    """The dashboard's headline on the home page: genomes against the target, and each centre against its own."""
    data = service.dashboard(db, principal)
    head = data["headline"]
    behind = head["expected_now"] is not None and head["genomes"] < head["expected_now"]
    target = (f" of a {head['target']:,} target, {head['expected_now']:,} expected by now"
              if head["target"] is not None else " (no plan set)")
    items = [WorkItem(data["title"], "/programme", f"{head['genomes']:,} genomes{target}; {head['recruited']:,} "
                      f"recruited, {head['cases_interpreted']:,} cases interpreted")]
    for c in (data["national"] or {}).get("centres", []):
        share = f" ({c['percent_of_target']:.1f} % of {c['target']:,})" if c["target"] else ""
        expected = f", {c['expected_now']:,} expected by now" if c["expected_now"] is not None else ""
        items.append(WorkItem(c["name"], f"/programme?centre={c['centre']}",
                              f"{c['genomes']:,} genomes{share}{expected}; {c['recruited']:,} recruited"))
    return Worklist("Genomes against the target", head["genomes"], items, href="/programme",
                    tone="bad" if behind else "ok", empty="No genomes yet.", link_text="Open the dashboard")


register_worklist(WorklistSource("programme.dashboard", frozenset({"programme"}), _dashboard_worklist, order=40))


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
