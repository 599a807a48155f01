"""Review and reporting rules: the case workflow, reported findings, four-eyes sign-off, MDT, release, delivery.

Every write is scoped to the caller's trusts through the case's trust, and audited. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth import scope
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import as_utc, utcnow
from gmc.interpretation.models import InterpretationRun
from gmc.organisations.models import Centre, Trust
from gmc.organisations.repository import get_centre_by_code
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, Family, Participant
from gmc.registry.service import view_case
from gmc.reporting import adapter, content, description
from gmc.reporting import repository as repo
from gmc.reporting.mane import load_mane
from gmc.reporting.models import (
    CaseReview,
    ClinicalReport,
    MdtCase,
    MdtMeeting,
    ReportedFinding,
    ResultDelivery,
    ReviewRule,
)
from gmc.reporting.workflow import (
    EDITABLE,
    LABELS,
    OPEN_BEFORE_REPORT,
    Action,
    IllegalTransition,
    State,
    allowed_actions,
    next_state,
)
from gmc.settings import ConfigurationError, get_settings

#: Run kinds each programme arm reports from.
RUN_KINDS = {"rare_disease": ("rare",), "cancer": ("somatic",)}
#: Report versions still being written or signed.
OPEN_REPORT = ("draft", "awaiting_check", "authorised")
EXIT_EXPLAINS = ("full", "partial", "none")
MDT_OUTCOMES = ("agreed", "further_tests", "cascade_testing", "reanalysis", "not_agreed")
DELIVERY_METHODS = ("clinic", "telephone", "letter", "video")
OUTCOMES = ("positive", "negative", "inconclusive")
#: Case status in the registry while the case is in review and after its report.
_CASE_STATUS = {State.REPORTED: "reported", State.CLOSED: "closed"}


# ----------------------------------------------------------------------------- scope and rules


def case_in_scope(session: Session, principal: Principal, case_id: str, permission: str) -> Case:
    """A case the caller may act on: holds the permission and the case's trust is in scope (else 404/403)."""
    principal.require(permission)
    case = view_case(session, principal=principal, case_id=case_id)
    principal.require_trust(case.trust_id)
    return case


def read_case(session: Session, principal: Principal, case_id: str, *, what: str = "case_review") -> Case:
    """A case in scope, for reading its review, findings or candidates: the read is audited."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_READ)
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"view": what})
    return case


def _audit_list(session: Session, principal: Principal, entity_type: str, what: str, count: int) -> None:
    """Audits a list of identifiable records the caller read (what list, how many rows; never the rows)."""
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type=entity_type,
           summary={"list": what, "results": count})


def rules(session: Session, centre_id: int | None = None) -> dict[str, ReviewRule]:
    """Review rules by programme arm as they apply at a centre: its own rules over the programme's defaults (the
    defaults alone for centre_id None)."""
    every = repo.review_rules(session)
    out = {r.programme_arm: r for r in every if r.centre_id is None}
    if centre_id is not None:
        out.update({r.programme_arm: r for r in every if r.centre_id == centre_id})
    return out


def rules_centre(session: Session, principal: Principal, centre_code: str | None = None, *,
                 change: bool = False) -> int | None:
    """The centre whose review rules a caller reads or changes (None: the programme's default). Named by code: its
    staff may read them and its centre-wide staff change them, national staff any centre's; another centre's are
    not found. Not named: the caller's own centre (national staff: the default)."""
    if centre_code is None or not centre_code.strip():
        centre_id = principal.centre_id
    else:
        code = centre_code.strip().upper()
        centre = get_centre_by_code(session, code)
        centre_id = centre.id if centre is not None else None
        if centre_id is None or not (scope.is_national(principal) or centre_id == principal.centre_id):
            raise NotFound(f"no centre {code} among yours", field="centre")
    if change:
        if centre_id is None:
            scope.require_national(principal, what="the programme's default review rules")
        else:
            scope.require_centre(principal, centre_id, what="review rules")
    return centre_id


def centre_of_case(session: Session, case: Case) -> int | None:
    """The centre of the case's trust (whose review rules apply to it)."""
    trust = session.get(Trust, case.trust_id)
    return trust.centre_id if trust else None


def set_rule(session: Session, principal: Principal, arm: str, *, turnaround_days: int,
             mdt_required: bool, centre_code: str | None = None) -> ReviewRule:
    """Changes an arm's turnaround target and MDT rule (existing due dates keep the target they started with): a
    centre's centre-wide admin changes its centre's rule, national staff (and the command line) the programme's
    default or, naming it, any centre's; nobody another centre's."""
    principal.require(Permission.REPORT_CONFIGURE)
    centre_id = rules_centre(session, principal, centre_code, change=True)
    if arm not in RUN_KINDS:
        raise ValidationFailed(f"programme arm must be one of {', '.join(RUN_KINDS)}", field="programme_arm")
    if not 1 <= int(turnaround_days) <= 730:
        raise ValidationFailed("the turnaround target must be 1 to 730 days", field="turnaround_days")
    current = rules(session, centre_id).get(arm)
    before = {"turnaround_days": current.turnaround_days, "mdt_required": current.mdt_required} if current else {}
    rule = current if current is not None and current.centre_id == centre_id else None
    if rule is None:
        rule = ReviewRule(centre_id=centre_id, programme_arm=arm, turnaround_days=int(turnaround_days),
                          mdt_required=mdt_required, updated_at=utcnow(), updated_by=principal.username)
        session.add(rule)
    rule.turnaround_days, rule.mdt_required = int(turnaround_days), bool(mdt_required)
    rule.updated_at, rule.updated_by = utcnow(), principal.username
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="review_rule", entity_id=arm,
           summary={"before": before, "turnaround_days": rule.turnaround_days, "mdt_required": rule.mdt_required,
                    "centre_id": centre_id})
    return rule


def _rule(session: Session, case: Case) -> ReviewRule:
    arm = case.programme_arm
    rule = rules(session, centre_of_case(session, case)).get(arm)
    if rule is None:
        raise Conflict(f"no review rule for the {arm} arm; set one (gmc reports rules)", field="programme_arm")
    return rule


def due_date(session: Session, case: Case) -> date:
    """Referral date plus the arm's turnaround target."""
    return case.referral.referral_date + timedelta(days=_rule(session, case).turnaround_days)


# ----------------------------------------------------------------------------- the state machine


def _review(session: Session, case: Case, *, create: bool = False) -> CaseReview | None:
    review = repo.review_of(session, case.id)
    if review is None and create:
        if repo.latest_done_run(session, case.id, RUN_KINDS[case.programme_arm]) is None:
            raise Conflict(f"case {case.case_id} has no finished interpretation run to review yet", field="case_id")
        now = utcnow()
        review = CaseReview(case_id=case.id, state=State.AWAITING_REVIEW.value, due_on=due_date(session, case),
                            exit_questions={}, created_at=now, updated_at=now)
        session.add(review)
        session.flush()
    return review


def state_of(review: CaseReview | None) -> State:
    """A case's review state (awaiting review until its review row exists)."""
    return State(review.state) if review is not None else State.AWAITING_REVIEW


def _move(session: Session, principal: Principal, case: Case, review: CaseReview, action: Action, *,
          reason: str = "") -> State:
    """Moves a case by one action (refused naming the current state); audited."""
    before = State(review.state)
    try:
        after = next_state(before, action, mdt_required=_rule(session, case).mdt_required)
    except IllegalTransition as exc:
        raise Conflict(f"case {case.case_id}: {exc}", field="state") from exc
    review.state, review.updated_at = after.value, utcnow()
    if after in _CASE_STATUS:
        case.status = _CASE_STATUS[after]
    elif case.status in ("reported", "closed", "interpretation", "open", "sequencing"):
        case.status = "review"
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.TRANSITION, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "action": action.value, "from": before.value,
                                            "to": after.value, **({"reason": reason} if reason else {})})
    return after


