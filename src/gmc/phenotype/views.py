"""Phenotype pages: the participant capture page, the family pedigree page and the phenotype index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, ValidationFailed
from gmc.common.flash import redirect_with_message
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, paginate
from gmc.common.requests import import_max_bytes
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.phenotype import repository, service
from gmc.phenotype.ontology import UnknownTermError, get_ontology
from gmc.phenotype.service import Caller, ObservationInput

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Phenotypes", "/phenotype", Permission.PHENOTYPE_READ, order=300, roles=frozenset({"recruiter", "clinician", "scientist"})))

READ = Depends(require(Permission.PHENOTYPE_READ))
WRITE = Depends(require(Permission.PHENOTYPE_WRITE))


def _choices() -> dict[str, Any]:
    """Onset and modifier terms for the capture form's selects."""
    ontology = get_ontology()
    modifiers = ontology.modifier_terms()
    return {"onset_terms": ontology.onset_terms(), "severity_terms": modifiers["severity"],
            "laterality_terms": modifiers["laterality"],
            "other_modifiers": modifiers["pace_of_progression"] + modifiers["temporal_pattern"]}


def _participant_page(request: Request, db: GmcSession, principal: Principal, participant_id: str, *,
                      message: str = "", kind: str = "ok", status: int = 200) -> Response:
    caller = Caller.of(principal)
    profile = service.get_profile(db, caller, participant_id, include_removed=True)
    ontology = get_ontology()
    context = {"profile": profile, "p": profile.participant, "message": message, "message_kind": kind,
               "can_write": principal.has(Permission.PHENOTYPE_WRITE),
               "onset_label": lambda o: service.onset_label(o, ontology),
               "term_name": lambda t: ontology.terms[t].name if t in ontology.terms else t,
               "observed": [o for o in profile.observations if not o.excluded],
               "excluded": [o for o in profile.observations if o.excluded],
               "statuses": service.DIAGNOSIS_STATUSES, **_choices()}
    return render(request, "phenotype/participant.html", context, status_code=status)


