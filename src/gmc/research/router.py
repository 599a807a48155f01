"""The research JSON API: cohort counts, projects, saved cohorts, release requests and approvals, downloads,
the recall list and the data dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse

from gmc.audit.service import Actor
from gmc.auth.dependencies import get_principal, optional_principal, require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, PermissionDenied
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.phenotype.ontology import get_ontology
from gmc.research import beacon, service
from gmc.research import release as release_builder
from gmc.research.schemas import CohortIn, CohortVersionIn, CountIn, DecisionIn, ProjectIn, ReleaseIn

router = APIRouter(prefix="/api/research", tags=["research"])

RESEARCH = Depends(require(Permission.RESEARCH_EXPORT))
APPROVE = Depends(require(Permission.RESEARCH_APPROVE))


def store_base(request: Request) -> Path:
    """The variant stores' directory of this app's settings."""
    return Path(request.app.state.settings.data_dir) / "variant_store"


def releases_base(request: Request) -> Path:
    """The built releases' directory of this app's settings."""
    return Path(request.app.state.settings.data_dir) / "research" / "releases"


def researcher_or_approver(principal: Principal = Depends(get_principal)) -> Principal:
    """Lets researchers and data-access approvers through (each sees only what the service allows)."""
    if not (principal.has(Permission.RESEARCH_EXPORT) or principal.has(Permission.RESEARCH_APPROVE)):
        raise PermissionDenied("your role does not allow research:export or research:approve")
    return principal


EITHER = Depends(researcher_or_approver)


def start_build(background: BackgroundTasks, request: Request, principal: Principal, release_id: str) -> None:
    """Builds an approved release after the response (and the approval's commit), in short transactions."""
    background.add_task(release_builder.build_in_background, request.app.state.database, release_id,
                        actor=principal.actor, key=request.app.state.settings.research_key,
                        store_base=store_base(request), out_base=releases_base(request))


@router.post("/cohorts/count")
def count(body: CountIn, request: Request, principal: Principal = RESEARCH, db: GmcSession = DB) -> dict[str, Any]:
    """How many research-eligible participants meet the criteria (1-9 shown as "<10"), split for a chart."""
    return service.count_cohort(db, principal, body.criteria, project_id=body.project_id,
                                store_base=store_base(request))


@router.get("/hpo")
def hpo_search(q: str, limit: int = 20, principal: Principal = RESEARCH) -> list[dict[str, str]]:
    """HPO terms for a cohort's phenotype criterion (the ontology only, no patient data)."""
    return [{"id": hit.term.id, "label": hit.term.name, "matched": hit.matched_text}
            for hit in get_ontology().search(q, limit=max(1, min(limit, 50)))]


@router.get("/data-dictionary")
def data_dictionary(principal: Principal = EITHER) -> list[dict[str, str]]:
    """Every table and column a release can hold."""
    rows = [{"table": t, "column": c, "type": str(ty), "description": d}
            for t, cols in release_builder.TABLES.items() for c, ty, d in cols]
    return rows + [{"table": "genotypes", "column": c, "type": str(ty), "description": d}
                   for c, ty, d in release_builder.GENOTYPE_COLUMNS]


@router.get("/projects")
def list_projects(principal: Principal = EITHER, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Your projects (every project for a data-access approver)."""
    return [service.project_dict(p) for p in service.visible_projects(db, principal)]


@router.post("/projects", status_code=201)
def propose_project(body: ProjectIn, principal: Principal = RESEARCH, db: GmcSession = DB) -> dict[str, Any]:
    """Proposes a project; a data-access approver decides on it."""
    return service.project_dict(service.propose_project(db, principal, title=body.title, purpose=body.purpose))


@router.get("/projects/{project_id}")
def get_project(project_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> dict[str, Any]:
    """One project."""
    return service.project_dict(service.get_project(db, principal, project_id))


@router.post("/projects/{project_id}/decision")
def decide_project(project_id: str, body: DecisionIn, principal: Principal = APPROVE,
                   db: GmcSession = DB) -> dict[str, Any]:
    """Approves or rejects a proposed project (a second person with the data-access role)."""
    return service.project_dict(service.decide_project(db, principal, project_id, approve=body.approve,
                                                       note=body.note))


@router.post("/cohorts", status_code=201)
def save_cohort(body: CohortIn, request: Request, principal: Principal = RESEARCH,
                db: GmcSession = DB) -> dict[str, Any]:
    """Saves a cohort definition in one of your projects (version 1)."""
    cohort = service.save_cohort(db, principal, project_id=body.project_id, name=body.name, criteria=body.criteria,
                                 note=body.note, store_base=store_base(request))
    return service.cohort_dict(cohort)


@router.get("/cohorts/{cohort_id}")
def get_cohort(cohort_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> dict[str, Any]:
    """A cohort with every version."""
    return service.cohort_dict(service.get_cohort(db, principal, cohort_id))


@router.post("/cohorts/{cohort_id}/versions", status_code=201)
def revise_cohort(cohort_id: str, body: CohortVersionIn, request: Request, principal: Principal = RESEARCH,
                  db: GmcSession = DB) -> dict[str, Any]:
    """Saves a new version of a cohort's definition."""
    service.revise_cohort(db, principal, cohort_id, criteria=body.criteria, note=body.note,
                          store_base=store_base(request))
    return service.cohort_dict(service.get_cohort(db, principal, cohort_id))


@router.get("/releases")
def list_releases(principal: Principal = EITHER, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Releases of your projects (of every project for a data-access approver)."""
    return [service.release_dict(r) for r in service.visible_releases(db, principal)]


@router.post("/releases", status_code=201)
def request_release(body: ReleaseIn, principal: Principal = RESEARCH, db: GmcSession = DB) -> dict[str, Any]:
    """Asks for a release of a cohort version with a stated purpose; a second person must approve it."""
    release = service.request_release(db, principal, cohort_id=body.cohort_id, version=body.version,
                                      purpose=body.purpose, contents=body.contents)
    return service.release_dict(release)


@router.get("/releases/{release_id}")
def get_release(release_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> dict[str, Any]:
    """A release: request, decision, build progress, files and checksums."""
    return service.release_dict(service.get_release(db, principal, release_id))


@router.post("/releases/{release_id}/decision")
def decide_release(release_id: str, body: DecisionIn, background: BackgroundTasks, request: Request,
                   principal: Principal = APPROVE, db: GmcSession = DB) -> dict[str, Any]:
    """Approves (and then builds, in the background) or rejects a requested release."""
    release = service.decide_release(db, principal, release_id, approve=body.approve, note=body.note)
    if release.status == "approved":
        start_build(background, request, principal, release.release_id)
    return service.release_dict(release)


@router.post("/releases/{release_id}/build")
def rebuild(release_id: str, background: BackgroundTasks, request: Request, principal: Principal = APPROVE,
            db: GmcSession = DB) -> dict[str, Any]:
    """Builds an approved release again after a failed build."""
    release = service.retry_build(db, principal, release_id)
    start_build(background, request, principal, release.release_id)
    return service.release_dict(release)


@router.post("/releases/{release_id}/cancel")
def cancel_release(release_id: str, principal: Principal = RESEARCH, db: GmcSession = DB) -> dict[str, Any]:
    """Withdraws your release request before it is built."""
    return service.release_dict(service.cancel_release(db, principal, release_id))


@router.get("/releases/{release_id}/files/{name:path}")
def download(release_id: str, name: str, request: Request, principal: Principal = RESEARCH,
             db: GmcSession = DB) -> FileResponse:
    """One file of a built release (audited); refused once any of its participants has left research."""
    release = service.get_release(db, principal, release_id)
    path = service.release_file(db, principal, release_id, name, releases_base(request) / release.release_id)
    return FileResponse(path, filename=Path(name).name, media_type="application/octet-stream")


@router.get("/recalls")
def recalls(principal: Principal = EITHER, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Participants of your releases who have left research since: delete their data, then confirm."""
    return service.recall_list(db, principal)


@router.post("/releases/{release_id}/recalls/{research_id}/confirm")
def confirm_recall(release_id: str, research_id: str, principal: Principal = RESEARCH,
                   db: GmcSession = DB) -> dict[str, Any]:
    """Confirms you deleted a recalled participant's data."""
    entry = service.confirm_recall(db, principal, release_id, research_id)
    return {"research_id": entry.research_id, "confirmed_by": entry.confirmed_by, "confirmed_at": entry.confirmed_at}


# ----------------------------------------------------------------------------- GA4GH Beacon v2

beacon_router = APIRouter(prefix="/api/beacon", tags=["beacon"])


def _beacon_error(request: Request, status: int, message: str) -> JSONResponse:
    return JSONResponse(beacon.error(request.app.state.settings, status, message), status_code=status)


@beacon_router.get("")
@beacon_router.get("/")
@beacon_router.get("/info")
def beacon_info(request: Request) -> dict[str, Any]:
    """Who runs this Beacon and what it answers."""
    return beacon.info(request.app.state.settings)


@beacon_router.get("/configuration")
def beacon_configuration(request: Request) -> dict[str, Any]:
    """Entry types, maturity, granularity and security levels."""
    return beacon.configuration(request.app.state.settings)


@beacon_router.get("/entry_types")
def beacon_entry_types(request: Request) -> dict[str, Any]:
    """The entry types answered: individuals and genomic variations."""
    return beacon.entry_types(request.app.state.settings)


@beacon_router.get("/map")
def beacon_map(request: Request) -> dict[str, Any]:
    """Where each entry type is answered."""
    return beacon.beacon_map(request.app.state.settings, str(request.base_url))


async def _query(request: Request, db: GmcSession, principal: Principal | None, entry: str) -> JSONResponse:
    settings = request.app.state.settings
    anonymous = principal is None
    if anonymous and settings.beacon_security != "public":
        return _beacon_error(request, 401, "sign in or send an API token: this Beacon answers registered users")
    if principal is not None and not principal.has(Permission.BEACON_QUERY):
        return _beacon_error(request, 403, "your role does not allow beacon:query")
    if request.method == "POST":
        try:
            body = await request.json()
        except ValueError:
            return _beacon_error(request, 400, "the request body is not JSON")
        query = (body or {}).get("query") or {} if isinstance(body, dict) else {}
        params = dict(query.get("requestParameters") or {})
        filters = query.get("filters")
        granularity = query.get("requestedGranularity") or (body.get("meta") or {}).get("requestedGranularity")
    else:
        params = dict(request.query_params)
        filters = params.pop("filters", None)
        granularity = params.pop("requestedGranularity", None)
    try:
        parsed = beacon.parse_request(params, filters, granularity)
        actor = principal.actor if principal else Actor(user_id=None, name="anonymous:beacon")
        data = beacon.answer(db, settings, entry, parsed, actor=actor, anonymous=anonymous,
                             store_base=store_base(request))
    except DomainError as exc:
        return _beacon_error(request, 400, f"{exc.field + ': ' if exc.field else ''}{exc.message}")
    return JSONResponse(jsonable_encoder(data))


# GET and POST (Beacon v2 allows both) as two operations, so each has its own operation id.
@beacon_router.get("/individuals", operation_id="beacon_individuals_get")
@beacon_router.post("/individuals", operation_id="beacon_individuals_post")
async def beacon_individuals(request: Request, db: GmcSession = DB,
                             principal: Principal | None = Depends(optional_principal)) -> JSONResponse:
    """Whether (and, from 10 up, how many) research-eligible individuals match HPO, diagnosis, sex and variant."""
    return await _query(request, db, principal, "individual")


# GET and POST (Beacon v2 allows both) as two operations, so each has its own operation id.
@beacon_router.get("/g_variants", operation_id="beacon_g_variants_get")
@beacon_router.post("/g_variants", operation_id="beacon_g_variants_post")
async def beacon_g_variants(request: Request, db: GmcSession = DB,
                            principal: Principal | None = Depends(optional_principal)) -> JSONResponse:
    """Whether an allele (or any allele in a range or gene) is carried by research-eligible individuals."""
    return await _query(request, db, principal, "genomicVariation")