def _qualified_scientist(session: Session, principal: Principal, username: str, case: Case) -> Any:
    """The user named for assignment: a scientist who may interpret this case's trust."""
    from gmc.auth.service import principal_for

    user = repo.user_by_username(session, (username or "").strip())
    if user is None or not user.is_active:
        raise ValidationFailed(f"no active user {username!r}", field="assignee")
    other = principal_for(session, user, auth_method="system")
    if not (other.has(Permission.INTERPRETATION_WRITE) and other.can_see_trust(case.trust_id)):
        raise ValidationFailed(f"{user.username} cannot review cases of this trust (a scientist at the trust is needed)",
                               field="assignee")
    return user


def start_review(session: Session, principal: Principal, case_id: str, *, assignee: str | None = None) -> CaseReview:
    """Starts (or resumes after an amendment or reanalysis request) the review of a case, assigned to a scientist."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case, create=True)
    assert review is not None
    user = _qualified_scientist(session, principal, assignee or principal.username, case)
    _move(session, principal, case, review, Action.START_REVIEW)
    review.assigned_to_id, review.assigned_to = user.id, user.username
    _ensure_draft(session, principal, case)
    return review


def assign(session: Session, principal: Principal, case_id: str, assignee: str) -> CaseReview:
    """Assigns (or re-assigns) a case's review to a scientist; the state does not change. Audited."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case, create=True)
    assert review is not None
    if state_of(review) == State.CLOSED:
        raise Conflict(f"case {case.case_id} is closed: it cannot be assigned", field="state")
    user = _qualified_scientist(session, principal, assignee, case)
    before = review.assigned_to
    review.assigned_to_id, review.assigned_to, review.updated_at = user.id, user.username, utcnow()
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="case_review", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "assigned_to": [before, user.username]})
    return review


def close_case(session: Session, principal: Principal, case_id: str, reason: str = "") -> CaseReview:
    """Closes a reported case (the result was given; nothing more to do). Audited."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case)
    if review is None:
        raise Conflict(f"case {case.case_id} is {LABELS[State.AWAITING_REVIEW]}: it cannot close", field="state")
    _move(session, principal, case, review, Action.CLOSE, reason=reason)
    return review


# ----------------------------------------------------------------------------- reports (drafts)


def _latest_report(session: Session, case: Case) -> ClinicalReport | None:
    reports = repo.reports_of(session, case.id)
    return reports[0] if reports else None


def _current_released(session: Session, case: Case) -> ClinicalReport | None:
    return next((r for r in repo.reports_of(session, case.id) if r.status == "released"), None)


def _new_report_id(session: Session) -> str:
    number = repo.next_number(session, ClinicalReport.id)
    while repo.report_ids_in_use(session, f"R{number:06d}"):
        number += 1
    return f"R{number:06d}"


def _check_report_consent(session: Session, case: Case) -> None:
    decision = is_allowed(session, case.proband_id, ConsentAction.REPORT)
    if not decision.allowed:
        participant = session.get(Participant, case.proband_id)
        raise Conflict(f"no report may be made for {participant.participant_id if participant else 'the participant'}: "
                       f"{decision.reason}", field="consent")


def _check_additional_consent(session: Session, case: Case) -> None:
    """Refuses to sign or release additional findings the participant's consent no longer allows (it may have
    changed since they were selected, or since the version being amended)."""
    genes = sorted({f.gene for f in repo.findings_of(session, case.id) if f.category == "additional"})
    if genes:
        decision = is_allowed(session, case.proband_id, ConsentAction.ADDITIONAL_FINDINGS)
        if not decision.allowed:
            raise Conflict(f"the additional finding{'s' if len(genes) > 1 else ''} in {', '.join(genes)} cannot be "
                           f"reported: {decision.reason}; take {'them' if len(genes) > 1 else 'it'} off the report",
                           field="findings")


def _ensure_draft(session: Session, principal: Principal, case: Case, *, amendment_kind: str | None = None,
                  amendment_reason: str | None = None) -> ClinicalReport:
    """The case's open report version, or a new one (version 1, or the next version for an amendment)."""
    latest = _latest_report(session, case)
    if latest is not None and latest.status in OPEN_REPORT:
        return latest
    _check_report_consent(session, case)
    now = utcnow()
    if latest is not None and amendment_kind is None:
        amendment_kind, amendment_reason = "amended", "reanalysis or review after release"
    report = ClinicalReport(
        report_id=latest.report_id if latest else _new_report_id(session), case_id=case.id,
        version=(latest.version + 1) if latest else 1, status="draft",
        summary=latest.summary if latest else "", interpretation=latest.interpretation if latest else "",
        recommendations=latest.recommendations if latest else "", outcome=latest.outcome if latest else "inconclusive",
        amendment_kind=amendment_kind if latest else None, amendment_reason=amendment_reason if latest else None,
        amends_id=latest.id if latest else None, created_by=principal.username, created_at=now, updated_at=now)
    session.add(report)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "version": report.version, "amends": latest.version if latest else None,
                    "amendment_kind": report.amendment_kind, "reason": report.amendment_reason})
    return report


def _editable(session: Session, principal: Principal, case_id: str) -> tuple[Case, CaseReview, ClinicalReport]:
    """The case, its review and its open draft, when the draft may be edited now (else why not)."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case)
    state = state_of(review)
    latest = _latest_report(session, case)
    if latest is not None and latest.status in ("released", "superseded") and state not in EDITABLE:
        raise Conflict(f"report {latest.report_id} v{latest.version} was released on "
                       f"{as_utc(latest.released_at).date() if latest.released_at else '?'} and never changes; "
                       "request an amendment to make a new version", field="report")
    if review is None or state not in EDITABLE:
        raise Conflict(f"case {case.case_id} is {LABELS[state]}: start its review before editing the report",
                       field="state")
    report = _ensure_draft(session, principal, case)
    return case, review, report


def _void_signatures(session: Session, principal: Principal, case: Case, review: CaseReview,
                     report: ClinicalReport, what: str) -> None:
    """An edit after a signature voids it: signatures cleared, the case back in review. Audited."""
    if report.author_signed_at is None and report.checker_signed_at is None:
        return
    voided = [s for s, at in (("author", report.author_signed_at), ("checker", report.checker_signed_at)) if at]
    report.author_id = report.author = report.author_name = report.author_signed_at = None
    report.checker_id = report.checker = report.checker_name = report.checker_signed_at = None
    report.status, report.updated_at = "draft", utcnow()
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.VOID_SIGNATURE, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "voided": voided, "because": what})
    if state_of(review) in (State.AWAITING_CHECK, State.AWAITING_MDT):
        _move(session, principal, case, review, Action.RETURN_FOR_CHANGES, reason=f"edited after signing: {what}")


def update_report(session: Session, principal: Principal, case_id: str, *, summary: str | None = None,
                  interpretation: str | None = None, recommendations: str | None = None,
                  outcome: str | None = None) -> ClinicalReport:
    """Edits the draft's texts and outcome (an edit after a signature voids it). Audited."""
    case, review, report = _editable(session, principal, case_id)
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationFailed(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    changes: dict[str, Any] = {}
    for name, value in (("summary", summary), ("interpretation", interpretation),
                        ("recommendations", recommendations), ("outcome", outcome)):
        if value is None:
            continue
        value = value.strip()
        if len(value) > 20_000:
            raise ValidationFailed(f"{name} is at most 20,000 characters", field=name)
        if getattr(report, name) != value:
            changes[name] = len(value) if name != "outcome" else value
            setattr(report, name, value)
    if changes:
        report.updated_at = utcnow()
        _void_signatures(session, principal, case, review, report, "report text changed")
        record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="clinical_report",
               entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
               summary={"case": case.case_id, "changed": changes})
    return report


