"""The cancer interpretation JSON API: knowledge-base search, curation, runs of a case and the tumour board."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import ValidationFailed
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files.service import resolve_path
from gmc.interpretation.cancer import repository as repo
from gmc.interpretation.cancer import service
from gmc.interpretation.cancer.levels import level_table
from gmc.interpretation.cancer.schemas import NoteIn, ProposalIn, ReviewIn, RunIn
from gmc.interpretation.cancer.somatic import SomaticSettings
from gmc.registry.service import view_case

router = APIRouter(prefix="/api/cancer", tags=["cancer interpretation"])

READ = Depends(require(Permission.INTERPRETATION_READ))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))
CURATE = Depends(require(Permission.KNOWLEDGE_CURATE))


@router.get("/knowledge")
def search_knowledge(gene: str = "", alteration: str = "", tumour_type: str = "", level: str = "",
                     evidence_type: str = "", limit: int = 200, principal: Principal = READ,
                     db: GmcSession = DB) -> dict[str, Any]:
    """Live evidence (files + approved curation) by gene, alteration, OncoTree type (with parents), level."""
    return service.search_knowledgebase(db, gene=gene, alteration=alteration, tumour_type=tumour_type, level=level,
                                        evidence_type=evidence_type, limit=max(1, min(limit, 5000)))


@router.get("/evidence-levels")
def evidence_levels(principal: Principal = READ) -> list[dict[str, Any]]:
    """How each source's evidence level maps to an AMP/ASCO/CAP level (the one table gmc uses)."""
    return level_table()


@router.get("/curation/queue")
def curation_queue(principal: Principal = CURATE, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Proposals awaiting a second curator, oldest first."""
    return [service.version_dict(version) for version in repo.review_queue(db)]


@router.post("/curation/proposals", status_code=201)
def propose(body: ProposalIn, principal: Principal = CURATE, db: GmcSession = DB) -> dict[str, Any]:
    """Proposes an add, edit or retire; nothing is live until a different curator approves."""
    if body.action == "add":
        version = service.propose_add(db, principal, body.record, body.reason)
    elif not body.evidence_id:
        raise ValidationFailed(f"{body.action} needs the evidence_id of the item", field="evidence_id")
    elif body.action == "edit":
        version = service.propose_edit(db, principal, body.evidence_id, body.record, body.reason)
    else:
        version = service.propose_retire(db, principal, body.evidence_id, body.reason)
    return service.version_dict(version)


@router.post("/curation/proposals/{version_pk}/approve")
def approve(version_pk: int, body: ReviewIn, principal: Principal = CURATE, db: GmcSession = DB) -> dict[str, Any]:
    """Approves a proposal made by another curator; it goes live at once."""
    return service.version_dict(service.approve(db, principal, version_pk, body.reason))


@router.post("/curation/proposals/{version_pk}/reject")
def reject(version_pk: int, body: ReviewIn, principal: Principal = CURATE, db: GmcSession = DB) -> dict[str, Any]:
    """Rejects a proposal made by another curator, with a reason (kept in the history)."""
    return service.version_dict(service.reject(db, principal, version_pk, body.reason))


@router.get("/curation/items/{evidence_id}")
def item_history(evidence_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """An item's curation state and every version."""
    item = service.curation_history(db, evidence_id)
    return {"evidence_id": item.evidence_id, "gene": item.gene, "status": item.status,
            "live_version": item.live_version, "versions": [service.version_dict(v) for v in item.versions]}


@router.get("/cases")
def cancer_cases(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Cancer cases at your trusts with whether each has been interpreted."""
    return service.cancer_case_list(db, principal)


@router.post("/cases/{case_id}/runs", status_code=201)
def run_somatic(request: Request, case_id: str, body: RunIn, principal: Principal = WRITE,
                db: GmcSession = DB) -> dict[str, Any]:
    """Interprets the case's tumour-normal VCF (upload:<id> or <folder>:<path>, else its stored tumour data set)."""
    case = view_case(db, principal=principal, case_id=case_id)
    for name in ("vcf", "cna", "fusions", "germline_vcf", "callable"):
        setattr(body, name, resolve_path(db, principal, getattr(body, name), field=name,
                                         settings=request.app.state.settings))
    settings = SomaticSettings(min_tumour_vaf=body.min_tumour_vaf, min_tumour_depth=body.min_tumour_depth,
                               max_normal_vaf=body.max_normal_vaf, tmb_territory_mb=body.tmb_territory_mb,
                               tmb_assay=body.assay)
    run = service.run_somatic(db, principal, case, tumour_type=body.tumour_type, vcf_path=body.vcf,
                              cna_path=body.cna, fusions_path=body.fusions, germline_vcf=body.germline_vcf,
                              germline_build=body.germline_build, vcf_build=body.vcf_build, settings=settings,
                              tumour_sample=body.tumour_sample, normal_sample=body.normal_sample,
                              tumour_af_tag=body.tumour_af_tag, tumour_dp_tag=body.tumour_dp_tag,
                              callable_bed=body.callable)
    return service.run_dict(run)


@router.get("/cases/{case_id}/runs")
def case_runs(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """A case's runs, newest first (without results)."""
    _, runs = service.case_runs(db, principal, case_id)
    return [service.run_dict(run, with_results=False) for run in runs]


@router.get("/runs/{run_id}")
def get_run(run_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """One run with its RESULT document and provenance."""
    return service.run_dict(service.read_run(db, principal, run_id))


@router.get("/cases/{case_id}/board")
def tumour_board(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """The tumour board of a case: latest somatic run, germline findings (consent-filtered) and notes."""
    board = service.tumour_board(db, principal, case_id)
    run = board["run"]
    return {"case": board["case"], "run": service.run_dict(run, with_results=False) if run else None,
            "results": {k: v for k, v in (board["results"] or {}).items() if k != "germline"} or None,
            "germline": board["germline"],
            "notes": [{"id": n.id, "text": n.text, "author": n.author, "created_at": n.created_at}
                      for n in board["notes"]]}


@router.post("/cases/{case_id}/notes", status_code=201)
def add_note(case_id: str, body: NoteIn, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """Adds a tumour board note (audited)."""
    note = service.add_note(db, principal, case_id, body.text, body.run_id)
    return {"id": note.id, "text": note.text, "author": note.author, "created_at": note.created_at}
