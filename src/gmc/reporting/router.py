"""The reporting JSON API: case review, findings, sign-off, reports (HTML/PDF/FHIR), delivery, MDT, rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import ValidationFailed
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.reporting import render, service
from gmc.reporting import repository as repo
from gmc.reporting.schemas import (
    AmendIn,
    CommentIn,
    DeliveryIn,
    DescriptionIn,
    DraftIn,
    ExitQuestionsIn,
    FindingIn,
    MeetingCaseIn,
    MeetingIn,
    OutcomeIn,
    ReasonIn,
    ReviewIn,
    RuleIn,
)

router = APIRouter(prefix="/api/reports", tags=["review and reporting"])
mdt_router = APIRouter(prefix="/api/mdt", tags=["review and reporting"])

READ = Depends(require(Permission.INTERPRETATION_READ))
WRITE = Depends(require(Permission.INTERPRETATION_WRITE))
SIGN = Depends(require(Permission.REPORT_SIGN))
RECEIVE = Depends(require(Permission.REPORT_RECEIVE))
MDT = Depends(require(Permission.MDT_WRITE))
CONFIGURE = Depends(require(Permission.REPORT_CONFIGURE))


def _case(db: GmcSession, principal: Principal, case_id: str, *, read: bool = False) -> dict[str, Any]:
    case = (service.read_case(db, principal, case_id) if read else
            service.case_in_scope(db, principal, case_id, Permission.INTERPRETATION_READ))
    review = repo.review_of(db, case.id)
    return {**service.review_dict(case, review),
            "findings": [service.finding_dict(f) for f in repo.findings_of(db, case.id)],
            "reports": [service.report_dict(r) for r in repo.reports_of(db, case.id)]}


@router.get("")
def reports(status: list[str] = Query(default=[]), principal: Principal = READ,
            db: GmcSession = DB) -> list[dict[str, Any]]:
    """Report versions at your trusts, optionally of some statuses (draft, awaiting_check, authorised, released,
    superseded); clinicians see released and superseded versions."""
    return service.report_list(db, principal, status or None)


@router.get("/worklists")
def worklists(principal: Principal = READ, db: GmcSession = DB) -> dict[str, list[dict[str, Any]]]:
    """My cases, awaiting my check, awaiting review, awaiting MDT, overdue and flagged cases."""
    return service.worklists(db, principal)


@router.get("/new-results")
def new_results(principal: Principal = RECEIVE, db: GmcSession = DB) -> dict[str, list[dict[str, Any]]]:
    """The clinician's released reports at their trusts: new (patient not told yet) and done."""
    return service.clinician_worklist(db, principal)


CENTRE = Query(None, description="A centre code (national staff may name any centre; default: your own centre).")