def record_exit_questions(session: Session, principal: Principal, case_id: str, *, explains: str | None,
                          actionable: bool | None, confirmed: bool | None,
                          diagnosis_made: bool | None) -> CaseReview:
    """The programme's exit questions for the case (an edit after a signature voids it). Audited."""
    case, review, report = _editable(session, principal, case_id)
    if explains is not None and explains not in EXIT_EXPLAINS:
        raise ValidationFailed(f"explains must be one of {', '.join(EXIT_EXPLAINS)}", field="explains")
    answers = {"explains": explains, "actionable": actionable, "confirmed": confirmed,
               "diagnosis_made": diagnosis_made}
    if answers != review.exit_questions:
        before = dict(review.exit_questions or {})
        review.exit_questions, review.updated_at = answers, utcnow()
        _void_signatures(session, principal, case, review, report, "exit questions changed")
        record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="case_review", entity_id=case.id,
               trust_id=case.trust_id, summary={"case": case.case_id, "exit_questions": [before, answers]})
    return review


# ----------------------------------------------------------------------------- findings


def _runs_for(session: Session, case: Case) -> list[InterpretationRun]:
    run = repo.latest_done_run(session, case.id, RUN_KINDS[case.programme_arm])
    return [run] if run is not None else []


def _acmg_now(session: Session, case: Case):  # noqa: ANN202 - a closure over the case's overrides
    """A function giving a rare variant's ACMG result now (run criteria with the case's overrides)."""
    from gmc.interpretation.rare import repository as rare_repo
    from gmc.interpretation.rare.service import acmg_dict, current_acmg

    active = rare_repo.overrides_of(session, case.id, active_only=True)

    def now(variant: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result = current_acmg(session, case, variant, active)
        except (KeyError, ValueError, TypeError):  # a result shape the rare core cannot read: the stored one
            return None
        return acmg_dict(result) if result else None

    return now


def candidates_of_run(session: Session, case: Case, run: InterpretationRun, *,
                      top: int | None = None) -> list[adapter.Candidate]:
    """A run's reportable candidates (rare: variants of the ranked genes; cancer: tiered and germline findings)."""
    mane = load_mane(str(get_settings().refdata_dir()))
    results = dict(run.results or {})
    results.setdefault("provenance", run.provenance or {})
    if run.kind == "rare":
        pedigree = (run.inputs or {}).get("pedigree") or [{}]
        parents = bool(pedigree[0].get("father_id") and pedigree[0].get("mother_id"))
        return adapter.rare_candidates(results, mane=mane, build=(run.inputs or {}).get("build"),
                                       acmg_now=_acmg_now(session, case), top=top, parents_sequenced=parents)
    return adapter.cancer_candidates(results, mane=mane)


def candidates(session: Session, principal: Principal, case_id: str, *, top: int = 20) -> dict[str, Any]:
    """What may be reported from the case's latest run, with what is already selected (the read is audited)."""
    case = read_case(session, principal, case_id, what="report_candidates")
    runs = _runs_for(session, case)
    selected = {(f.run_id, f.finding_key) for f in repo.findings_of(session, case.id)}
    rows = []
    for run in runs:
        for candidate in candidates_of_run(session, case, run, top=top):
            rows.append({**candidate.as_dict(), "run_id": run.run_id, "selected": (run.id, candidate.key) in selected})
    additional = is_allowed(session, case.proband_id, ConsentAction.ADDITIONAL_FINDINGS)
    return {"case_id": case.case_id, "runs": [r.run_id for r in runs], "candidates": rows,
            "additional_findings_allowed": additional.allowed, "additional_findings_reason": additional.reason}


def select_finding(session: Session, principal: Principal, case_id: str, run_id: str, finding_key: str, *,
                   category: str = "primary", comment: str = "") -> ReportedFinding:
    """Selects a run's variant for the report with its class, evidence and details as they stand now. Audited.

    An additional (secondary) finding needs the participant's consent to additional findings.
    """
    case, review, report = _editable(session, principal, case_id)
    if category not in ("primary", "additional"):
        raise ValidationFailed("category must be primary or additional", field="category")
    if category == "additional":
        decision = is_allowed(session, case.proband_id, ConsentAction.ADDITIONAL_FINDINGS)
        if not decision.allowed:
            raise Conflict(f"an additional finding cannot be reported: {decision.reason}", field="category")
    run = repo.run_by_id(session, run_id)
    if run is None or run.case_id != case.id or run.status != "done":
        raise NotFound(f"no finished run {run_id} of case {case.case_id}", field="run_id")
    candidate = next((c for c in candidates_of_run(session, case, run) if c.key == finding_key), None)
    if candidate is None:
        raise NotFound(f"{finding_key} is not a reportable finding of run {run.run_id}", field="finding_key")
    if candidate.category == "additional" and category != "additional":
        raise ValidationFailed(f"{finding_key} is a secondary-findings gene result: report it as additional",
                               field="category")
    if any(f.finding_key == finding_key for f in repo.findings_of(session, case.id)):
        raise Conflict(f"{candidate.gene} {finding_key} is already selected for the report", field="finding_key")
    details = candidate.as_dict()
    details["category"] = category
    finding = ReportedFinding(case_id=case.id, run_id=run.id, source=candidate.source, finding_key=finding_key,
                              category=category, gene=candidate.gene, classification=candidate.classification,
                              tier=candidate.tier, details=details, comment=(comment or "").strip(),
                              position=len(repo.findings_of(session, case.id)), created_by=principal.username,
                              created_at=utcnow())
    session.add(finding)
    session.flush()
    _void_signatures(session, principal, case, review, report, f"finding {candidate.gene} added")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="reported_finding", entity_id=finding.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "run": run.run_id, "gene": candidate.gene,
                                            "finding": finding_key, "category": category,
                                            "classification": candidate.classification, "tier": candidate.tier})
    return finding


def _finding(session: Session, case: Case, finding_pk: int) -> ReportedFinding:
    finding = session.get(ReportedFinding, finding_pk)
    if finding is None or finding.case_id != case.id or finding.removed_at is not None:
        raise NotFound(f"no reported finding {finding_pk} on case {case.case_id}", field="finding")
    return finding


def remove_finding(session: Session, principal: Principal, case_id: str, finding_pk: int) -> ReportedFinding:
    """Takes a finding off the report (the row is kept, marked removed). Audited."""
    case, review, report = _editable(session, principal, case_id)
    finding = _finding(session, case, finding_pk)
    finding.removed_at, finding.removed_by = utcnow(), principal.username
    _void_signatures(session, principal, case, review, report, f"finding {finding.gene} removed")
    record(session, actor=principal.actor, verb=AuditVerb.DELETE, entity_type="reported_finding", entity_id=finding.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "gene": finding.gene, "finding": finding.finding_key})
    return finding


def comment_finding(session: Session, principal: Principal, case_id: str, finding_pk: int,
                    comment: str) -> ReportedFinding:
    """Sets the interpretation text of one finding. Audited."""
    case, review, report = _editable(session, principal, case_id)
    finding = _finding(session, case, finding_pk)
    text = (comment or "").strip()
    if text != finding.comment:
        finding.comment = text
        _void_signatures(session, principal, case, review, report, f"finding {finding.gene} comment changed")
        record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="reported_finding",
               entity_id=finding.id, trust_id=case.trust_id, summary={"case": case.case_id, "comment": len(text)})
    return finding


