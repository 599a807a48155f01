"""Reporting pages: worklists, the case review page, report pages and downloads, new results, MDT meetings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, ValidationFailed
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, filter_rows, paginate_list
from gmc.common.requests import FormFields
from gmc.common.templating import render
from gmc.common.worklists import SHOWN, WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.reporting import render as renderer
from gmc.reporting import service
from gmc.reporting.workflow import LABELS, State

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Case review", "/reports", Permission.INTERPRETATION_WRITE, order=510, roles=frozenset({"scientist"})))
register_nav(NavItem("New results", "/reports/new", Permission.REPORT_RECEIVE, order=511, roles=frozenset({"clinician"})))
register_nav(NavItem("MDT", "/mdt", Permission.MDT_WRITE, order=512, roles=frozenset({"scientist", "clinician"})))


def _home_worklists(db: GmcSession, principal: Principal) -> list[Worklist]:
    """The reporting worklists of the user's permissions (cases, checks, MDT, new results) for the home page."""
    return [worklist(w["title"], [WorkItem(**item) for item in w["items"]], count=w["count"], href=w["href"],
                     late=w["late"]) for w in service.home_worklists(db, principal, shown=SHOWN)]


# Before the other lists: a clinician's new results and a scientist's own cases are the work closest to the patient.
register_worklist(WorklistSource("reporting", frozenset({"scientist", "clinician"}), _home_worklists, order=5))

READ = Depends(require(Permission.INTERPRETATION_READ))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))
RECEIVE = Depends(require(Permission.REPORT_RECEIVE))
MDT = Depends(require(Permission.MDT_WRITE))


def _guarded(request: Request, db: GmcSession, action: Callable[[], Any],
             on_error: Callable[[str, int], Response], done: str) -> Response:
    """Runs a write in a savepoint: a refusal re-renders the page with its message and changes nothing."""
    try:
        with db.begin_nested():
            action()
    except DomainError as exc:
        return on_error(exc.message, exc.status_code)
    return RedirectResponse(done, status_code=303)


# ----------------------------------------------------------------------------- worklists


#: The worklists of the case review page, in the order of its tabs (the service's keys).
REVIEW_LISTS = {"my_cases": "My cases", "awaiting_my_check": "Awaiting my check", "overdue": "Overdue",
                "flagged": "Flagged for amendment", "awaiting_review": "Awaiting review",
                "awaiting_mdt": "Awaiting MDT", "all": "All cases"}
_REVIEW_SORTS = {"case": lambda r: r["case_id"], "arm": lambda r: (r["programme_arm"], r["case_id"]),
                 "indication": lambda r: (r["clinical_indication"] or "", r["case_id"]),
                 "state": lambda r: (r["state_label"], r["case_id"]),
                 "assigned": lambda r: (r["assigned_to"] or "", r["case_id"]),
                 "due": lambda r: (r["due_on"] or date.max, r["case_id"]),
                 "referred": lambda r: (r["referral_date"], r["case_id"])}
_REVIEW_TEXT = ("case_id", "clinical_indication", "assigned_to", "report", "state_label")
_REVIEW_EMPTY = {"my_cases": "No case is assigned to you.", "awaiting_my_check": "No report is waiting for your check.",
                 "overdue": "No case is past its due date.", "flagged": "No case is flagged for amendment.",
                 "awaiting_review": "No interpreted case is waiting for review.",
                 "awaiting_mdt": "No authorised report is waiting for an MDT.", "all": "No interpreted case yet."}


def _worklists_context(request: Request, db: GmcSession, principal: Principal) -> dict[str, Any]:
    """One worklist of the case review page (chosen by ?list=), filtered, sorted and paged, with every list's count."""
    state = ListState.from_query("/reports", request.query_params, sorts=list(_REVIEW_SORTS), default_sort="due",
                                 filters=("list", "q", "programme_arm", "state"))
    if state.filters.get("list") not in REVIEW_LISTS:
        state.filters["list"] = "all"
    lists = service.worklists(db, principal)
    rows = filter_rows(lists[state.filters["list"]], state.filters, text=_REVIEW_TEXT,
                       exact=("programme_arm", "state"))
    return {"page": paginate_list(rows, state, _REVIEW_SORTS), "lists": lists, "titles": REVIEW_LISTS,
            "current_list": state.filters["list"], "filters": state.filters, "states": {s.value: LABELS[s] for s in State},
            "empty": "No case matches the filters." if set(state.filters) - {"list"}
            else _REVIEW_EMPTY[state.filters["list"]],
            "arms": sorted({r["programme_arm"] for r in lists["all"]}), "rules": service.rules(db, principal.centre_id),
            "can_configure": principal.has(Permission.REPORT_CONFIGURE)}


