"""Research pages: projects, the cohort builder (counts first, with a chart), saved cohorts, release requests,
approvals by the data-access role, release pages with checksums and downloads, and the recall list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.charts import Chart, Series
from gmc.common.errors import DomainError
from gmc.common.flash import redirect_with_message
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, Page, filter_rows, paginate_list
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.phenotype.ontology import get_ontology
from gmc.research import service
from gmc.research.cohort import AGE_BANDS, ARMS, CLINVAR_RULES, GENOTYPES, IMPACTS, SEXES, Criteria
from gmc.research.router import EITHER, start_build, store_base
from gmc.research.selection import BREAKDOWNS

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Research", "/research", Permission.RESEARCH_EXPORT, order=700, roles=frozenset({"researcher"})))
register_nav(NavItem("Data access", "/research/access", Permission.RESEARCH_APPROVE, order=701,
                     roles=frozenset({"data_access"})))

#: Release states a researcher is still waiting on (or must act on: a failed build is retried by data access).
_OPEN_RELEASES = ("requested", "approved", "building", "failed")


def _researcher_worklists(db: GmcSession, principal: Principal) -> list[Worklist]:
    """A researcher's withdrawn participants to delete from earlier releases, and release requests still open."""
    recalls = [r for r in service.recall_list(db, principal) if r["confirmed_at"] is None]
    releases = [r for r in service.visible_releases(db, principal) if r.status in _OPEN_RELEASES]
    return [
        worklist("Withdrawn participants to delete from your releases", [
            WorkItem(r["research_id"], f"/research/releases/{r['release_id']}#recalls",
                     f"release {r['release_id']} · {r['reason']}") for r in recalls],
            href="/research", late=True, empty="No one to delete."),
        worklist("Your release requests in progress", [
            WorkItem(r.release_id, f"/research/releases/{r.release_id}",
                     f"{r.status.replace('_', ' ')} · project {r.project.project_id} · requested {r.requested_at:%d %b %Y}")
            for r in releases], href="/research/releases?open=yes"),
    ]


def _access_worklists(db: GmcSession, principal: Principal) -> list[Worklist]:
    """What awaits the data-access role: projects and releases to decide, and release builds that failed."""
    queue = service.approval_queue(db, principal)
    failed = [r for r in service.visible_releases(db, principal) if r.status == "failed"]
    return [
        worklist("Research projects awaiting a decision", [
            WorkItem(p.project_id, f"/research/projects/{p.project_id}", f"{p.title} · {p.lead_name}")
            for p in queue["projects"]], href="/research/access?kind=project"),
        worklist("Data releases awaiting a decision", [
            WorkItem(r.release_id, f"/research/releases/{r.release_id}",
                     f"project {r.project.project_id} · requested by {r.requested_by} {r.requested_at:%d %b %Y}")
            for r in queue["releases"]], href="/research/access?kind=release"),
        worklist("Release builds that failed", [
            WorkItem(r.release_id, f"/research/releases/{r.release_id}", r.error or "the build stopped")
            for r in failed], href="/research/releases?status=failed", late=True, empty="No failed builds."),
    ]


register_worklist(WorklistSource("research.researcher", frozenset({"researcher"}), _researcher_worklists, order=600))
register_worklist(WorklistSource("research.access", frozenset({"data_access"}), _access_worklists, order=610))

RESEARCH = Depends(require(Permission.RESEARCH_EXPORT))
APPROVE = Depends(require(Permission.RESEARCH_APPROVE))

_LISTS = ("hpo_terms", "disease_codes", "genes", "variants", "cancer_types", "research_ids")
_CHECKS = {"programme_arms": ARMS, "sexes": SEXES, "age_bands": AGE_BANDS}
_TITLES = {"sex": "Sex", "age_band": "Age at recruitment", "programme_arm": "Programme arm", "centre": "Centre"}