def describe_finding(session: Session, principal: Principal, case_id: str, finding_pk: int, *, source: str,
                     hgvs_c: str | None = None, hgvs_p: str | None = None, hgvs_g: str | None = None) -> ReportedFinding:
    """Records the HGVS description the scientist confirmed (where annotation withheld or got one), and against
    what. Checked against the finding's transcript and VCF allele; annotation's own value is kept. Audited."""
    case, review, report = _editable(session, principal, case_id)
    finding = _finding(session, case, finding_pk)
    source = (source or "").strip()
    if not source:
        raise ValidationFailed("say what the description was confirmed against (e.g. VariantValidator, Alamut)",
                               field="source")
    details = dict(finding.details)
    chrom = str(details.get("chrom") or "").removeprefix("chr").upper().replace("MT", "M")
    chromosome = load_mane(str(get_settings().refdata_dir())).chromosomes.get(chrom) if chrom else None
    # Only what changes is confirmed: the page sends every field back, including those annotation gave.
    entered = {name: value for name, value in (("hgvs_c", hgvs_c), ("hgvs_p", hgvs_p), ("hgvs_g", hgvs_g))
               if (value or "").strip() and (value or "").strip() != (details.get(name) or "")}
    confirmed = description.check(details, entered, chromosome)
    previous = details.get("described") or {}
    annotation = dict(previous.get("annotation") or {})
    withheld = dict(details.get("withheld") or {})
    for name, value in confirmed.items():
        annotation.setdefault(name, {"value": details.get(name), "withheld": withheld.pop(name, None)})
        details[name] = value
    details["withheld"] = withheld
    details["described"] = {"by": principal.username, "name": principal.full_name, "at": utcnow().isoformat(),
                            "source": source, "fields": sorted(set(previous.get("fields") or []) | set(confirmed)),
                            "annotation": annotation}
    finding.details = details
    _void_signatures(session, principal, case, review, report, f"finding {finding.gene} description confirmed")
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="reported_finding",
           entity_id=finding.id, trust_id=case.trust_id,
           summary={"case": case.case_id, "gene": finding.gene, "confirmed": confirmed, "source": source})
    return finding


# ----------------------------------------------------------------------------- sign-off


def _require_signer(principal: Principal) -> None:
    principal.require(Permission.INTERPRETATION_WRITE)
    principal.require(Permission.REPORT_SIGN)


def sign_as_author(session: Session, principal: Principal, case_id: str) -> ClinicalReport:
    """The author's signature: the draft goes to a second scientist for checking (first of four eyes). Audited."""
    _require_signer(principal)
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case)
    if review is None or state_of(review) != State.IN_REVIEW:
        raise Conflict(f"case {case.case_id} is {LABELS[state_of(review)]}: only a report in review can be signed "
                       "by its author", field="state")
    report = _ensure_draft(session, principal, case)
    _check_report_consent(session, case)
    _check_additional_consent(session, case)
    if not report.summary.strip():
        raise ValidationFailed("write the plain-language result summary before signing", field="summary")
    findings = repo.findings_of(session, case.id)
    if report.outcome == "positive" and not findings:
        raise ValidationFailed("a positive report needs at least one reported finding", field="findings")
    if not (review.exit_questions or {}).get("explains") and findings:
        raise ValidationFailed("answer the exit questions (does the finding explain the phenotype?) before signing",
                               field="exit_questions")
    report.author_id, report.author, report.author_name = principal.user_id or None, principal.username, \
        principal.full_name or principal.username
    report.author_signed_at, report.status, report.updated_at = utcnow(), "awaiting_check", utcnow()
    _move(session, principal, case, review, Action.SUBMIT_FOR_CHECK)
    record(session, actor=principal.actor, verb=AuditVerb.SIGN_OFF, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "signature": "author", "findings": len(findings)})
    return report


def authorise(session: Session, principal: Principal, case_id: str) -> ClinicalReport:
    """The checker's signature (a second scientist, never the author): released now, or after the MDT. Audited."""
    _require_signer(principal)
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = _review(session, case)
    report = _latest_report(session, case)
    if review is None or state_of(review) != State.AWAITING_CHECK or report is None or \
            report.status != "awaiting_check":
        raise Conflict(f"case {case.case_id} is {LABELS[state_of(review)]}: there is no signed report awaiting a "
                       "check", field="state")
    if report.author == principal.username or (report.author_id and report.author_id == principal.user_id):
        raise PermissionDenied("four eyes: you signed this report as its author; a second scientist must check "
                               "and authorise it", field="checker")
    _check_report_consent(session, case)
    _check_additional_consent(session, case)
    report.checker_id, report.checker, report.checker_name = principal.user_id or None, principal.username, \
        principal.full_name or principal.username
    report.checker_signed_at, report.status, report.updated_at = utcnow(), "authorised", utcnow()
    after = _move(session, principal, case, review, Action.AUTHORISE)
    record(session, actor=principal.actor, verb=AuditVerb.AUTHORISE, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "author": report.author, "next": after.value})
    if after == State.REPORTED:
        _release(session, principal, case, review, report)
    return report


def return_for_changes(session: Session, principal: Principal, case_id: str, reason: str) -> ClinicalReport:
    """A checker (or the MDT) sends the report back to its author with a reason; its signatures are voided."""
    _require_signer(principal)
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("say what needs changing", field="reason")
    review = _review(session, case)
    report = _latest_report(session, case)
    if review is None or state_of(review) not in (State.AWAITING_CHECK, State.AWAITING_MDT) or report is None:
        raise Conflict(f"case {case.case_id} is {LABELS[state_of(review)]}: nothing is awaiting a check",
                       field="state")
    _void_signatures(session, principal, case, review, report, f"returned: {reason.strip()}")
    return report


def _release(session: Session, principal: Principal, case: Case, review: CaseReview,
             report: ClinicalReport) -> ClinicalReport:
    """Freezes the report document, releases it and supersedes the previous version. Audited."""
    if report.author_signed_at is None or report.checker_signed_at is None or report.author == report.checker:
        raise Conflict("a report is released only with its author's and a second checker's signatures",
                       field="report")
    _check_report_consent(session, case)
    _check_additional_consent(session, case)
    now = utcnow()
    previous = _current_released(session, case)
    report.released_at = now
    report.status = "released"
    document = compose(session, case, report, released=True)
    report.content, report.content_sha256, report.updated_at = document, content.checksum(document), now
    if previous is not None and previous.id != report.id:
        previous.status = "superseded"
    review.amendment_flag = None
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.RELEASE, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "version": report.version, "fhir_status": document["fhir_status"],
                    "sha256": report.content_sha256, "supersedes": previous.version if previous else None,
                    "author": report.author, "checker": report.checker})
    return report


# ----------------------------------------------------------------------------- amendments


def request_amendment(session: Session, principal: Principal, case_id: str, reason: str, *,
                      kind: str = "amended") -> ClinicalReport:
    """Opens a new report version to amend (new information) or correct (an error) the released one. Audited."""
    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    if kind not in ("amended", "corrected"):
        raise ValidationFailed("kind must be amended or corrected", field="kind")
    if not (reason or "").strip():
        raise ValidationFailed("say why the report is amended", field="reason")
    review = _review(session, case)
    if review is None or _current_released(session, case) is None:
        raise Conflict(f"case {case.case_id} has no released report to amend", field="state")
    _move(session, principal, case, review, Action.REQUEST_AMENDMENT, reason=reason.strip())
    report = _ensure_draft(session, principal, case, amendment_kind=kind, amendment_reason=reason.strip())
    record(session, actor=principal.actor, verb=AuditVerb.AMEND, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "kind": kind, "reason": reason.strip(), "version": report.version})
    return report


# ----------------------------------------------------------------------------- the document


