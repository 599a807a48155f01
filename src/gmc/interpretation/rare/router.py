"""The rare-disease interpretation JSON API: panels, runs of a case, ACMG overrides, notes and the diagnosis."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from pydantic import BaseModel, Field

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files.service import resolve_path
from gmc.interpretation.rare import repository as repo
from gmc.interpretation.rare import service
from gmc.registry.service import record_case_read, view_case

router = APIRouter(prefix="/api/rare", tags=["rare disease interpretation"])

READ = Depends(require(Permission.INTERPRETATION_READ))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))


class RunIn(BaseModel):
    """A run request: the VCF (upload:<id> or <folder>:<path>) when the case has no stored genome data, and
    whether to wait for it."""

    vcf: str | None = None
    build: str | None = None
    wait: bool = False


class PanelIn(BaseModel):
    """A panel to apply: PanelApp id or name, optionally a stored version."""

    panel: str
    version: int | None = None
    reason: str = "chosen"


class CustomPanelIn(BaseModel):
    """A custom gene list for a case."""

    name: str
    genes: list[str] = Field(default_factory=list)


class OverrideIn(BaseModel):
    """A scientist's decision on one ACMG criterion."""

    variant_id: str
    code: str
    met: bool
    reason: str
    strength: str | None = None


class NoteIn(BaseModel):
    """A note with tags on a case, gene or variant."""

    text: str
    tags: list[str] = Field(default_factory=list)
    gene: str | None = None
    variant_id: str | None = None


class DiagnosisIn(BaseModel):
    """The diagnosis chosen from a run."""

    gene: str
    variant_ids: list[str] = Field(default_factory=list)
    note: str = ""


@router.get("/panels")
def panels(q: str = "", principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Current panel versions, optionally those whose name contains q."""
    rows = repo.current_panels(db)
    text = q.strip().lower()
    return [service.panel_dict(p) for p in rows if not text or text in p.name.lower()]


@router.get("/panels/{panel_key}")
def panel(panel_key: str, version: int | None = None, principal: Principal = READ,
          db: GmcSession = DB) -> dict[str, Any]:
    """One panel version with its genes (404 when not found)."""
    return service.panel_dict(service.find_panel(db, panel_key, version), with_genes=True)


@router.get("/cases")
def cases(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Rare-disease cases in scope with status, last run and top candidate."""
    return service.rare_case_list(db, principal)


@router.get("/cases/{case_id}/panels")
def case_panels(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """Panels applied to a case and those suggested by its clinical indication."""
    case = view_case(db, principal=principal, case_id=case_id)
    record_case_read(db, principal, case, "panels")
    return {"applied": [{"id": a.id, "reason": a.reason, **service.panel_dict(p)}
                        for a, p in repo.applied_panels(db, case.id)],
            "suggested": service.suggest_panels(db, case)}


@router.post("/cases/{case_id}/panels", status_code=201)
def apply_panel(case_id: str, body: PanelIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Applies a panel to a case."""
    applied = service.apply_panel(db, principal, case_id, body.panel, version=body.version, reason=body.reason)
    return {"id": applied.id, "reason": applied.reason}


@router.post("/cases/{case_id}/custom-panels", status_code=201)
def custom_panel(case_id: str, body: CustomPanelIn, principal: Principal = WRITE,
                 db: GmcSession = DB) -> dict[str, Any]:
    """Creates a custom gene list and applies it to the case."""
    applied = service.add_custom_panel(db, principal, case_id, body.name, body.genes)
    return {"id": applied.id, "reason": applied.reason}


@router.post("/cases/{case_id}/runs", status_code=202)
def start_run(case_id: str, body: RunIn, request: Request, background: BackgroundTasks, principal: Principal = WRITE,
              db: GmcSession = DB) -> dict[str, Any]:
    """Queues a run (computed after the response) or, with wait, runs it now; bad input is refused up front."""
    view_case(db, principal=principal, case_id=case_id)  # scope first, then the file
    body.vcf = resolve_path(db, principal, body.vcf, field="vcf", settings=request.app.state.settings)
    if body.wait:
        run = service.run_rare(db, principal, case_id, vcf_path=body.vcf, build=body.build)
        return service.run_dict(run, with_results=False)
    run = service.queue_rare_run(db, principal, case_id, vcf_path=body.vcf, build=body.build)
    background.add_task(service.execute_in_background, request.app.state.database, run.id)
    return service.run_dict(run, with_results=False)


@router.get("/cases/{case_id}/runs")
def runs(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """A case's rare-disease runs, newest first (without results)."""
    case = view_case(db, principal=principal, case_id=case_id)
    record_case_read(db, principal, case, "runs")
    return [service.run_dict(r, with_results=False) for r in repo.runs_of_case(db, case.id)]


@router.get("/runs/{run_id}")
def run(run_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """One run with its results and provenance."""
    return service.run_dict(service.read_run(db, principal, run_id))


@router.post("/runs/{run_id}/acmg", status_code=201)
def override(run_id: str, body: OverrideIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Overrides one ACMG criterion of a variant with a reason; returns the recomputed classification."""
    result = service.override_criterion(db, principal, run_id, body.variant_id, body.code, met=body.met,
                                        reason=body.reason, strength=body.strength)
    return service.acmg_dict(result)


@router.get("/cases/{case_id}/acmg-history")
def acmg_history(case_id: str, variant_id: str | None = None, principal: Principal = READ,
                 db: GmcSession = DB) -> list[dict[str, Any]]:
    """Every ACMG override of a case, oldest first."""
    return service.override_history(db, principal, case_id, variant_id)


@router.post("/cases/{case_id}/notes", status_code=201)
def note(case_id: str, body: NoteIn, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """Adds a note with tags."""
    row = service.add_note(db, principal, case_id, body.text, tags=body.tags, gene=body.gene,
                           variant_id=body.variant_id)
    return {"id": row.id, "tags": row.tags}


@router.post("/runs/{run_id}/diagnosis", status_code=201)
def diagnosis(run_id: str, body: DiagnosisIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Records the chosen diagnosis on the case (the case moves to review)."""
    chosen = service.choose_diagnosis(db, principal, run_id, body.gene, variant_ids=body.variant_ids, note=body.note)
    return service.diagnosis_dict(chosen)