def criteria_from_form(form: FormData) -> dict[str, Any]:
    """Criteria as the builder form sends them (lists as comma- or space-separated text, checkboxes)."""
    criteria: dict[str, Any] = {}
    for name in _LISTS:
        text = str(form.get(name, "")).strip()
        if text:
            criteria[name] = text
    for name in _CHECKS:
        values = [str(v) for v in form.getlist(name)]
        if values:
            criteria[name] = values
    if form.get("hpo_match"):
        criteria["hpo_match"] = str(form.get("hpo_match"))
    qualifying: dict[str, Any] = {"impacts": [str(v) for v in form.getlist("impacts")],
                                  "genotypes": [str(v) for v in form.getlist("genotypes")],
                                  "clinvar": str(form.get("clinvar") or "or"),
                                  "pass_only": form.get("pass_only") == "on",
                                  "max_population_af": str(form.get("max_population_af") or "").strip() or None,
                                  "min_gq": str(form.get("min_gq") or "").strip() or None}
    criteria["qualifying"] = qualifying
    return criteria


def _form_values(criteria: dict[str, Any]) -> dict[str, Any]:
    """A criteria dict as the builder form shows it."""
    values = dict(criteria)
    for name in _LISTS:
        if isinstance(values.get(name), list):
            values[name] = ", ".join(values[name])
    return values


def chart_of(name: str, split: dict[str, Any]) -> Chart:
    """One breakdown of a count as a chart; suppressed categories have no bar and are named in a note."""
    labels = list(split["cells"])
    hidden = [f"{k} {v}" for k, v in split["cells"].items() if split["values"][k] is None]
    notes = [f"Not shown: {', '.join(hidden)} (<10 is a count of 1 to 9; * is hidden so that it cannot be worked "
             "out from the total)."] if hidden else []
    return Chart(key=f"cohort-{name}", title=f"By {_TITLES[name].lower()}", labels=labels,
                 series=[Series("", [split["values"][k] for k in labels])], horizontal=True, unit="participants",
                 category=_TITLES[name], notes=notes)


def _builder_context(db: GmcSession, principal: Principal, **extra: Any) -> dict[str, Any]:
    projects = [p for p in service.visible_projects(db, principal)
                if p.lead_id == principal.user_id and p.status not in ("rejected", "closed")]
    defaults = Criteria().qualifying
    return {"projects": projects, "arms": ARMS, "sexes": SEXES, "age_bands": AGE_BANDS, "impacts": IMPACTS,
            "genotypes": GENOTYPES, "clinvar_rules": CLINVAR_RULES, "values": {
                "hpo_match": "all", "qualifying": {"impacts": list(defaults.impacts), "clinvar": defaults.clinvar,
                                                   "max_population_af": defaults.max_population_af,
                                                   "pass_only": defaults.pass_only}}, **extra}


