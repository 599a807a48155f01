"""Rare-disease pages: the scientists' case list and the case interpretation page (tiers, ranking, ACMG, diagnosis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState
from gmc.common.requests import import_max_bytes
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files.service import resolve_form_input
from gmc.genomics import service as genomics_service
from gmc.genomics.router import store_base
from gmc.interpretation.rare import service
from gmc.interpretation.rare.acmg import CRITERIA, Strength

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Rare disease", "/rare", Permission.INTERPRETATION_READ, order=490, roles=frozenset({"scientist", "clinician"})))

READ = Depends(require(Permission.INTERPRETATION_READ))


def _to_review(db: GmcSession, principal: Principal) -> Worklist:
    """Rare-disease cases awaiting review: exactly what /rare?todo=review lists."""
    items = [WorkItem(c.case_id, f"/cases/{c.case_id}/interpretation", c.referral.clinical_indication)
             for c in service.cases_to_review(db, principal)]
    return worklist("Rare-disease cases to review", items, href="/rare?todo=review")


register_worklist(WorklistSource("rare.to_review", frozenset({"scientist"}), _to_review, order=200))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))


def _page(request: Request, db: GmcSession, principal: Principal, case_id: str, *, status_code: int = 200,
          run_id: str = "", tier: str = "", gene: str = "", mode: str = "", show: int = 30,
          **extra: Any) -> Response:
    view = service.interpretation_view(db, principal, case_id, run_id=run_id or None, tier=tier, gene=gene,
                                       mode=mode, show=show if show > 0 else None)
    family = _family_beside(request, db, principal, case_id, view["genes"])
    context = {**view, "family": family, "criteria": list(CRITERIA), "strengths": [s.value for s in Strength],
               **extra}
    return render(request, "rare/case.html", context, status_code=status_code)


def _family_beside(request: Request, db: GmcSession, principal: Principal, case_id: str,
                   genes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The family's genotypes at the shown variants (set on each variant); none without the right to read them."""
    try:
        return genomics_service.family_beside(db, principal=principal, case_id=case_id,
                                              variants=[v for g in genes for v in g["variants"]],
                                              store_base=store_base(request))
    except DomainError:
        return []


def _back(case_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}/interpretation{anchor}", status_code=303)


@router.get("/rare")
def cases_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Rare-disease cases at your trusts with status, last run and top candidate: filtered, sorted, paged."""
    state = ListState.from_query("/rare", request.query_params, sorts=service.CASE_SORTS, default_sort="opened",
                                 default_descending=True, filters=("q", "status", "run", "todo"))
    page = service.rare_case_page(db, principal, state)
    return render(request, "rare/cases.html", {"cases": page.items, "page": page, "filters": state.filters})


@router.get("/cases/{case_id}/interpretation")
def case_page(request: Request, case_id: str, run: str = "", tier: str = "", gene: str = "", mode: str = "",
              show: int = 30, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The case interpretation page (show=0 lists every matching gene)."""
    return _page(request, db, principal, case_id, run_id=run, tier=tier, gene=gene, mode=mode, show=show)