def _run_dict(run: InterpretationRun) -> dict[str, Any]:
    results = run.results or {}
    return {"run_id": run.run_id, "kind": run.kind, "finished_at": run.finished_at, "provenance": run.provenance or {},
            "inputs": run.inputs or {}, "results": {"tmb": results.get("tmb"), "tumour_type": results.get("tumour_type")}}


def _finding_dict(f: ReportedFinding) -> dict[str, Any]:
    return {**f.details, "id": f.id, "category": f.category, "comment": f.comment, "gene": f.gene,
            "classification": f.classification, "tier": f.tier}


def compose(session: Session, case: Case, report: ClinicalReport, *, released: bool = False) -> dict[str, Any]:
    """The report document of a version now (released versions are read from their frozen content instead)."""
    participant = session.get(Participant, case.proband_id)
    assert participant is not None
    trust = session.get(Trust, case.trust_id)
    centre = session.get(Centre, trust.centre_id) if trust else None
    hospital = repo.hospital_number(session, participant.id, case.trust_id)
    family = session.get(Family, case.family_id) if case.family_id else None
    run_pks = {f.run_id for f in repo.findings_of(session, case.id)}
    runs = [session.get(InterpretationRun, pk) for pk in sorted(run_pks)] or _runs_for(session, case)
    runs = [r for r in runs if r is not None]
    # Each finding names the run it rests on (the FHIR bundle links its Observations to that run's versions).
    run_ids = {r.id: r.run_id for r in runs}
    findings = [{**_finding_dict(f), "run_id": run_ids.get(f.run_id)} for f in repo.findings_of(session, case.id)]
    panels = sorted({str(p) for r in runs for p in (r.provenance or {}).get("panels") or []})
    review = repo.review_of(session, case.id)
    mdt = [{"meeting_id": m.meeting_id, "held_on": m.held_on.isoformat(), "title": m.title,
            "outcome": e.outcome, "actions": list(e.actions), "minutes": e.minutes}
           for e, m in repo.mdt_entries_of_case(session, case.id) if e.outcome]
    cancer = None
    if case.programme_arm == "cancer":
        somatic = next((r for r in runs if r.kind == "somatic"), None)
        results = (somatic.results or {}) if somatic else {}
        cancer = {"tumour_type": results.get("tumour_type"), "tmb": results.get("tmb"),
                  "germline_assessed": bool(results.get("germline")),
                  "additional_findings_consented": (results.get("germline") or {}).get("additional_findings_consented")}
    referral = case.referral
    return content.build_document(
        report={"report_id": report.report_id, "version": report.version, "released": released,
                "amendment_kind": report.amendment_kind, "amendment_reason": report.amendment_reason,
                "issued_at": report.released_at, "outcome": report.outcome, "summary": report.summary,
                "interpretation": report.interpretation, "recommendations": report.recommendations,
                "author": report.author, "author_name": report.author_name, "author_signed_at": report.author_signed_at,
                "checker": report.checker, "checker_name": report.checker_name,
                "checker_signed_at": report.checker_signed_at},
        patient={"name": f"{participant.given_name} {participant.family_name}", "family_name": participant.family_name,
                 "given_name": participant.given_name,
                 "date_of_birth": participant.date_of_birth.isoformat() if participant.date_of_birth else None,
                 "sex": participant.sex, "nhs_number": participant.nhs_number,
                 "participant_id": participant.participant_id,
                 "hospital_number": hospital},
        referral={"referral_id": referral.referral_id, "referring_clinician": referral.referring_clinician,
                  "referral_date": referral.referral_date.isoformat(), "programme_arm": referral.programme_arm,
                  "clinical_indication": referral.clinical_indication, "family_structure": referral.family_structure,
                  "trust": {"code": trust.code if trust else None, "name": trust.name if trust else None}},
        case={"case_id": case.case_id, "programme_arm": case.programme_arm,
              "family_id": family.family_id if family else None},
        findings=findings, runs=[_run_dict(r) for r in runs], panels=panels,
        exit_questions=(review.exit_questions if review else {}) or {}, mdt=mdt,
        laboratory={"name": centre.name if centre else "Genomic Medicine Centre", "code": centre.code if centre else None},
        cancer=cancer, reported_with=_reported_with())


def _reported_with() -> dict[str, str]:
    """The software and reference data the report itself was composed with (beyond the runs it rests on)."""
    from gmc import __version__

    try:
        mane = load_mane(str(get_settings().refdata_dir())).release
    except (ConfigurationError, OSError):  # no refdata: the report says so rather than failing to compose
        mane = "not available"
    return {"gmc version": __version__, "MANE Select (transcripts and RefSeq accessions)": mane}


def document_of(session: Session, case: Case, report: ClinicalReport) -> dict[str, Any]:
    """A version's document: frozen content once released, composed now for a draft."""
    if report.content is not None:
        return report.content
    return compose(session, case, report)


# ----------------------------------------------------------------------------- pages and lists


def _rows(session: Session, pairs: Sequence[tuple[Case, CaseReview | None]]) -> list[dict[str, Any]]:
    """Worklist rows: case, state, assignee, due date and whether it is overdue."""
    today = utcnow().date()
    by_centre: dict[int | None, dict[str, ReviewRule]] = {}
    out = []
    for case, review in pairs:
        centre_id = centre_of_case(session, case)
        if centre_id not in by_centre:
            by_centre[centre_id] = rules(session, centre_id)
        rule = by_centre[centre_id].get(case.programme_arm)
        due = review.due_on if review else (
            case.referral.referral_date + timedelta(days=rule.turnaround_days) if rule else None)
        state = state_of(review)
        latest = _latest_report(session, case)
        out.append({"case_id": case.case_id, "programme_arm": case.programme_arm, "trust_id": case.trust_id,
                    "clinical_indication": case.referral.clinical_indication,
                    "referral_date": case.referral.referral_date, "state": state.value, "state_label": LABELS[state],
                    "assigned_to": review.assigned_to if review else None, "due_on": due,
                    "overdue": bool(due and state in OPEN_BEFORE_REPORT and due < today),
                    "days_overdue": (today - due).days if due and due < today else 0,
                    "amendment_flag": review.amendment_flag if review else None,
                    "report": f"{latest.report_id} v{latest.version} ({latest.status})" if latest else None,
                    "author": latest.author if latest else None})
    return out