@router.get("/research")
def home(request: Request, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """Participants to delete from earlier releases, the lists of projects, cohorts and releases, and new projects."""
    return render(request, "research/home.html", _home_context(db, principal))


def _home_context(db: GmcSession, principal: Principal, **extra: Any) -> dict[str, Any]:
    projects = service.visible_projects(db, principal)
    return {"recalls": [r for r in service.recall_list(db, principal) if r["confirmed_at"] is None],
            "counts": {"projects": len(projects), "cohorts": sum(len(p.cohorts) for p in projects),
                       "releases": len(service.visible_releases(db, principal))},
            "can_research": principal.has(Permission.RESEARCH_EXPORT),
            "can_approve": principal.has(Permission.RESEARCH_APPROVE), **extra}


def _listing(request: Request, path: str, rows: list[dict[str, Any]], sorts: dict[str, Any], *, default_sort: str,
             text: tuple[str, ...], exact: tuple[str, ...] = (), descending: bool = True) -> Page:
    """One page of a research list: its filters (q and the exact ones), sort and page read from the URL."""
    state = ListState.from_query(path, request.query_params, sorts=list(sorts), default_sort=default_sort,
                                 default_descending=descending, filters=("q", *exact))
    return paginate_list(filter_rows(rows, state.filters, text=text, exact=exact), state, sorts)


_PROJECT_SORTS = {"project": lambda r: r["project_id"], "title": lambda r: (r["title"].lower(), r["project_id"]),
                  "lead": lambda r: (r["lead"], r["project_id"]), "status": lambda r: (r["status"], r["project_id"]),
                  "cohorts": lambda r: (len(r["cohorts"]), r["project_id"]),
                  "proposed": lambda r: (r["created_at"], r["project_id"])}
_COHORT_SORTS = {"cohort": lambda r: r["cohort_id"], "name": lambda r: (r["name"].lower(), r["cohort_id"]),
                 "project": lambda r: (r["project_id"], r["cohort_id"]),
                 "versions": lambda r: (len(r["versions"]), r["cohort_id"]),
                 "saved": lambda r: (r["versions"][-1]["created_at"] if r["versions"] else r["created_at"],
                                     r["cohort_id"])}
_RELEASE_SORTS = {"release": lambda r: r["release_id"], "project": lambda r: (r["project_id"], r["release_id"]),
                  "status": lambda r: (r["status"], r["release_id"]),
                  "participants": lambda r: (r["participants"] if r["participants"] is not None else -1,
                                             r["release_id"]),
                  "requested": lambda r: (r["requested_at"], r["release_id"])}
PROJECT_STATUSES = ("proposed", "approved", "rejected", "closed")
RELEASE_STATUSES = ("requested", "approved", "building", "built", "failed", "rejected", "cancelled")


@router.get("/research/projects")
def projects_page(request: Request, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """The projects you may see: filtered by text and status, sorted and paged on the server."""
    rows = [service.project_dict(p) for p in service.visible_projects(db, principal)]
    page = _listing(request, "/research/projects", rows, _PROJECT_SORTS, default_sort="proposed",
                    text=("project_id", "title", "lead", "purpose"), exact=("status",))
    return render(request, "research/projects.html", {"page": page, "filters": page.state.filters,
                                                      "statuses": PROJECT_STATUSES})


@router.get("/research/cohorts")
def cohorts_page(request: Request, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """The saved cohorts of the projects you may see: filtered by text and project, sorted and paged."""
    projects = service.visible_projects(db, principal)
    rows = [{**service.cohort_dict(c), "project_title": p.title} for p in projects for c in p.cohorts]
    page = _listing(request, "/research/cohorts", rows, _COHORT_SORTS, default_sort="saved",
                    text=("cohort_id", "name", "project_id", "project_title", "created_by"), exact=("project_id",))
    return render(request, "research/cohorts.html", {"page": page, "filters": page.state.filters,
                                                     "projects": projects})


@router.get("/research/releases")
def releases_page(request: Request, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """The releases of the projects you may see: filtered by text, status and project, sorted and paged."""
    projects = service.visible_projects(db, principal)
    rows = [{**service.release_dict(r), "open": "yes" if r.status in _OPEN_RELEASES else "no"}
            for r in service.visible_releases(db, principal)]
    page = _listing(request, "/research/releases", rows, _RELEASE_SORTS, default_sort="requested",
                    text=("release_id", "project_id", "cohort_id", "purpose", "requested_by", "decided_by"),
                    exact=("status", "project_id", "open"))
    return render(request, "research/releases.html", {"page": page, "filters": page.state.filters,
                                                      "statuses": RELEASE_STATUSES, "projects": projects})


@router.post("/research/projects")
async def propose_project(request: Request, principal: Principal = RESEARCH, db: GmcSession = DB) -> Response:
    """Proposes a project from the form."""
    form = await request.form()
    try:
        with db.begin_nested():
            project = service.propose_project(db, principal, title=str(form.get("title", "")),
                                              purpose=str(form.get("purpose", "")))
    except DomainError as exc:
        return render(request, "research/home.html", _home_context(
            db, principal, form=dict(form), message=exc.message, message_kind="error"), status_code=exc.status_code)
    return redirect_with_message(f"/research/projects/{project.project_id}",
                                 "Project proposed: a data-access approver decides on it.")


@router.get("/research/projects/{project_id}")
def project_page(request: Request, project_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """A project: purpose, decision, cohorts and releases."""
    project = service.get_project(db, principal, project_id)
    return render(request, "research/project.html", {
        "project": project, "cohorts": [service.cohort_dict(c) for c in project.cohorts],
        "releases": [r for r in service.visible_releases(db, principal) if r.project_id == project.id],
        "is_lead": project.lead_id == principal.user_id,
        "can_decide": principal.has(Permission.RESEARCH_APPROVE) and project.lead_id != principal.user_id
        and project.status == "proposed"})


@router.post("/research/projects/{project_id}/decision")
async def decide_project(request: Request, project_id: str, principal: Principal = APPROVE,
                         db: GmcSession = DB) -> Response:
    """Approves or rejects a proposed project."""
    form = await request.form()
    try:
        with db.begin_nested():
            project = service.decide_project(db, principal, project_id, approve=form.get("decision") == "approve",
                                             note=str(form.get("note", "")))
    except DomainError as exc:
        return _access(request, db, principal, message=exc.message, message_kind="error",
                       status_code=exc.status_code)
    return redirect_with_message(f"/research/projects/{project.project_id}", f"Project {project.status}.")


@router.get("/research/cohorts/new")
def builder(request: Request, project: str = "", cohort: str = "", principal: Principal = RESEARCH,
            db: GmcSession = DB) -> Response:
    """The cohort builder: criteria, a count with its chart, then save (or save a new version of a cohort)."""
    context = _builder_context(db, principal, project_id=project)
    if cohort:
        saved = service.get_cohort(db, principal, cohort)
        context.update(cohort=saved, project_id=saved.project.project_id,
                       values=_form_values(saved.versions[-1].criteria))
    return render(request, "research/builder.html", context)


@router.post("/research/cohorts/count")
async def count_partial(request: Request, principal: Principal = RESEARCH, db: GmcSession = DB) -> Response:
    """The count of the builder's criteria (an htmx partial): suppressed total, breakdown charts, notes."""
    form = await request.form()
    try:
        data = service.count_cohort(db, principal, criteria_from_form(form),
                                    project_id=str(form.get("project_id") or "") or None, store_base=store_base(request))
    except DomainError as exc:
        return render(request, "research/_count.html", {"error": exc.message, "field": exc.field})
    charts = [chart_of(name, data["breakdowns"][name]) for name in BREAKDOWNS if data["breakdowns"][name]["cells"]]
    return render(request, "research/_count.html", {"data": data, "charts": charts})


@router.post("/research/cohorts")
async def save_cohort(request: Request, principal: Principal = RESEARCH, db: GmcSession = DB) -> Response:
    """Saves the builder's criteria as a new cohort, or as a new version of the cohort being revised."""
    form = await request.form()
    criteria = criteria_from_form(form)
    cohort_id = str(form.get("cohort_id") or "")
    try:
        with db.begin_nested():
            if cohort_id:
                service.revise_cohort(db, principal, cohort_id, criteria=criteria, note=str(form.get("note", "")),
                                      store_base=store_base(request))
            else:
                cohort_id = service.save_cohort(db, principal, project_id=str(form.get("project_id", "")),
                                                name=str(form.get("name", "")), criteria=criteria,
                                                note=str(form.get("note", "")), store_base=store_base(request)).cohort_id
    except DomainError as exc:
        context = _builder_context(db, principal, project_id=str(form.get("project_id", "")),
                                   values=_form_values(criteria) | {"name": form.get("name", ""),
                                                                    "note": form.get("note", "")},
                                   message=exc.message, message_kind="error")
        return render(request, "research/builder.html", context, status_code=exc.status_code)
    return redirect_with_message(f"/research/cohorts/{cohort_id}", "Cohort saved.")


@router.get("/research/cohorts/{cohort_id}")
def cohort_page(request: Request, cohort_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """A cohort's versions, and the release request form."""
    cohort = service.get_cohort(db, principal, cohort_id)
    return render(request, "research/cohort.html", {
        "cohort": service.cohort_dict(cohort), "project": cohort.project, "parts": service.RELEASE_PARTS,
        "scopes": service.GENOTYPE_SCOPES, "is_lead": cohort.project.lead_id == principal.user_id,
        "form": {}})


@router.post("/research/cohorts/{cohort_id}/releases")
async def request_release(request: Request, cohort_id: str, principal: Principal = RESEARCH,
                          db: GmcSession = DB) -> Response:
    """Requests a release of a cohort version with a stated purpose."""
    form = await request.form()
    contents: dict[str, Any] = {"parts": [str(p) for p in form.getlist("parts")]}
    if form.get("genotypes"):
        contents["genotypes"] = str(form.get("genotypes"))
    version = str(form.get("version") or "")
    try:
        with db.begin_nested():
            release = service.request_release(db, principal, cohort_id=cohort_id,
                                              version=int(version) if version.isdigit() else None,
                                              purpose=str(form.get("purpose", "")), contents=contents)
    except DomainError as exc:
        cohort = service.get_cohort(db, principal, cohort_id)
        return render(request, "research/cohort.html", {
            "cohort": service.cohort_dict(cohort), "project": cohort.project, "parts": service.RELEASE_PARTS,
            "scopes": service.GENOTYPE_SCOPES, "is_lead": True, "form": dict(form), "message": exc.message,
            "message_kind": "error"}, status_code=exc.status_code)
    return redirect_with_message(f"/research/releases/{release.release_id}",
                                 "Requested: a second person with the data-access role must approve it.")


def _release_context(db: GmcSession, principal: Principal, release_id: str) -> dict[str, Any]:
    release = service.get_release(db, principal, release_id)
    return {"release": service.release_dict(release), "recalls": service.recall_list(db, principal,
                                                                                      release_id=release_id),
            "is_holder": principal.user_id in (release.requested_by_id, release.project.lead_id),
            "can_decide": principal.has(Permission.RESEARCH_APPROVE) and release.status == "requested"
            and principal.user_id not in (release.requested_by_id, release.project.lead_id),
            "can_retry": principal.has(Permission.RESEARCH_APPROVE) and release.status in ("failed", "building")}


@router.get("/research/releases/{release_id}")
def release_page(request: Request, release_id: str, principal: Principal = EITHER, db: GmcSession = DB) -> Response:
    """A release: purpose, who asked and approved, build progress, files with checksums, its recall list."""
    context = _release_context(db, principal, release_id)
    return render(request, "research/release.html", context)


@router.get("/research/releases/{release_id}/progress")
def release_progress(request: Request, release_id: str, principal: Principal = EITHER,
                     db: GmcSession = DB) -> Response:
    """The build's progress (an htmx partial the release page polls while building)."""
    return render(request, "research/_progress.html", _release_context(db, principal, release_id))


@router.post("/research/releases/{release_id}/decision")
async def decide_release(request: Request, release_id: str, background: BackgroundTasks,
                         principal: Principal = APPROVE, db: GmcSession = DB) -> Response:
    """Approves (and builds in the background) or rejects a requested release."""
    form = await request.form()
    try:
        with db.begin_nested():
            release = service.decide_release(db, principal, release_id, approve=form.get("decision") == "approve",
                                             note=str(form.get("note", "")))
    except DomainError as exc:
        return render(request, "research/release.html", {**_release_context(db, principal, release_id),
                                                         "message": exc.message, "message_kind": "error"},
                      status_code=exc.status_code)
    if release.status == "approved":
        start_build(background, request, principal, release.release_id)
    return redirect_with_message(f"/research/releases/{release.release_id}", f"Release {release.status}.")


@router.post("/research/releases/{release_id}/build")
def retry_build(request: Request, release_id: str, background: BackgroundTasks, principal: Principal = APPROVE,
                db: GmcSession = DB) -> Response:
    """Builds a failed or stalled release again."""
    try:
        with db.begin_nested():
            release = service.retry_build(db, principal, release_id)
    except DomainError as exc:
        return render(request, "research/release.html", {**_release_context(db, principal, release_id),
                                                         "message": exc.message, "message_kind": "error"},
                      status_code=exc.status_code)
    start_build(background, request, principal, release.release_id)
    return redirect_with_message(f"/research/releases/{release.release_id}", "Building again.")


@router.post("/research/releases/{release_id}/cancel")
def cancel_release(request: Request, release_id: str, principal: Principal = RESEARCH,
                   db: GmcSession = DB) -> Response:
    """Withdraws a release request."""
    try:
        with db.begin_nested():
            service.cancel_release(db, principal, release_id)
    except DomainError as exc:
        return render(request, "research/release.html", {**_release_context(db, principal, release_id),
                                                         "message": exc.message, "message_kind": "error"},
                      status_code=exc.status_code)
    return redirect_with_message(f"/research/releases/{release_id}", "Request cancelled.")


@router.post("/research/releases/{release_id}/recalls/{research_id}")
def confirm_recall(request: Request, release_id: str, research_id: str, principal: Principal = RESEARCH,
                   db: GmcSession = DB) -> Response:
    """Confirms a recalled participant's data were deleted."""
    try:
        with db.begin_nested():
            service.confirm_recall(db, principal, release_id, research_id)
    except DomainError as exc:
        return render(request, "research/release.html", {**_release_context(db, principal, release_id),
                                                         "message": exc.message, "message_kind": "error"},
                      status_code=exc.status_code)
    return redirect_with_message(f"/research/releases/{release_id}#recalls",
                                 f"Deletion of {research_id} confirmed.")


_REQUEST_SORTS = {"requested": lambda r: (r["at"], r["id"]), "kind": lambda r: (r["kind"], r["id"]),
                  "request": lambda r: r["id"], "by": lambda r: (r["by"], r["id"])}


def _access(request: Request, db: GmcSession, principal: Principal, status_code: int = 200, **extra: Any) -> Response:
    queue = service.approval_queue(db, principal)
    rows = ([{"kind": "project", "id": p.project_id, "href": f"/research/projects/{p.project_id}", "title": p.title,
              "what": "", "purpose": p.purpose, "by": p.lead_name, "at": p.created_at} for p in queue["projects"]]
            + [{"kind": "release", "id": r.release_id, "href": f"/research/releases/{r.release_id}",
                "title": f"{r.project.project_id} {r.project.title}",
                "what": f"{r.cohort_version.cohort.cohort_id} v{r.cohort_version.version}", "purpose": r.purpose,
                "by": r.requested_by, "at": r.requested_at} for r in queue["releases"]])
    page = _listing(request, "/research/access", rows, _REQUEST_SORTS, default_sort="requested",
                    text=("id", "title", "what", "purpose", "by"), exact=("kind",), descending=False)
    recalls = service.recall_list(db, principal)
    return render(request, "research/access.html", {
        "page": page, "filters": page.state.filters, "counts": {k: len(v) for k, v in queue.items()},
        "recalls": [r for r in recalls if r["confirmed_at"] is None], "confirmed": len(recalls) - len(
            [r for r in recalls if r["confirmed_at"] is None]), **extra}, status_code=status_code)


@router.get("/research/access")
def access_page(request: Request, principal: Principal = APPROVE, db: GmcSession = DB) -> Response:
    """What awaits a data-access decision, every release, and every recall list."""
    return _access(request, db, principal)


@router.get("/research/hpo-options")
def hpo_options(request: Request, q: str = "", principal: Principal = RESEARCH) -> Response:
    """HPO terms matching the text (an htmx partial for the builder's term finder)."""
    hits = get_ontology().search(q, limit=15) if len(q.strip()) >= 2 else []
    return render(request, "research/_hpo_options.html", {"hits": hits})