@router.get("/phenotype")
def index_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Participants in scope with their term counts (paged, sorted, by id prefix), and the bulk import forms."""
    return render(request, "phenotype/index.html", _index_context(request, db, principal))


def _index_context(request: Request, db: GmcSession, principal: Principal) -> dict[str, Any]:
    state = ListState.from_query("/phenotype", request.query_params, sorts=list(repository.PARTICIPANT_ORDER),
                                 default_sort="observed", default_descending=True, filters=("q",))
    q = state.filters.get("q", "")
    page = paginate(db, repository.visible_participants_query(principal.trust_scope, text=q), state,
                    repository.PARTICIPANT_ORDER)
    return {"people": page.items, "page": page, "q": q,
            "counts": repository.observation_counts(db, [p.id for p in page.items]),
            "families": repository.visible_families(db, principal.trust_scope) if not q else [],
            "can_write": principal.has(Permission.PHENOTYPE_WRITE)}


@router.get("/phenotype/hpo/search")
def search_fragment(request: Request, q: str = "", _: Principal = READ) -> Response:
    """Type-ahead results as radio buttons (the first is chosen, so Enter adds it)."""
    hits = get_ontology().search(q, limit=15) if q.strip() else []
    return render(request, "phenotype/_search_results.html", {"hits": hits, "q": q})


@router.get("/phenotype/hpo/tree")
def tree_fragment(request: Request, term: str, _: Principal = READ) -> Response:
    """A term with its parents and children, for browsing the hierarchy."""
    ontology = get_ontology()
    try:
        selected = ontology.get(term)
    except UnknownTermError as exc:
        raise ValidationFailed(str(exc), field="term") from exc
    return render(request, "phenotype/_term_tree.html", {
        "term": selected, "parents": ontology.parents(selected.id), "children": ontology.children(selected.id)})


@router.get("/phenotype/participants/{participant_id}")
def participant_page(request: Request, participant_id: str, principal: Principal = READ,
                     db: GmcSession = DB) -> Response:
    """The capture page: search, tree, the current profile with guidance, and diagnoses."""
    return _participant_page(request, db, principal, participant_id)


@router.post("/phenotype/participants/{participant_id}/observations")
def add_observation_form(
    request: Request,
    participant_id: str,
    hpo_id: str = Form(""),
    q: str = Form(""),
    status: str = Form("observed"),
    onset: str = Form(""),
    onset_age: str = Form(""),
    severity: str = Form(""),
    laterality: str = Form(""),
    note: str = Form(""),
    modifiers: list[str] = Form([]),
    principal: Principal = WRITE,
    db: GmcSession = DB,
) -> Response:
    """Adds the chosen term (or the top search hit when Enter was pressed before a choice)."""
    modifiers = tuple(str(m) for m in modifiers if m)
    chosen = hpo_id.strip()
    if not chosen and q.strip():
        hits = get_ontology().search(q, limit=1)
        chosen = hits[0].term.id if hits else q.strip()
    try:
        if not chosen:
            raise ValidationFailed("type a term and choose it from the list", field="hpo_id")
        with db.begin_nested():
            result = service.add_observation(db, Caller.of(principal), participant_id, ObservationInput(
                hpo_id=chosen, excluded=status == "excluded", onset=onset_age.strip() or onset or None,
                severity=severity or None, laterality=laterality or None, modifiers=modifiers, note=note))
    except DomainError as exc:
        return _participant_page(request, db, principal, participant_id, message=exc.message, kind="error",
                                 status=exc.status_code)
    row = result.observation
    message = f"Added {row.hpo_id} {row.label} ({'excluded' if row.excluded else 'observed'})."
    if result.warnings:
        message += " " + "; ".join(result.warnings) + "."
    return redirect_with_message(f"/phenotype/participants/{participant_id}", message,
                                 "info" if result.warnings else "ok")


@router.post("/phenotype/participants/{participant_id}/observations/{observation_id}/remove")
def remove_observation_form(request: Request, participant_id: str, observation_id: int, reason: str = Form(""),
                            principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Removes a term from the profile (kept in its history)."""
    try:
        with db.begin_nested():
            row = service.remove_observation(db, Caller.of(principal), participant_id, observation_id, reason)
    except DomainError as exc:
        return _participant_page(request, db, principal, participant_id, message=exc.message, kind="error",
                                 status=exc.status_code)
    return redirect_with_message(f"/phenotype/participants/{participant_id}", f"Removed {row.hpo_id} {row.label}.")


@router.post("/phenotype/participants/{participant_id}/diagnoses")
def add_diagnosis_form(request: Request, participant_id: str, code: str = Form(...), label: str = Form(""),
                       status: str = Form("suspected"), note: str = Form(""), principal: Principal = WRITE,
                       db: GmcSession = DB) -> Response:
    """Records a diagnosis."""
    try:
        with db.begin_nested():
            row = service.add_diagnosis(db, Caller.of(principal), participant_id, code=code, label=label,
                                        status=status, note=note)
    except DomainError as exc:
        return _participant_page(request, db, principal, participant_id, message=exc.message, kind="error",
                                 status=exc.status_code)
    return redirect_with_message(f"/phenotype/participants/{participant_id}#diagnoses",
                                 f"Recorded {row.code} ({row.status}).")