@router.get("/cases/{case_id}/interpretation/status")
def status_fragment(request: Request, case_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The job status box (htmx polls it while a run is queued or running; when it ends the page reloads)."""
    view = service.run_status(db, principal, case_id)
    response = render(request, "rare/_status.html", view)
    if request.headers.get("HX-Request") and not view["pending"]:
        # The run the page was waiting for has finished: reload to show its results.
        response.headers["HX-Refresh"] = "true"
    return response


def _guard(request: Request, db: GmcSession, principal: Principal, case_id: str, action: Any) -> Response | None:
    """Runs a write in a savepoint; a domain error re-renders the page with the message and changes nothing."""
    try:
        with db.begin_nested():
            action()
    except DomainError as exc:
        return _page(request, db, principal, case_id, status_code=exc.status_code, message=exc.message,
                     message_kind="error")
    return None


@router.post("/cases/{case_id}/interpretation/runs", max_body_size=import_max_bytes())
def run_page(request: Request, case_id: str, background: BackgroundTasks, vcf: str = Form(""),
             vcf_file: UploadFile | None = File(None), build: str = Form(""), principal: Principal = WRITE,
             db: GmcSession = DB) -> Response:
    """Queues a run from the form; it is computed after the response and the page polls its status."""
    queued: list[int] = []

    def action() -> None:
        vcf_path = resolve_form_input(db, principal, field="vcf", settings=request.app.state.settings,
                                      reference=vcf, upload=vcf_file)
        queued.append(service.queue_rare_run(db, principal, case_id, vcf_path=vcf_path,
                                             build=build.strip() or None).id)

    failed = _guard(request, db, principal, case_id, action)
    if failed is not None:
        return failed
    background.add_task(service.execute_in_background, request.app.state.database, queued[0])
    return _back(case_id, "#status")


@router.post("/cases/{case_id}/interpretation/panels")
def panel_page(request: Request, case_id: str, panel: str = Form(""), reason: str = Form("chosen"),
               principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Applies a panel (suggested or named)."""
    failed = _guard(request, db, principal, case_id,
                    lambda: service.apply_panel(db, principal, case_id, panel, reason=reason))
    return failed or _back(case_id, "#panels")


@router.post("/cases/{case_id}/interpretation/panels/{applied_id}/remove")
def remove_panel_page(request: Request, case_id: str, applied_id: int, principal: Principal = WRITE,
                      db: GmcSession = DB) -> Response:
    """Takes an applied panel off the case."""
    failed = _guard(request, db, principal, case_id,
                    lambda: service.remove_panel(db, principal, case_id, applied_id))
    return failed or _back(case_id, "#panels")


@router.post("/cases/{case_id}/interpretation/custom-panel")
def custom_panel_page(request: Request, case_id: str, name: str = Form(""), genes: str = Form(""),
                      principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Creates a custom gene list (symbols separated by commas, spaces or lines) and applies it."""
    symbols = [g for g in genes.replace(",", " ").split() if g]
    failed = _guard(request, db, principal, case_id,
                    lambda: service.add_custom_panel(db, principal, case_id, name, symbols))
    return failed or _back(case_id, "#panels")


@router.post("/cases/{case_id}/interpretation/acmg")
def acmg_page(request: Request, case_id: str, run_id: str = Form(""), variant_id: str = Form(""),
              code: str = Form(""), met: str = Form("yes"), strength: str = Form(""), reason: str = Form(""),
              principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Overrides one ACMG criterion of a variant with a reason."""
    failed = _guard(request, db, principal, case_id, lambda: service.override_criterion(
        db, principal, run_id, variant_id, code, met=met == "yes", reason=reason, strength=strength or None))
    return failed or _back(case_id, f"#v-{variant_id.replace(':', '-')}")


@router.post("/cases/{case_id}/interpretation/notes")
def note_page(request: Request, case_id: str, text: str = Form(""), tags: str = Form(""), gene: str = Form(""),
              variant_id: str = Form(""), principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Adds a note with comma-separated tags."""
    failed = _guard(request, db, principal, case_id, lambda: service.add_note(
        db, principal, case_id, text, tags=tags.split(","), gene=gene or None, variant_id=variant_id or None))
    return failed or _back(case_id, "#notes")


@router.post("/cases/{case_id}/interpretation/diagnosis")
def diagnosis_page(request: Request, case_id: str, run_id: str = Form(""), gene: str = Form(""),
                   note: str = Form(""), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Records the chosen diagnosis; the case moves to review."""
    failed = _guard(request, db, principal, case_id,
                    lambda: service.choose_diagnosis(db, principal, run_id, gene, note=note))
    return failed or _back(case_id, "#diagnosis")
