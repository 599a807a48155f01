"""Cancer pages: case list, tumour board per case, knowledge-base search, curation (propose, review, history)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, ValidationFailed
from gmc.common.flash import redirect_with_message
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, paginate
from gmc.common.requests import FormFields, import_max_bytes
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files.service import resolve_form_input
from gmc.interpretation.cancer import repository as repo
from gmc.interpretation.cancer import service
from gmc.interpretation.cancer.knowledgebase import EVIDENCE_TYPES
from gmc.interpretation.cancer.levels import level_table
from gmc.interpretation.cancer.somatic import SomaticSettings
from gmc.registry.service import view_case

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Tumour boards", "/cancer", Permission.INTERPRETATION_READ, order=500, roles=frozenset({"scientist", "clinician"})))
register_nav(NavItem("Cancer knowledge", "/cancer/knowledge", Permission.INTERPRETATION_READ, order=501, roles=frozenset({"scientist"})))
register_nav(NavItem("Curation", "/cancer/curation", Permission.KNOWLEDGE_CURATE, order=502, roles=frozenset({"scientist"})))

READ = Depends(require(Permission.INTERPRETATION_READ))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))
CURATE = Depends(require(Permission.KNOWLEDGE_CURATE))


def _boards(db: GmcSession, principal: Principal) -> Worklist:
    """Cancer cases ready for the tumour board: exactly what /cancer?todo=board lists."""
    items = [WorkItem(c.case_id, f"/cancer/cases/{c.case_id}", c.referral.clinical_indication)
             for c in service.cases_for_board(db, principal)]
    return worklist("Tumour boards ready", items, href="/cancer?todo=board")


def _second_curator(db: GmcSession, principal: Principal) -> Worklist:
    """Knowledge-base proposals waiting for a second curator (not the proposer)."""
    queue = [v for v in repo.review_queue(db) if v.proposed_by != principal.username]
    items = [WorkItem(f"proposal {v.id}", "/cancer/curation", f"by {v.proposed_by}, {v.proposed_at:%d %b %Y}")
             for v in queue]
    return worklist("Evidence for a second curator", items, href="/cancer/curation")


register_worklist(WorklistSource("cancer.boards", frozenset({"scientist", "clinician"}), _boards, order=210))
register_worklist(WorklistSource("cancer.curation", frozenset({"scientist"}), _second_curator, order=220))

#: Fields a curator fills in for an evidence item, in form order.
RECORD_FIELDS = ("gene", "alteration", "evidence_type", "level", "significance", "tumour_type", "disease",
                 "therapies", "citations", "genomic_grch38", "origin")


def evidence_link(evidence_id: str) -> str | None:
    """The source's own page for an evidence id (CIViC evidence items), None when there is none to link."""
    if match := re.fullmatch(r"CIViC:EID(\d+)", evidence_id):
        return f"https://civicdb.org/links/evidence/{match.group(1)}"
    if evidence_id.startswith(service.CURATED_PREFIX):
        return f"/cancer/curation/items/{evidence_id}"
    return None


def citation_link(citation: str) -> str | None:
    """A PubMed, DOI or web link for a citation string, None when it is free text."""
    text = citation.strip()
    if match := re.fullmatch(r"(?:PMID:?\s*)?(\d{5,9})", text, re.I):
        return f"https://pubmed.ncbi.nlm.nih.gov/{match.group(1)}/"
    if match := re.fullmatch(r"(?:doi:\s*)?(10\.\d{4,}/\S+)", text, re.I):
        return f"https://doi.org/{match.group(1)}"
    if text.startswith(("http://", "https://")):
        return text
    return None