def worklists(session: Session, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """The caller's worklists: my cases, awaiting my check, awaiting review, awaiting MDT, overdue, flagged."""
    principal.require(Permission.INTERPRETATION_READ)
    rows = _rows(session, repo.interpreted_cases(session, principal.trust_scope))
    _audit_list(session, principal, "case_review", "reporting_worklists", len(rows))
    me = principal.username
    return {
        "my_cases": [r for r in rows if r["assigned_to"] == me and r["state"] not in ("closed",)],
        "awaiting_my_check": [r for r in rows if r["state"] == State.AWAITING_CHECK.value and r["author"] != me],
        "awaiting_review": [r for r in rows if r["state"] == State.AWAITING_REVIEW.value],
        "awaiting_mdt": [r for r in rows if r["state"] == State.AWAITING_MDT.value],
        "overdue": sorted([r for r in rows if r["overdue"]], key=lambda r: -r["days_overdue"]),
        "flagged": [r for r in rows if r["amendment_flag"]],
        "all": rows,
    }


def home_worklists(session: Session, principal: Principal, *, shown: int = 5) -> list[dict[str, Any]]:
    """The caller's reporting worklists for a home page: per list its title, count, first items and link.

    Plain data (key, title, count, items of label/href/detail, href, late) so the home page needs no rule of ours:
    a scientist's cases, checks and overdue cases, cases flagged for amendment, an MDT member's cases awaiting MDT,
    and a clinician's new results. Lists the caller's permissions do not reach are left out.
    """
    out: list[dict[str, Any]] = []

    def add(key: str, title: str, rows: list[dict[str, Any]], href: str, item, *, late: bool = False) -> None:
        out.append({"key": key, "title": title, "count": len(rows), "items": [item(r) for r in rows[:shown]],
                    "href": href, "late": late and bool(rows)})

    def case_item(r: dict[str, Any]) -> dict[str, str]:
        due = f"due {r['due_on']:%d %b %Y}" if r["due_on"] else ""
        late = f"{r['days_overdue']} days overdue" if r["overdue"] else due
        return {"label": r["case_id"], "href": f"/reports/cases/{r['case_id']}",
                "detail": " · ".join(x for x in (r["state_label"], r["clinical_indication"], late) if x)}

    if principal.has(Permission.INTERPRETATION_READ) and principal.has(Permission.REPORT_SIGN):
        lists = worklists(session, principal)
        if principal.has(Permission.INTERPRETATION_WRITE):
            add("reporting.my_cases", "My cases", lists["my_cases"], "/reports?list=my_cases", case_item)
            add("reporting.awaiting_my_check", "Awaiting my check", lists["awaiting_my_check"],
                "/reports?list=awaiting_my_check", case_item)
            add("reporting.overdue", "Overdue reports", lists["overdue"], "/reports?list=overdue", case_item, late=True)
            add("reporting.flagged", "Flagged for amendment", lists["flagged"], "/reports?list=flagged", case_item,
                late=True)
        if principal.has(Permission.MDT_WRITE):
            add("reporting.awaiting_mdt", "Awaiting MDT", lists["awaiting_mdt"], "/reports?list=awaiting_mdt", case_item)
    if principal.has(Permission.REPORT_RECEIVE):
        new = clinician_worklist(session, principal)["new"]
        add("reporting.new_results", "New results", new, "/reports/new", lambda r: {
            "label": f"{r['report_id']} v{r['version']}", "href": f"/reports/{r['report_id']}",
            "detail": " · ".join(x for x in (r["case_id"], r["clinical_indication"], r["outcome"],
                                             "opened" if r["opened"] else "not opened yet") if x)})
    return out


def case_view(session: Session, principal: Principal, case_id: str) -> dict[str, Any]:
    """Everything the case review page shows (the read is audited)."""
    from gmc.registry.service import case_summary

    case = case_in_scope(session, principal, case_id, Permission.INTERPRETATION_READ)
    review = _review(session, case)
    state = state_of(review)
    reports = list(repo.reports_of(session, case.id))
    latest = reports[0] if reports else None
    findings = list(repo.findings_of(session, case.id))
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"view": "case_review"})
    return {
        "case": case_summary(session, case), "case_pk": case.id, "review": review, "state": state.value,
        "state_label": LABELS[state], "actions": [a.value for a in allowed_actions(state)],
        "row": _rows(session, [(case, review)])[0], "reports": reports, "report": latest,
        "findings": findings, "editable": state in EDITABLE and latest is not None and latest.status in OPEN_REPORT,
        "mdt": repo.mdt_entries_of_case(session, case.id), "reanalyses": list(repo.reanalyses_of(session, case.id)),
        "rule": rules(session, centre_of_case(session, case)).get(case.programme_arm),
        "additional_allowed": is_allowed(session, case.proband_id, ConsentAction.ADDITIONAL_FINDINGS),
        "report_allowed": is_allowed(session, case.proband_id, ConsentAction.REPORT),
        "can_write": principal.has(Permission.INTERPRETATION_WRITE),
        "can_sign": principal.has(Permission.REPORT_SIGN) and principal.has(Permission.INTERPRETATION_WRITE),
        "deliveries": list(repo.deliveries_of(session, [r.id for r in reports])),
    }


def review_dict(case: Case, review: CaseReview | None) -> dict[str, Any]:
    """A case's review state as plain data for the API."""
    state = state_of(review)
    return {"case_id": case.case_id, "state": state.value, "state_label": LABELS[state],
            "allowed_actions": [a.value for a in allowed_actions(state)],
            "assigned_to": review.assigned_to if review else None,
            "due_on": review.due_on.isoformat() if review else None,
            "exit_questions": review.exit_questions if review else {},
            "amendment_flag": review.amendment_flag if review else None}


def finding_dict(f: ReportedFinding) -> dict[str, Any]:
    """A reported finding as plain data."""
    return {"id": f.id, "gene": f.gene, "finding_key": f.finding_key, "category": f.category, "source": f.source,
            "classification": f.classification, "tier": f.tier, "comment": f.comment, "details": f.details,
            "created_by": f.created_by, "created_at": f.created_at}


def report_dict(r: ClinicalReport, *, current: bool | None = None) -> dict[str, Any]:
    """A report version as plain data (without its document)."""
    return {"report_id": r.report_id, "version": r.version, "status": r.status, "outcome": r.outcome,
            "summary": r.summary, "amendment_kind": r.amendment_kind, "amendment_reason": r.amendment_reason,
            "author": r.author, "author_signed_at": r.author_signed_at, "checker": r.checker,
            "checker_signed_at": r.checker_signed_at, "released_at": r.released_at,
            "content_sha256": r.content_sha256, "current": current}


# ----------------------------------------------------------------------------- opening reports


def _report_for(session: Session, principal: Principal, report_id: str,
                version: int | None) -> tuple[Case, ClinicalReport, list[ClinicalReport]]:
    """A report version the caller may open: in scope (else 404); drafts only for scientists."""
    principal.require(Permission.INTERPRETATION_READ)
    versions = list(repo.report_versions(session, (report_id or "").strip().upper()))
    case = session.get(Case, versions[0].case_id) if versions else None
    if case is None or not principal.can_see_trust(case.trust_id):
        raise NotFound(f"no report {report_id} at your trusts", field="report_id")
    visible = versions if principal.has(Permission.INTERPRETATION_WRITE) else [
        v for v in versions if v.status in ("released", "superseded")]
    if version is None:
        chosen = next((v for v in visible if v.status == "released"), visible[0] if visible else None)
    else:
        chosen = next((v for v in visible if v.version == version), None)
    if chosen is None:
        raise NotFound(f"no version {version or ''} of report {report_id} you may open".replace("  ", " "),
                       field="version")
    return case, chosen, visible


def report_id_for(session: Session, principal: Principal, case_or_report_id: str) -> str:
    """The report id of a case (or the report id itself); NotFound when the case has no report."""
    text = (case_or_report_id or "").strip().upper()
    if repo.report_ids_in_use(session, text):
        return text
    case = case_in_scope(session, principal, case_or_report_id.strip(), Permission.INTERPRETATION_READ)
    latest = _latest_report(session, case)
    if latest is None:
        raise NotFound(f"case {case.case_id} has no report yet", field="case_id")
    return latest.report_id


def versions_of(session: Session, principal: Principal, report_id: str) -> list[dict[str, Any]]:
    """Every version of a report the caller may open, newest first, marking the current one (not a read of it)."""
    case, _, versions = _report_for(session, principal, report_id, None)
    current = next((v for v in versions if v.status == "released"), None)
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="clinical_report", entity_id=report_id,
           trust_id=case.trust_id, summary={"case": case.case_id, "view": "versions"})
    return [report_dict(v, current=current is not None and v.id == current.id) for v in versions]