@router.get("/rules")
def rules(centre: str | None = CENTRE, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Each programme arm's turnaround target and whether an MDT must agree findings, as they apply at your centre
    or the one named (its own rule, else the programme's default: `centre_rule` says which)."""
    return [{"programme_arm": r.programme_arm, "turnaround_days": r.turnaround_days, "mdt_required": r.mdt_required,
             "centre_rule": r.centre_id is not None, "updated_by": r.updated_by, "updated_at": r.updated_at}
            for r in service.rules(db, service.rules_centre(db, principal, centre)).values()]


@router.put("/rules/{arm}")
def set_rule(arm: str, body: RuleIn, centre: str | None = CENTRE, principal: Principal = CONFIGURE,
             db: GmcSession = DB) -> dict[str, Any]:
    """Changes an arm's review rules: your centre's (centre-wide admins), or the programme's default or a named
    centre's (national)."""
    rule = service.set_rule(db, principal, arm, turnaround_days=body.turnaround_days, mdt_required=body.mdt_required,
                            centre_code=centre)
    return {"programme_arm": rule.programme_arm, "turnaround_days": rule.turnaround_days,
            "mdt_required": rule.mdt_required, "centre_rule": rule.centre_id is not None}


@router.get("/turnaround")
def turnaround(principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """Referral-to-report days per trust and arm, and the overdue cases."""
    return service.turnaround(db, principal)


@router.get("/cases/{case_id}")
def case(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """A case's review state, allowed moves, findings and report versions (the read is audited)."""
    return _case(db, principal, case_id, read=True)


@router.get("/cases/{case_id}/candidates")
def candidates(case_id: str, top: int = 20, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """What may be reported from the case's latest run (variants of the top genes, or tiered findings)."""
    return service.candidates(db, principal, case_id, top=max(1, min(top, 100)))


@router.post("/cases/{case_id}/review")
def start_review(case_id: str, body: ReviewIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Starts (or resumes) the case's review, assigned to a scientist."""
    service.start_review(db, principal, case_id, assignee=body.assignee)
    return _case(db, principal, case_id)


@router.post("/cases/{case_id}/assign")
def assign(case_id: str, body: ReviewIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Re-assigns the case's review."""
    if not body.assignee:
        raise ValidationFailed("name the scientist to assign", field="assignee")
    service.assign(db, principal, case_id, body.assignee)
    return _case(db, principal, case_id)


@router.post("/cases/{case_id}/findings", status_code=201)
def select_finding(case_id: str, body: FindingIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Selects a run's finding for the report (additional findings need consent)."""
    finding = service.select_finding(db, principal, case_id, body.run_id, body.finding_key, category=body.category,
                                     comment=body.comment)
    return service.finding_dict(finding)


@router.patch("/cases/{case_id}/findings/{finding_id}")
def comment_finding(case_id: str, finding_id: int, body: CommentIn, principal: Principal = WRITE,
                    db: GmcSession = DB) -> dict[str, Any]:
    """Sets a finding's interpretation text."""
    return service.finding_dict(service.comment_finding(db, principal, case_id, finding_id, body.comment))


@router.put("/cases/{case_id}/findings/{finding_id}/description")
def describe_finding(case_id: str, finding_id: int, body: DescriptionIn, principal: Principal = WRITE,
                     db: GmcSession = DB) -> dict[str, Any]:
    """Records the HGVS description the scientist confirmed (checked against the transcript and the allele)."""
    return service.finding_dict(service.describe_finding(db, principal, case_id, finding_id, source=body.source,
                                                         hgvs_c=body.hgvs_c, hgvs_p=body.hgvs_p, hgvs_g=body.hgvs_g))


@router.delete("/cases/{case_id}/findings/{finding_id}")
def remove_finding(case_id: str, finding_id: int, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Takes a finding off the report."""
    return service.finding_dict(service.remove_finding(db, principal, case_id, finding_id))


@router.put("/cases/{case_id}/draft")
def update_draft(case_id: str, body: DraftIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Edits the draft's summary, interpretation, recommendations and outcome."""
    report = service.update_report(db, principal, case_id, summary=body.summary, interpretation=body.interpretation,
                                   recommendations=body.recommendations, outcome=body.outcome)
    return service.report_dict(report)


@router.put("/cases/{case_id}/exit-questions")
def exit_questions(case_id: str, body: ExitQuestionsIn, principal: Principal = WRITE,
                   db: GmcSession = DB) -> dict[str, Any]:
    """Records the programme's exit questions."""
    service.record_exit_questions(db, principal, case_id, explains=body.explains, actionable=body.actionable,
                                  confirmed=body.confirmed, diagnosis_made=body.diagnosis_made)
    return _case(db, principal, case_id)


@router.post("/cases/{case_id}/sign")
def sign(case_id: str, principal: Principal = SIGN, db: GmcSession = DB) -> dict[str, Any]:
    """The author signs the report: it awaits a second scientist's check."""
    return service.report_dict(service.sign_as_author(db, principal, case_id))


@router.post("/cases/{case_id}/authorise")
def authorise(case_id: str, principal: Principal = SIGN, db: GmcSession = DB) -> dict[str, Any]:
    """A second scientist (never the author) checks and authorises the report."""
    return service.report_dict(service.authorise(db, principal, case_id))


@router.post("/cases/{case_id}/return")
def return_for_changes(case_id: str, body: ReasonIn, principal: Principal = SIGN,
                       db: GmcSession = DB) -> dict[str, Any]:
    """Sends the signed report back to its author with a reason (signatures voided)."""
    return service.report_dict(service.return_for_changes(db, principal, case_id, body.reason))


@router.post("/cases/{case_id}/amend", status_code=201)
def amend(case_id: str, body: AmendIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Opens a new version to amend or correct the released report."""
    return service.report_dict(service.request_amendment(db, principal, case_id, body.reason, kind=body.kind))


@router.post("/cases/{case_id}/close")
def close(case_id: str, body: ReasonIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Closes a reported case."""
    service.close_case(db, principal, case_id, body.reason)
    return _case(db, principal, case_id)


@router.get("/{report_id}")
def report(report_id: str, version: int | None = None, format: str = "fhir", principal: Principal = READ,
           db: GmcSession = DB) -> Response:
    """A report version (the current released one by default) as html, pdf or fhir; every download is audited."""
    if format not in render.FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(render.FORMATS)}", field="format")
    document, overlay = service.open_report(db, principal, report_id, version=version, fmt=format)
    body = render.render(document, format, overlay)
    disposition = "inline" if format == "html" else "attachment"
    return Response(body, media_type=render.MEDIA_TYPES[format], headers={
        "Content-Disposition": f'{disposition}; filename="{render.file_name(document, format)}"'})


@router.get("/{report_id}/versions")
def versions(report_id: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Every version of a report you may open, newest first, with which one is current."""
    return service.versions_of(db, principal, report_id)


@router.post("/{report_id}/delivery", status_code=201)
def delivery(report_id: str, body: DeliveryIn, principal: Principal = RECEIVE, db: GmcSession = DB) -> dict[str, Any]:
    """Records that the result was given to the patient."""
    row = service.record_delivery(db, principal, report_id, given_on=body.given_on, given_by=body.given_by,
                                  method=body.method, note=body.note)
    return {"report_id": report_id, "given_on": row.given_on, "given_by": row.given_by, "method": row.method,
            "recorded_by": row.recorded_by}


@mdt_router.get("/meetings")
def meetings(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """MDT meetings of your centre, newest first."""
    return [service.meeting_dict(m, db, principal) for m in service.meeting_list(db, principal)]


@mdt_router.post("/meetings", status_code=201)
def create_meeting(body: MeetingIn, principal: Principal = MDT, db: GmcSession = DB) -> dict[str, Any]:
    """Creates an MDT meeting."""
    meeting = service.create_meeting(db, principal, title=body.title, held_on=body.held_on, attendees=body.attendees)
    return service.meeting_dict(meeting, db, principal)


@mdt_router.get("/meetings/{meeting_id}")
def meeting(meeting_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """A meeting with its cases (at your trusts) and outcomes; the read is audited."""
    return service.meeting_dict(service.read_meeting(db, principal, meeting_id), db, principal)


@mdt_router.post("/meetings/{meeting_id}/cases", status_code=201)
def add_case(meeting_id: str, body: MeetingCaseIn, principal: Principal = MDT, db: GmcSession = DB) -> dict[str, Any]:
    """Lists a case for discussion."""
    service.add_case_to_meeting(db, principal, meeting_id, body.case_id)
    return service.meeting_dict(service.get_meeting(db, principal, meeting_id), db, principal)


@mdt_router.post("/meetings/{meeting_id}/cases/{case_id}/outcome")
def outcome(meeting_id: str, case_id: str, body: OutcomeIn, principal: Principal = MDT,
            db: GmcSession = DB) -> dict[str, Any]:
    """Records the MDT outcome of a case (agreed releases an authorised report)."""
    service.record_outcome(db, principal, meeting_id, case_id, outcome=body.outcome, minutes=body.minutes,
                           actions=body.actions, agreed_classes=body.agreed_classes)
    return service.meeting_dict(service.get_meeting(db, principal, meeting_id), db, principal)