def therapy_tables(lines: list[dict[str, Any]], direction: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A direction's therapy lines split into those shown (this tumour type at level A-B, or level A anywhere) and
    those folded one click away (the rest)."""
    lines = [line for line in lines if line.get("direction") == direction]
    shown = [line for line in lines if (line["in_tumour_type"] and (line["level_here"] or "E") in "AB")
             or line["best_level"] == "A"]
    return shown, [line for line in lines if line not in shown]


def _helpers() -> dict[str, Any]:
    return {"evidence_link": evidence_link, "citation_link": citation_link, "evidence_types": EVIDENCE_TYPES,
            "evidence_levels": level_table(),
            "record_fields": RECORD_FIELDS, "therapy_tables": therapy_tables}


@router.get("/cancer")
def cases_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Cancer cases at your trusts, with links to their tumour boards: filtered, sorted, paged."""
    # Cases ready for a tumour board (interpreted) first, newest first within each.
    state = ListState.from_query("/cancer", request.query_params, sorts=service.CASE_SORTS,
                                 default_sort="interpreted", default_descending=True,
                                 filters=("q", "interpreted", "todo"))
    page = service.cancer_case_page(db, principal, state)
    return render(request, "cancer/cases.html", {"cases": page.items, "page": page, "filters": state.filters})


def _board(request: Request, db: GmcSession, principal: Principal, case_id: str, status_code: int = 200,
           **extra: Any) -> Response:
    board = service.tumour_board(db, principal, case_id)
    results = board["results"] or {}
    findings = results.get("findings", [])
    context = {**_helpers(), **board, "actionable": [f for f in findings if f.get("tier") in {"I", "II"}],
               # Tier IV (hundreds to thousands in a hypermutated tumour) is counted on the page, listed in the run JSON.
               "tier3": [f for f in findings if f.get("tier") == "III"],
               "tier4_count": sum(1 for f in findings if f.get("tier") == "IV"),
               "structural": results.get("structural_findings", []), "tmb": results.get("tmb"),
               "can_run": principal.has(Permission.INTERPRETATION_WRITE), **extra}
    return render(request, "cancer/board.html", context, status_code=status_code)


@router.get("/cancer/cases/{case_id}")
def board_page(request: Request, case_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The tumour board of a case: tiered findings with therapies and evidence, TMB, germline, notes."""
    return _board(request, db, principal, case_id)


@router.post("/cancer/cases/{case_id}/runs", max_body_size=import_max_bytes())
def run_page(request: Request, case_id: str, vcf: str = Form(""), tumour_type: str = Form(""),
             cna: str = Form(""), fusions: str = Form(""), germline_vcf: str = Form(""), vcf_build: str = Form(""),
             germline_build: str = Form(""), min_tumour_vaf: float = Form(0.05), min_tumour_depth: int = Form(10),
             callable_bed: str = Form("", alias="callable"), assay: str = Form(""),
             vcf_file: UploadFile | None = File(None), cna_file: UploadFile | None = File(None),
             fusions_file: UploadFile | None = File(None), germline_vcf_file: UploadFile | None = File(None),
             callable_file: UploadFile | None = File(None),
             principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Runs the somatic interpretation of the case from the form; errors are shown and nothing is stored."""
    try:
        with db.begin_nested():
            case = view_case(db, principal=principal, case_id=case_id)
            vcf_path, cna_path, fusions_path, germline_path, callable_path = (
                resolve_form_input(db, principal, field=name, settings=request.app.state.settings, reference=value,
                                   upload=upload)
                for name, value, upload in (("vcf", vcf, vcf_file), ("cna", cna, cna_file),
                                            ("fusions", fusions, fusions_file),
                                            ("germline_vcf", germline_vcf, germline_vcf_file),
                                            ("callable", callable_bed, callable_file)))
            run = service.run_somatic(
                db, principal, case, tumour_type=tumour_type or None, vcf_path=vcf_path,
                cna_path=cna_path, fusions_path=fusions_path,
                germline_vcf=germline_path, vcf_build=vcf_build or None,
                germline_build=germline_build or None, callable_bed=callable_path,
                settings=SomaticSettings(min_tumour_vaf=min_tumour_vaf, min_tumour_depth=min_tumour_depth,
                                         tmb_assay=assay.strip() or None))
    except DomainError as exc:
        return _board(request, db, principal, case_id, status_code=exc.status_code,
                      message=exc.message, message_kind="error")
    return redirect_with_message(f"/cancer/cases/{case_id}", f"Run {run.run_id} finished.")


@router.post("/cancer/cases/{case_id}/notes")
def note_page(request: Request, case_id: str, text: str = Form(""), run_id: str = Form(""),
              principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Adds a tumour board note."""
    try:
        with db.begin_nested():
            service.add_note(db, principal, case_id, text, run_id or None)
    except DomainError as exc:
        return _board(request, db, principal, case_id, status_code=exc.status_code, message=exc.message,
                      message_kind="error")
    return RedirectResponse(f"/cancer/cases/{case_id}#notes", status_code=303)


@router.get("/cancer/knowledge")
def knowledge_page(request: Request, gene: str = "", alteration: str = "", tumour_type: str = "", level: str = "",
                   evidence_type: str = "", principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Search the live knowledge base by gene, alteration, tumour type and evidence level."""
    query = {"gene": gene, "alteration": alteration, "tumour_type": tumour_type, "level": level,
             "evidence_type": evidence_type}
    context: dict[str, Any] = {**_helpers(), "query": query, "result": None}
    if any(query.values()):
        try:
            context["result"] = service.search_knowledgebase(db, **query)
        except ValidationFailed as exc:
            return render(request, "cancer/knowledge.html", {**context, "message": exc.message,
                                                             "message_kind": "error"}, status_code=422)
    return render(request, "cancer/knowledge.html", context)


def _curation(request: Request, db: GmcSession, status_code: int = 200, **extra: Any) -> Response:
    # The curated items are paged, sorted and filtered (gene, status) on the server; the state is in the URL.
    state = ListState.from_query("/cancer/curation", request.query_params, sorts=list(repo.CURATED_ORDER),
                                 default_sort="created", default_descending=True, filters=("gene", "status"))
    f = state.filters
    items = paginate(db, repo.curated_items_query(gene=f.get("gene"), status=f.get("status")), state,
                     repo.CURATED_ORDER)
    context = {**_helpers(), "queue": [service.version_dict(v) for v in repo.review_queue(db)],
               "items": items.items, "page": items, "filters": f, "statuses": _CURATED_STATUSES, "form": {}, **extra}
    return render(request, "cancer/curation.html", context, status_code=status_code)


_CURATED_STATUSES = ("pending", "live", "retired")


@router.get("/cancer/curation")
def curation_page(request: Request, evidence_id: str = "", principal: Principal = CURATE,
                  db: GmcSession = DB) -> Response:
    """The review queue, a form to propose a new item (or change `evidence_id`), and recently curated items."""
    form: dict[str, Any] = {}
    if evidence_id:
        current = service.current_record(db, evidence_id)
        form = {**{k: "; ".join(v) if isinstance(v, list) else (v or "") for k, v in current.items()},
                "evidence_id": evidence_id, "action": "edit"}
    return _curation(request, db, form=form)


@router.post("/cancer/curation/propose")
def propose_page(request: Request, form_fields: FormFields, principal: Principal = CURATE, db: GmcSession = DB) -> Response:
    """Proposes an add, edit or retire from the form; shown in the queue until a second curator decides."""
    form = form_fields
    action = str(form.get("action", "add"))
    evidence_id = str(form.get("evidence_id", "")).strip()
    reason = str(form.get("reason", ""))
    record = {name: str(form.get(name, "")).strip() for name in RECORD_FIELDS if str(form.get(name, "")).strip()}
    try:
        with db.begin_nested():
            if action == "add":
                version = service.propose_add(db, principal, record, reason)
            elif action == "edit":
                version = service.propose_edit(db, principal, evidence_id, record, reason)
            elif action == "retire":
                version = service.propose_retire(db, principal, evidence_id, reason)
            else:
                raise ValidationFailed("action must be add, edit or retire", field="action")
    except DomainError as exc:
        return _curation(request, db, status_code=exc.status_code, message=exc.message, message_kind="error",
                         form={**record, "reason": reason, "evidence_id": evidence_id, "action": action})
    return redirect_with_message("/cancer/curation", f"Proposed {version.action} of {version.item.evidence_id} "
                                 f"(version {version.version}); a second curator must approve it.")


@router.post("/cancer/curation/{version_pk}/{decision}")
def review_page(request: Request, version_pk: int, decision: str, reason: str = Form(""),
                principal: Principal = CURATE, db: GmcSession = DB) -> Response:
    """Approves or rejects another curator's proposal."""
    try:
        with db.begin_nested():
            if decision == "approve":
                version = service.approve(db, principal, version_pk, reason)
            elif decision == "reject":
                version = service.reject(db, principal, version_pk, reason)
            else:
                raise ValidationFailed("decision must be approve or reject", field="decision")
    except DomainError as exc:
        return _curation(request, db, status_code=exc.status_code, message=exc.message, message_kind="error")
    return redirect_with_message("/cancer/curation",
                                 f"{version.item.evidence_id} version {version.version} {version.status}.")


@router.get("/cancer/curation/items/{evidence_id}")
def item_page(request: Request, evidence_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """An evidence item's curation history: every version with who, why and the review."""
    item = service.curation_history(db, evidence_id)
    return render(request, "cancer/item.html", {**_helpers(), "item": item,
                                                "can_curate": principal.has(Permission.KNOWLEDGE_CURATE)})