def open_report(session: Session, principal: Principal, report_id: str, *, version: int | None = None,
                fmt: str = "html") -> tuple[dict[str, Any], dict[str, Any]]:
    """A report version's document and what the page needs around it; every view and download is audited."""
    case, report, versions = _report_for(session, principal, report_id, version)
    document = document_of(session, case, report)
    current = next((v for v in versions if v.status == "released"), None)
    record(session, actor=principal.actor, verb=AuditVerb.READ if fmt == "html" else AuditVerb.EXPORT,
           entity_type="clinical_report", entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "format": fmt, "status": report.status})
    overlay = {"status": report.status, "current_version": current.version if current else None,
               "versions": [report_dict(v, current=current is not None and v.id == current.id) for v in versions],
               "case_id": case.case_id, "deliveries": [
                   {"given_on": d.given_on, "given_by": d.given_by, "method": d.method, "note": d.note,
                    "recorded_by": d.recorded_by} for d in repo.deliveries_of(session, [report.id])],
               "draft": report.status in OPEN_REPORT}
    return document, overlay


def report_list(session: Session, principal: Principal, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Report versions in scope (clinicians see released and superseded ones only)."""
    principal.require(Permission.INTERPRETATION_READ)
    allowed = ("draft", "awaiting_check", "authorised", "released", "superseded")
    for status in statuses or ():
        if status not in allowed:
            raise ValidationFailed(f"status must be one of {', '.join(allowed)}", field="status")
    if not principal.has(Permission.INTERPRETATION_WRITE):
        statuses = [s for s in (statuses or allowed) if s in ("released", "superseded")]
    out = []
    for report, case in repo.reports_by_status(session, principal.trust_scope, statuses):
        out.append({**report_dict(report), "case_id": case.case_id, "programme_arm": case.programme_arm})
    _audit_list(session, principal, "clinical_report", "reports", len(out))
    return out


# ----------------------------------------------------------------------------- clinicians


def clinician_worklist(session: Session, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Released reports at the clinician's trusts: new (patient not told yet) and done, newest first."""
    principal.require(Permission.REPORT_RECEIVE)
    pairs = repo.released_reports(session, principal.trust_scope)
    _audit_list(session, principal, "clinical_report", "new_results", len(pairs))
    delivered = {d.report_pk for d in repo.deliveries_of(session, [r.id for r, _ in pairs])}
    opened = repo.report_reads_by(session, principal.username, [f"{r.report_id}v{r.version}" for r, _ in pairs])
    rows = [{"report_id": r.report_id, "version": r.version, "case_id": c.case_id, "programme_arm": c.programme_arm,
             "clinical_indication": c.referral.clinical_indication, "released_at": r.released_at,
             "outcome": r.outcome, "amendment_kind": r.amendment_kind, "summary": r.summary,
             "opened": f"{r.report_id}v{r.version}" in opened, "patient_told": r.id in delivered}
            for r, c in pairs]
    return {"new": [r for r in rows if not r["patient_told"]], "done": [r for r in rows if r["patient_told"]]}


def record_delivery(session: Session, principal: Principal, report_id: str, *, given_on: date, given_by: str,
                    method: str, note: str = "") -> ResultDelivery:
    """Records that the current released result was given to the patient (date, by whom, how). Audited."""
    principal.require(Permission.REPORT_RECEIVE)
    case, report, _ = _report_for(session, principal, report_id, None)
    principal.require_trust(case.trust_id)
    if report.status != "released":
        raise Conflict(f"report {report.report_id} v{report.version} is {report.status}: only the current released "
                       "version can be given to the patient", field="report_id")
    if not (given_by or "").strip():
        raise ValidationFailed("say who gave the result", field="given_by")
    if method not in DELIVERY_METHODS:
        raise ValidationFailed(f"method must be one of {', '.join(DELIVERY_METHODS)}", field="method")
    if given_on > utcnow().date():
        raise ValidationFailed("the date the patient was told is in the future", field="given_on")
    if report.released_at and given_on < as_utc(report.released_at).date():
        raise ValidationFailed("the patient cannot have been told before the report was released", field="given_on")
    delivery = ResultDelivery(report_pk=report.id, given_on=given_on, given_by=given_by.strip()[:200], method=method,
                              note=(note or "").strip(), recorded_by=principal.username,
                              recorded_by_id=principal.user_id or None, recorded_at=utcnow())
    session.add(delivery)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.DELIVER, entity_type="clinical_report",
           entity_id=f"{report.report_id}v{report.version}", trust_id=case.trust_id,
           summary={"case": case.case_id, "given_on": given_on.isoformat(), "method": method})
    return delivery


# ----------------------------------------------------------------------------- MDT


def _new_meeting_id(session: Session) -> str:
    number = repo.next_number(session, MdtMeeting.id)
    while repo.meeting(session, f"MDT{number:06d}") is not None:
        number += 1
    return f"MDT{number:06d}"


def create_meeting(session: Session, principal: Principal, *, title: str, held_on: date,
                   attendees: Sequence[dict[str, str]] | Sequence[str]) -> MdtMeeting:
    """Creates an MDT meeting with its date and attendees. Audited."""
    principal.require(Permission.MDT_WRITE)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("give the meeting a title", field="title")
    people = []
    for n, person in enumerate(attendees, start=1):
        if isinstance(person, str):
            name, _, role = person.partition("(")
            person = {"name": name.strip(), "role": role.rstrip(")").strip()}
        if not (person.get("name") or "").strip():
            raise ValidationFailed(f"attendee {n} has no name", field="attendees")
        people.append({"name": person["name"].strip()[:200], "role": (person.get("role") or "").strip()[:100]})
    if not people:
        raise ValidationFailed("list who attended", field="attendees")
    meeting = MdtMeeting(meeting_id=_new_meeting_id(session), title=title[:200], held_on=held_on, attendees=people,
                         centre_id=principal.centre_id, created_by=principal.username, created_at=utcnow())
    session.add(meeting)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="mdt_meeting", entity_id=meeting.meeting_id,
           summary={"title": meeting.title, "held_on": held_on.isoformat(), "attendees": len(people)})
    return meeting


def get_meeting(session: Session, principal: Principal, meeting_id: str) -> MdtMeeting:
    """A meeting of the caller's centre."""
    principal.require(Permission.INTERPRETATION_READ)
    meeting = repo.meeting(session, (meeting_id or "").strip().upper())
    if meeting is None or (principal.centre_id is not None and meeting.centre_id not in (None, principal.centre_id)
                           and principal.trust_scope is not None):
        raise NotFound(f"no MDT meeting {meeting_id}", field="meeting_id")
    return meeting


def add_case_to_meeting(session: Session, principal: Principal, meeting_id: str, case_id: str) -> MdtCase:
    """Lists a case for discussion at a meeting (with its current report version). Audited."""
    principal.require(Permission.MDT_WRITE)
    meeting = get_meeting(session, principal, meeting_id)
    case = case_in_scope(session, principal, case_id, Permission.MDT_WRITE)
    if any(e.case_id == case.id for e in meeting.cases):
        raise Conflict(f"case {case.case_id} is already on {meeting.meeting_id}", field="case_id")
    latest = _latest_report(session, case)
    entry = MdtCase(case_id=case.id, report_pk=latest.id if latest else None, agreed_classes={}, actions=[], minutes="")
    meeting.cases.append(entry)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="mdt_meeting", entity_id=meeting.meeting_id,
           trust_id=case.trust_id, summary={"case_added": case.case_id})
    return entry