@router.get("/reports")
def worklists_page(request: Request, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """The scientist's worklists (my cases, awaiting my check, overdue, flagged, awaiting review or MDT, all):
    one at a time, filtered, sorted and paged on the server with the state in the URL."""
    return render(request, "reporting/worklists.html", _worklists_context(request, db, principal))


@router.post("/reports/rules")
def rules_form(request: Request, programme_arm: str = Form(""), turnaround_days: str = Form(""),
               mdt_required: str = Form(""), principal: Principal = Depends(require(Permission.REPORT_CONFIGURE)),
               db: GmcSession = DB) -> Response:
    """Changes an arm's turnaround target and MDT rule."""
    def action() -> None:
        if not turnaround_days.strip().isdigit():
            raise ValidationFailed("the turnaround target is a whole number of days", field="turnaround_days")
        service.set_rule(db, principal, programme_arm, turnaround_days=int(turnaround_days),
                         mdt_required=mdt_required == "yes")

    def on_error(message: str, status: int) -> Response:
        return render(request, "reporting/worklists.html", {
            **_worklists_context(request, db, principal), "message": message, "message_kind": "error"},
            status_code=status)

    return _guarded(request, db, action, on_error, "/reports#rules")


_RESULT_SORTS = {"released": lambda r: (r["released_at"], r["report_id"]), "report": lambda r: r["report_id"],
                 "case": lambda r: (r["case_id"], r["report_id"]), "outcome": lambda r: (r["outcome"], r["report_id"])}


@router.get("/reports/new")
def new_results_page(request: Request, principal: Principal = RECEIVE, db: GmcSession = DB) -> Response:
    """The clinician's released results at their trusts, not yet given to the patient (?told=yes: given), filtered
    by text, sorted and paged on the server."""
    state = ListState.from_query("/reports/new", request.query_params, sorts=list(_RESULT_SORTS),
                                 default_sort="released", default_descending=True, filters=("told", "q"))
    state.filters["told"] = "yes" if state.filters.get("told") == "yes" else "no"
    results = service.clinician_worklist(db, principal)
    rows = filter_rows(results["done" if state.filters["told"] == "yes" else "new"], state.filters,
                       text=("report_id", "case_id", "clinical_indication", "outcome", "summary"))
    return render(request, "reporting/new_results.html", {
        "page": paginate_list(rows, state, _RESULT_SORTS), "filters": state.filters,
        "counts": {"no": len(results["new"]), "yes": len(results["done"])}})


@router.get("/reports/assets/report.css")
def report_css() -> Response:
    """The report stylesheet (the web page uses the same one as the PDF)."""
    return Response(renderer.CSS_PATH.read_text(encoding="utf-8"), media_type="text/css",
                    headers={"Cache-Control": "max-age=3600"})


# ----------------------------------------------------------------------------- the case review page


def _case_page(request: Request, db: GmcSession, principal: Principal, case_id: str, *, message: str = "",
               status_code: int = 200) -> Response:
    view = service.case_view(db, principal, case_id)
    try:
        found = service.candidates(db, principal, case_id) if principal.has(Permission.INTERPRETATION_WRITE) else None
    except DomainError:
        found = None
    context = {**view, "candidates": found, "labels": {s.value: LABELS[s] for s in State},
               "message": message, "message_kind": "error" if message else None,
               "draft_document": None}
    if view["report"] is not None and view["report"].status in service.OPEN_REPORT:
        case = service.case_in_scope(db, principal, case_id, Permission.INTERPRETATION_READ)
        context["draft_document"] = service.compose(db, case, view["report"])
    return render(request, "reporting/case.html", context, status_code=status_code)


def _case_error(request: Request, db: GmcSession, principal: Principal, case_id: str) -> Callable[[str, int], Response]:
    return lambda message, status: _case_page(request, db, principal, case_id, message=message, status_code=status)


@router.get("/reports/cases/{case_id}")
def case_page(request: Request, case_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A case's review: state and moves, candidates, reported findings, the draft, sign-off, MDT, versions."""
    return _case_page(request, db, principal, case_id)


def _post(case_id: str, anchor: str = "") -> str:
    return f"/reports/cases/{case_id}{anchor}"


@router.post("/reports/cases/{case_id}/review")
def start_review_form(request: Request, case_id: str, assignee: str = Form(""), principal: Principal = WRITE,
                      db: GmcSession = DB) -> Response:
    """Starts (or resumes) the review, assigned to the named scientist or the caller."""
    return _guarded(request, db, lambda: service.start_review(db, principal, case_id, assignee=assignee or None),
                    _case_error(request, db, principal, case_id), _post(case_id))


@router.post("/reports/cases/{case_id}/assign")
def assign_form(request: Request, case_id: str, assignee: str = Form(""), principal: Principal = WRITE,
                db: GmcSession = DB) -> Response:
    """Re-assigns the review."""
    return _guarded(request, db, lambda: service.assign(db, principal, case_id, assignee),
                    _case_error(request, db, principal, case_id), _post(case_id))


@router.post("/reports/cases/{case_id}/findings")
def select_finding_form(request: Request, case_id: str, run_id: str = Form(""), finding_key: str = Form(""),
                        category: str = Form("primary"), comment: str = Form(""), principal: Principal = WRITE,
                        db: GmcSession = DB) -> Response:
    """Selects a candidate for the report."""
    return _guarded(request, db, lambda: service.select_finding(db, principal, case_id, run_id, finding_key,
                                                                category=category, comment=comment),
                    _case_error(request, db, principal, case_id), _post(case_id, "#findings"))


@router.post("/reports/cases/{case_id}/findings/{finding_id}/remove")
def remove_finding_form(request: Request, case_id: str, finding_id: int, principal: Principal = WRITE,
                        db: GmcSession = DB) -> Response:
    """Takes a finding off the report."""
    return _guarded(request, db, lambda: service.remove_finding(db, principal, case_id, finding_id),
                    _case_error(request, db, principal, case_id), _post(case_id, "#findings"))


@router.post("/reports/cases/{case_id}/findings/{finding_id}/comment")
def comment_finding_form(request: Request, case_id: str, finding_id: int, comment: str = Form(""),
                         principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Sets a finding's interpretation text."""
    return _guarded(request, db, lambda: service.comment_finding(db, principal, case_id, finding_id, comment),
                    _case_error(request, db, principal, case_id), _post(case_id, "#findings"))


@router.post("/reports/cases/{case_id}/findings/{finding_id}/description")
def describe_finding_form(request: Request, case_id: str, finding_id: int, hgvs_c: str = Form(""),
                          hgvs_p: str = Form(""), hgvs_g: str = Form(""), source: str = Form(""),
                          principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Records the HGVS description the scientist confirmed and against what."""
    return _guarded(request, db, lambda: service.describe_finding(db, principal, case_id, finding_id, source=source,
                                                                  hgvs_c=hgvs_c, hgvs_p=hgvs_p, hgvs_g=hgvs_g),
                    _case_error(request, db, principal, case_id), _post(case_id, "#findings"))


@router.post("/reports/cases/{case_id}/draft")
def draft_form(request: Request, case_id: str, summary: str = Form(""), interpretation: str = Form(""),
               recommendations: str = Form(""), outcome: str = Form("inconclusive"), principal: Principal = WRITE,
               db: GmcSession = DB) -> Response:
    """Saves the report texts and outcome."""
    return _guarded(request, db, lambda: service.update_report(
        db, principal, case_id, summary=summary, interpretation=interpretation, recommendations=recommendations,
        outcome=outcome), _case_error(request, db, principal, case_id), _post(case_id, "#draft"))


def _tri(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@router.post("/reports/cases/{case_id}/exit-questions")
def exit_questions_form(request: Request, case_id: str, explains: str = Form(""), actionable: str = Form(""),
                        confirmed: str = Form(""), diagnosis_made: str = Form(""), principal: Principal = WRITE,
                        db: GmcSession = DB) -> Response:
    """Records the programme's exit questions."""
    return _guarded(request, db, lambda: service.record_exit_questions(
        db, principal, case_id, explains=explains or None, actionable=_tri(actionable), confirmed=_tri(confirmed),
        diagnosis_made=_tri(diagnosis_made)), _case_error(request, db, principal, case_id), _post(case_id, "#exit"))


@router.post("/reports/cases/{case_id}/move")
def move_form(request: Request, case_id: str, action: str = Form(""), reason: str = Form(""),
              kind: str = Form("amended"), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Signs, authorises, returns, amends, closes or requests reanalysis (the case's allowed moves)."""
    moves: dict[str, Callable[[], Any]] = {
        "sign": lambda: service.sign_as_author(db, principal, case_id),
        "authorise": lambda: service.authorise(db, principal, case_id),
        "return": lambda: service.return_for_changes(db, principal, case_id, reason),
        "amend": lambda: service.request_amendment(db, principal, case_id, reason, kind=kind),
        "close": lambda: service.close_case(db, principal, case_id, reason),
        "reanalyse": lambda: _reanalyse(request, db, principal, case_id, reason),
    }
    if action not in moves:
        return _case_page(request, db, principal, case_id, message=f"unknown action {action!r}", status_code=422)
    return _guarded(request, db, moves[action], _case_error(request, db, principal, case_id), _post(case_id))


def _reanalyse(request: Request, db: GmcSession, principal: Principal, case_id: str, reason: str) -> Any:
    from gmc.reporting import reanalysis

    return reanalysis.reanalyse_case(db, principal, case_id, reason=reason)


# ----------------------------------------------------------------------------- reports


@router.get("/reports/{report_id}")
def report_page(request: Request, report_id: str, version: int | None = None, principal: Principal = READ,
                db: GmcSession = DB) -> Response:
    """A report version in the browser, with its versions, downloads and the 'patient told' record."""
    document, overlay = service.open_report(db, principal, report_id, version=version, fmt="html")
    return render(request, "reporting/report.html", {
        "doc": document, "overlay": overlay, "can_receive": principal.has(Permission.REPORT_RECEIVE),
        "today": date.today().isoformat(), "document_html": Markup(renderer.render_html(
            document, overlay, standalone=False))})


@router.get("/reports/{report_id}/download")
def download(report_id: str, format: str = "pdf", version: int | None = None, principal: Principal = READ,
             db: GmcSession = DB) -> Response:
    """A report version as PDF, HTML or FHIR JSON (every download is audited)."""
    if format not in renderer.FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(renderer.FORMATS)}", field="format")
    document, overlay = service.open_report(db, principal, report_id, version=version, fmt=format)
    headers = {"Content-Disposition": f'attachment; filename="{renderer.file_name(document, format)}"'}
    if format == "html":
        # The file is one self-contained page (its stylesheet inline, so it opens offline and prints alike);
        # its own policy admits that stylesheet by hash and nothing else.
        headers["Content-Security-Policy"] = renderer.file_policy()
    return Response(renderer.render(document, format, overlay), media_type=renderer.MEDIA_TYPES[format],
                    headers=headers)


@router.post("/reports/{report_id}/delivery")
def delivery_form(request: Request, report_id: str, given_on: str = Form(""), given_by: str = Form(""),
                  method: str = Form("clinic"), note: str = Form(""), principal: Principal = RECEIVE,
                  db: GmcSession = DB) -> Response:
    """Records that the result was given to the patient."""
    def action() -> None:
        try:
            when = date.fromisoformat(given_on)
        except ValueError as exc:
            raise ValidationFailed("give the date the patient was told (YYYY-MM-DD)", field="given_on") from exc
        service.record_delivery(db, principal, report_id, given_on=when, given_by=given_by, method=method, note=note)

    def on_error(message: str, status: int) -> Response:
        document, overlay = service.open_report(db, principal, report_id, fmt="html")
        return render(request, "reporting/report.html", {
            "doc": document, "overlay": overlay, "can_receive": True, "today": date.today().isoformat(),
            "message": message, "message_kind": "error",
            "document_html": Markup(renderer.render_html(document, overlay, standalone=False))}, status_code=status)

    return _guarded(request, db, action, on_error, f"/reports/{report_id}#delivery")


# ----------------------------------------------------------------------------- MDT


_MEETING_SORTS = {"date": lambda m: (m["held_on"], m["meeting_id"]), "title": lambda m: (m["title"], m["meeting_id"]),
                  "cases": lambda m: (m["n_cases"], m["meeting_id"]),
                  "open": lambda m: (m["n_cases"] - m["n_outcomes"], m["meeting_id"])}


def _meetings_context(request: Request, db: GmcSession, principal: Principal) -> dict[str, Any]:
    """The centre's MDT meetings, filtered (text, upcoming or past), sorted and paged on the server."""
    state = ListState.from_query("/mdt", request.query_params, sorts=list(_MEETING_SORTS), default_sort="date",
                                 default_descending=True, filters=("q", "when"))
    today = date.today()
    rows = [{"meeting_id": m.meeting_id, "title": m.title, "held_on": m.held_on,
             "attendees": ", ".join(str(a.get("name", "")) for a in m.attendees),
             "n_cases": len(m.cases), "n_outcomes": sum(1 for e in m.cases if e.outcome),
             "when": "upcoming" if m.held_on >= today else "past"} for m in service.meeting_list(db, principal)]
    rows = filter_rows(rows, state.filters, text=("meeting_id", "title", "attendees"), exact=("when",))
    return {"page": paginate_list(rows, state, _MEETING_SORTS), "filters": state.filters,
            "today": today.isoformat()}


@router.get("/mdt")
def meetings_page(request: Request, principal: Principal = MDT, db: GmcSession = DB) -> Response:
    """MDT meetings of the centre (filtered, sorted, paged) and a form for a new one."""
    return render(request, "reporting/meetings.html", _meetings_context(request, db, principal))


@router.post("/mdt")
def create_meeting_form(request: Request, title: str = Form(""), held_on: str = Form(""), attendees: str = Form(""),
                        principal: Principal = MDT, db: GmcSession = DB) -> Response:
    """Creates a meeting (one attendee per line, 'Name (role)')."""
    created: list[str] = []

    def action() -> None:
        try:
            when = date.fromisoformat(held_on)
        except ValueError as exc:
            raise ValidationFailed("give the meeting date (YYYY-MM-DD)", field="held_on") from exc
        people = [line.strip() for line in attendees.splitlines() if line.strip()]
        created.append(service.create_meeting(db, principal, title=title, held_on=when, attendees=people).meeting_id)

    def on_error(message: str, status: int) -> Response:
        return render(request, "reporting/meetings.html", {
            **_meetings_context(request, db, principal), "message": message, "message_kind": "error",
            "form": {"title": title, "held_on": held_on, "attendees": attendees}}, status_code=status)

    response = _guarded(request, db, action, on_error, "/mdt")
    if created:
        response.headers["location"] = f"/mdt/{created[0]}"
    return response


def _meeting_page(request: Request, db: GmcSession, principal: Principal, meeting_id: str, *, message: str = "",
                  status_code: int = 200) -> Response:
    return render(request, "reporting/meeting.html", {
        **service.meeting_view(db, principal, meeting_id), "labels": {s.value: LABELS[s] for s in State},
        "message": message, "message_kind": "error" if message else None}, status_code=status_code)


@router.get("/mdt/{meeting_id}")
def meeting_page(request: Request, meeting_id: str, principal: Principal = MDT, db: GmcSession = DB) -> Response:
    """A meeting: attendees, cases listed, and the outcome form for each."""
    return _meeting_page(request, db, principal, meeting_id)


@router.post("/mdt/{meeting_id}/cases")
def add_case_form(request: Request, meeting_id: str, case_id: str = Form(""), principal: Principal = MDT,
                  db: GmcSession = DB) -> Response:
    """Lists a case for discussion."""
    return _guarded(request, db, lambda: service.add_case_to_meeting(db, principal, meeting_id, case_id.strip()),
                    lambda m, s: _meeting_page(request, db, principal, meeting_id, message=m, status_code=s),
                    f"/mdt/{meeting_id}")


@router.post("/mdt/{meeting_id}/cases/{case_id}/outcome")
def outcome_form(request: Request, meeting_id: str, case_id: str, form: FormFields, principal: Principal = MDT,
                 db: GmcSession = DB) -> Response:
    """Records a case's outcome: agreed releases an authorised report; anything else sends it back."""
    classes = {key.removeprefix("class_"): str(value) for key, value in form.items()
               if key.startswith("class_") and value}
    actions = [line.strip() for line in str(form.get("actions", "")).splitlines() if line.strip()]
    return _guarded(request, db, lambda: service.record_outcome(
        db, principal, meeting_id, case_id, outcome=str(form.get("outcome", "")), minutes=str(form.get("minutes", "")),
        actions=actions, agreed_classes=classes),
        lambda m, s: _meeting_page(request, db, principal, meeting_id, message=m, status_code=s),
        f"/mdt/{meeting_id}#case-{case_id}")


# ----------------------------------------------------------------------------- turnaround (on the samples page)


def turnaround_section(db: GmcSession, principal: Principal) -> dict[str, Any] | None:
    """Referral to report per trust and arm, for the samples turnaround page (None without interpretation access)."""
    from gmc.common.charts import Chart, Series

    if not principal.has(Permission.INTERPRETATION_READ):
        return None
    data = service.turnaround(db, principal)
    charts = [Chart(key=f"report-turnaround-{c['arm']}", title=c["title"], labels=c["labels"],
                    series=[Series("", c["values"])], horizontal=True, unit="days", category="Trust",
                    target=c["target"]) for c in data["charts"]]
    return {"template": "reporting/_turnaround.html", "report_turnaround": data, "report_charts": charts}


def _register_sections() -> None:
    from gmc.samples.views import register_turnaround_section

    register_turnaround_section(turnaround_section)


_register_sections()