@router.post("/phenotype/participants/{participant_id}/diagnoses/{diagnosis_id}")
def update_diagnosis_form(request: Request, participant_id: str, diagnosis_id: int, status: str = Form(""),
                          remove: bool = Form(False), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Changes a diagnosis's status or removes it."""
    try:
        with db.begin_nested():
            row = service.update_diagnosis(db, Caller.of(principal), participant_id, diagnosis_id,
                                           status=status or None, remove=remove)
    except DomainError as exc:
        return _participant_page(request, db, principal, participant_id, message=exc.message, kind="error",
                                 status=exc.status_code)
    done = "removed" if remove else f"now {row.status}"
    return redirect_with_message(f"/phenotype/participants/{participant_id}#diagnoses", f"{row.code} {done}.")


def _family_page(request: Request, db: GmcSession, principal: Principal, family_id: str, *, message: str = "",
                 kind: str = "ok", status: int = 200, ped_text: str = "") -> Response:
    view = service.get_pedigree(db, Caller.of(principal), family_id)
    stored = {m.individual_id: m for m in view.members}
    return render(request, "phenotype/family.html", {
        "view": view, "stored": stored, "message": message, "message_kind": kind, "ped_text": ped_text,
        "can_write": principal.has(Permission.PHENOTYPE_WRITE), "consanguinity_choices": service.CONSANGUINITY,
        "zygosities": service.TWIN_ZYGOSITY}, status_code=status)


@router.get("/phenotype/families/{family_id}")
def family_page(request: Request, family_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The family's pedigree drawing, members and PED import."""
    return _family_page(request, db, principal, family_id)


@router.post("/phenotype/families/{family_id}/ped", max_body_size=import_max_bytes())
def import_ped_form(request: Request, family_id: str, ped_text: str = Form(""),
                          ped_file: UploadFile | None = None, consanguinity: str = Form(""),
                          principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Replaces the pedigree from a pasted or uploaded PED file."""
    text = ped_text
    if ped_file is not None and ped_file.filename:
        text = ped_file.file.read().decode("utf-8-sig", errors="replace")
    try:
        if not text.strip():
            raise ValidationFailed("paste or choose a PED file", field="ped_text")
        with db.begin_nested():
            view = service.import_ped(db, Caller.of(principal), family_id, text, source="PED",
                                      consanguinity=consanguinity or None)
    except DomainError as exc:
        return _family_page(request, db, principal, family_id, message=exc.message, kind="error",
                            status=exc.status_code, ped_text=text)
    count = len(view.pedigree.individuals) if view.pedigree else 0
    return redirect_with_message(f"/phenotype/families/{family_id}", f"Pedigree imported: {count} individuals.")


@router.post("/phenotype/families/{family_id}/members")
def update_member_form(request: Request, family_id: str, individual_id: str = Form(...),
                       deceased: bool = Form(False), twin_group: str = Form(""), twin_zygosity: str = Form(""),
                       principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Records deceased and twin details for one individual."""
    try:
        with db.begin_nested():
            service.update_member(db, Caller.of(principal), family_id, individual_id, deceased=deceased,
                                  twin_group=twin_group, twin_zygosity=twin_zygosity)
    except DomainError as exc:
        return _family_page(request, db, principal, family_id, message=exc.message, kind="error",
                            status=exc.status_code)
    return redirect_with_message(f"/phenotype/families/{family_id}", f"Updated {individual_id}.")


@router.post("/phenotype/import", max_body_size=import_max_bytes())
def import_form(request: Request, kind: str = Form(...), upload: UploadFile | None = None,
                      principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Bulk import from the index page: an HPO CSV or one phenopacket JSON, all or nothing."""
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("choose a file to upload", field="upload")
        raw = upload.file.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(f"{upload.filename} is not UTF-8 text", field="upload") from exc
        with db.begin_nested():
            if kind == "csv":
                summary = service.import_hpo_csv(db, Caller.of(principal), text, source=upload.filename)
            else:
                summary = service.import_phenopacket_json(db, Caller.of(principal), text, source=upload.filename)
    except DomainError as exc:
        problems = getattr(exc, "problems", [])
        return render(request, "phenotype/index.html", {**_index_context(request, db, principal), "message": exc.message if not problems else
                      f"Nothing was imported from the file: {len(problems)} problem(s).", "message_kind": "error",
                      "problems": problems}, status_code=exc.status_code)
    message = (f"Imported {summary.observations} terms ({summary.excluded} excluded) for "
               f"{len(summary.mapping)} participant(s): {', '.join(sorted(set(summary.mapping.values())))}.")
    if summary.warnings:  # the warnings travel with the message (the one-read cookie keeps the first 1,000 chars)
        message += f" {len(summary.warnings)} warning(s): " + "; ".join(summary.warnings)
    return redirect_with_message("/phenotype", message, "info" if summary.warnings else "ok")