def record_outcome(session: Session, principal: Principal, meeting_id: str, case_id: str, *, outcome: str,
                   minutes: str = "", actions: Sequence[str] = (),
                   agreed_classes: dict[str, str] | None = None) -> MdtCase:
    """The MDT's outcome for a case: agreed (the authorised report is released) or back to review. Audited."""
    principal.require(Permission.MDT_WRITE)
    meeting = get_meeting(session, principal, meeting_id)
    case = case_in_scope(session, principal, case_id, Permission.MDT_WRITE)
    entry = next((e for e in meeting.cases if e.case_id == case.id), None)
    if entry is None:
        raise NotFound(f"case {case.case_id} is not on {meeting.meeting_id}'s list", field="case_id")
    if outcome not in MDT_OUTCOMES:
        raise ValidationFailed(f"outcome must be one of {', '.join(MDT_OUTCOMES)}", field="outcome")
    known = {str(f.id): f for f in repo.findings_of(session, case.id)}
    classes = {}
    for key, value in (agreed_classes or {}).items():
        if str(key) not in known:
            raise ValidationFailed(f"finding {key} is not on case {case.case_id}'s report", field="agreed_classes")
        if value not in adapter.ACMG_CLASSES and value not in ("Oncogenic", "Likely oncogenic"):
            raise ValidationFailed(f"{value!r} is not a classification", field="agreed_classes")
        classes[str(key)] = value
    review = _review(session, case)
    report = _latest_report(session, case)
    state = state_of(review)
    disagreements = {k: v for k, v in classes.items() if known[k].classification != v}
    if outcome == "agreed" and disagreements:
        raise ValidationFailed("the MDT agreed a different class for "
                               f"{', '.join(known[k].gene for k in disagreements)}: record not_agreed and send the "
                               "report back, so its author changes the classification", field="agreed_classes")
    entry.outcome, entry.minutes = outcome, (minutes or "").strip()
    entry.actions = [a.strip() for a in actions if a and a.strip()]
    entry.agreed_classes = classes
    entry.recorded_by, entry.recorded_at = principal.username, utcnow()
    entry.report_pk = report.id if report else entry.report_pk
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="mdt_meeting", entity_id=meeting.meeting_id,
           trust_id=case.trust_id, summary={"case": case.case_id, "outcome": outcome, "actions": entry.actions,
                                            "agreed_classes": classes})
    if review is not None and state == State.AWAITING_MDT and report is not None:
        if outcome in ("agreed", "cascade_testing"):
            _move(session, principal, case, review, Action.MDT_AGREE, reason=f"MDT {meeting.meeting_id}: {outcome}")
            _release(session, principal, case, review, report)
        else:
            _void_signatures(session, principal, case, review, report, f"MDT {meeting.meeting_id}: {outcome}")
    return entry


def meeting_dict(meeting: MdtMeeting, session: Session, principal: Principal) -> dict[str, Any]:
    """A meeting with its cases (those at the caller's trusts) and outcomes as plain data."""
    cases = [(e, session.get(Case, e.case_id)) for e in meeting.cases]
    return {"meeting_id": meeting.meeting_id, "title": meeting.title, "held_on": meeting.held_on.isoformat(),
            "attendees": meeting.attendees, "created_by": meeting.created_by,
            "cases": [{"case_id": case.case_id, "outcome": e.outcome, "actions": e.actions,
                       "agreed_classes": e.agreed_classes, "minutes": e.minutes, "recorded_by": e.recorded_by,
                       "recorded_at": e.recorded_at} for e, case in cases
                      if case is not None and principal.can_see_trust(case.trust_id)]}


def read_meeting(session: Session, principal: Principal, meeting_id: str) -> MdtMeeting:
    """A meeting of the caller's centre, for reading its cases and minutes: the read is audited."""
    meeting = get_meeting(session, principal, meeting_id)
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="mdt_meeting",
           entity_id=meeting.meeting_id, summary={"cases": len(meeting.cases)})
    return meeting


def meeting_view(session: Session, principal: Principal, meeting_id: str) -> dict[str, Any]:
    """A meeting with its cases in the caller's scope (state and reported findings) and the cases awaiting MDT."""
    meeting = read_meeting(session, principal, meeting_id)
    entries = []
    for entry in meeting.cases:
        case = session.get(Case, entry.case_id)
        if case is None or not principal.can_see_trust(case.trust_id):
            continue
        entries.append({"entry": entry, "case": case, "state": state_of(repo.review_of(session, case.id)).value,
                        "findings": list(repo.findings_of(session, case.id))})
    return {"meeting": meeting, "entries": entries, "waiting": worklists(session, principal)["awaiting_mdt"],
            "outcomes": MDT_OUTCOMES}


def meeting_list(session: Session, principal: Principal) -> list[MdtMeeting]:
    """MDT meetings of the caller's centre, newest first."""
    principal.require(Permission.INTERPRETATION_READ)
    centres = None if principal.trust_scope is None or principal.centre_id is None else [principal.centre_id]
    meetings = list(repo.meetings(session, centres))
    _audit_list(session, principal, "mdt_meeting", "meetings", len(meetings))
    return meetings


# ----------------------------------------------------------------------------- turnaround


def turnaround(session: Session, principal: Principal) -> dict[str, Any]:
    """Days from referral to first released report per trust and arm (median, 90th centile) and the overdue list."""
    import statistics

    principal.require(Permission.INTERPRETATION_READ)
    pairs = repo.interpreted_cases(session, principal.trust_scope)
    released = repo.first_release(session, [c.id for c, _ in pairs])
    trusts = repo.trust_codes(session)
    groups: dict[tuple[str, str], list[float]] = {}
    for case, _ in pairs:
        at = released.get(case.id)
        if at is None:
            continue
        days = (as_utc(at).date() - case.referral.referral_date).days  # type: ignore[arg-type]
        groups.setdefault((trusts.get(case.trust_id, "?"), case.programme_arm), []).append(float(days))
    arm_rules = rules(session, principal.centre_id)
    stats = []
    for (trust, arm), values in sorted(groups.items()):
        ordered = sorted(values)
        p90 = ordered[max(1, -(-len(ordered) * 90 // 100)) - 1]
        rule = arm_rules.get(arm)
        stats.append({"trust": trust, "programme_arm": arm, "n": len(values),
                      "median_days": round(statistics.median(values), 1), "p90_days": p90,
                      "target_days": rule.turnaround_days if rule else None,
                      "within_target": sum(1 for v in values if rule and v <= rule.turnaround_days)})
    overdue = worklists(session, principal)["overdue"]
    charts = []
    for arm in sorted({s["programme_arm"] for s in stats}):
        rows = [s for s in stats if s["programme_arm"] == arm]
        rule = arm_rules.get(arm)
        charts.append({"arm": arm, "title": f"{arm.replace('_', ' ').capitalize()}: referral to report, median days",
                       "labels": [s["trust"] for s in rows], "values": [s["median_days"] for s in rows],
                       "target": rule.turnaround_days if rule else None})
    return {"stats": stats, "overdue": overdue, "charts": charts}


def overdue_cases(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Cases past their due date without a released report, most overdue first (for other features' pages)."""
    return worklists(session, principal)["overdue"]


# ----------------------------------------------------------------------------- for programme monitoring


@dataclass(frozen=True)
class IssuedReport:
    """A case's released report as programme monitoring counts it (keys and codes only, no identifiers)."""

    case_pk: int
    trust_id: int
    programme_arm: str
    #: When the case's first report was released to the clinician.
    first_released_at: datetime
    #: positive, negative or inconclusive, as the current released version says.
    outcome: str
    #: The programme's exit question on the case (None: not answered).
    diagnosis_made: bool | None
    #: Released versions after the first (amended or corrected reports).
    amendments: int


def issued_reports(session: Session) -> list[IssuedReport]:
    """Every case with a released report: where, which arm, when first issued and what the current version
    found. Aggregate-only callers (the programme dashboard) read reporting through this and nothing else."""
    cases: dict[int, IssuedReport] = {}
    for case_pk, trust_id, arm, _version, at, outcome, exits in repo.released_versions(session):
        first = cases.get(case_pk)
        made = (exits or {}).get("diagnosis_made")
        cases[case_pk] = IssuedReport(case_pk, trust_id, arm, first.first_released_at if first else at, outcome,
                                      made, first.amendments + 1 if first else 0)  # oldest first: the newest wins
    return list(cases.values())

