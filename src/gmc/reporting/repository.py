"""Every query of the reporting feature."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gmc.audit.models import AuditEvent
from gmc.auth.models import User
from gmc.interpretation.models import InterpretationRun
from gmc.organisations.models import Trust
from gmc.registry.models import Case, HospitalNumber, Referral
from gmc.reporting.models import (
    CaseReview,
    ClinicalReport,
    MdtCase,
    MdtMeeting,
    Reanalysis,
    ReportedFinding,
    ResultDelivery,
    ReviewRule,
)


def review_rules(session: Session) -> Sequence[ReviewRule]:
    """Every arm's review rules."""
    return session.execute(select(ReviewRule).order_by(ReviewRule.programme_arm)).scalars().all()


def review_of(session: Session, case_pk: int) -> CaseReview | None:
    """A case's review row (None until its review starts)."""
    return session.execute(select(CaseReview).where(CaseReview.case_id == case_pk)).scalar_one_or_none()


def interpreted_cases(session: Session, trust_scope: Iterable[int] | None, *,
                      case_pks: Iterable[int] | None = None) -> Sequence[tuple[Case, CaseReview | None]]:
    """Cases in scope with a finished interpretation run or a review, with their review row (if any)."""
    done = select(InterpretationRun.case_id).where(InterpretationRun.status == "done")
    reviewed = select(CaseReview.case_id)
    stmt = (select(Case, CaseReview).outerjoin(CaseReview, CaseReview.case_id == Case.id)
            .join(Referral, Referral.id == Case.referral_id)
            .where(Case.id.in_(done.union(reviewed))).order_by(Referral.referral_date, Case.id))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    if case_pks is not None:
        stmt = stmt.where(Case.id.in_(list(case_pks)))
    return [(case, review) for case, review in session.execute(stmt).all()]


def latest_done_run(session: Session, case_pk: int, kinds: Sequence[str]) -> InterpretationRun | None:
    """The newest finished run of a case of one of these kinds."""
    return session.execute(select(InterpretationRun).where(
        InterpretationRun.case_id == case_pk, InterpretationRun.status == "done", InterpretationRun.kind.in_(kinds))
        .order_by(InterpretationRun.id.desc()).limit(1)).scalar_one_or_none()


def run_by_id(session: Session, run_id: str) -> InterpretationRun | None:
    """A run by its programme id."""
    return session.execute(select(InterpretationRun).where(InterpretationRun.run_id == run_id)).scalar_one_or_none()


def findings_of(session: Session, case_pk: int, *, include_removed: bool = False) -> Sequence[ReportedFinding]:
    """A case's reported findings in report order."""
    stmt = select(ReportedFinding).where(ReportedFinding.case_id == case_pk)
    if not include_removed:
        stmt = stmt.where(ReportedFinding.removed_at.is_(None))
    return session.execute(stmt.order_by(ReportedFinding.position, ReportedFinding.id)).scalars().all()


def reports_of(session: Session, case_pk: int) -> Sequence[ClinicalReport]:
    """Every report version of a case, newest first."""
    return session.execute(select(ClinicalReport).where(ClinicalReport.case_id == case_pk)
                           .order_by(ClinicalReport.version.desc())).scalars().all()


def report_versions(session: Session, report_id: str) -> Sequence[ClinicalReport]:
    """Every version of a report, newest first."""
    return session.execute(select(ClinicalReport).where(ClinicalReport.report_id == report_id)
                           .order_by(ClinicalReport.version.desc())).scalars().all()


def next_number(session: Session, column) -> int:  # noqa: ANN001 - an ORM column
    """One more than the largest primary key of a table (for programme ids)."""
    return int(session.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def report_ids_in_use(session: Session, report_id: str) -> bool:
    """True when a report id is taken."""
    return session.execute(select(ClinicalReport.id).where(ClinicalReport.report_id == report_id)
                           .limit(1)).first() is not None


def released_reports(session: Session, trust_scope: Iterable[int] | None, *,
                     status: Sequence[str] = ("released",)) -> Sequence[tuple[ClinicalReport, Case]]:
    """Reports with these statuses whose case is in scope, newest release first."""
    stmt = (select(ClinicalReport, Case).join(Case, Case.id == ClinicalReport.case_id)
            .where(ClinicalReport.status.in_(list(status)))
            .order_by(ClinicalReport.released_at.desc().nullslast(), ClinicalReport.id.desc()))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    return [(r, c) for r, c in session.execute(stmt).all()]


def reports_by_status(session: Session, trust_scope: Iterable[int] | None,
                      statuses: Sequence[str] | None) -> Sequence[tuple[ClinicalReport, Case]]:
    """Report versions in scope, optionally of some statuses, newest first."""
    stmt = select(ClinicalReport, Case).join(Case, Case.id == ClinicalReport.case_id).order_by(
        ClinicalReport.updated_at.desc(), ClinicalReport.id.desc())
    if statuses:
        stmt = stmt.where(ClinicalReport.status.in_(list(statuses)))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    return [(r, c) for r, c in session.execute(stmt).all()]


def deliveries_of(session: Session, report_pks: Iterable[int]) -> Sequence[ResultDelivery]:
    """Result deliveries of these report versions, oldest first."""
    pks = list(report_pks)
    if not pks:
        return []
    return session.execute(select(ResultDelivery).where(ResultDelivery.report_pk.in_(pks))
                           .order_by(ResultDelivery.recorded_at)).scalars().all()


def report_reads_by(session: Session, username: str, entity_ids: Iterable[str]) -> set[str]:
    """Report versions (entity ids) a user has opened or downloaded."""
    ids = list(entity_ids)
    if not ids:
        return set()
    rows = session.execute(select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == "clinical_report", AuditEvent.actor == username,
        AuditEvent.verb.in_(("read", "export")), AuditEvent.entity_id.in_(ids))).scalars()
    return set(rows)


def meetings(session: Session, centre_ids: Iterable[int] | None) -> Sequence[MdtMeeting]:
    """MDT meetings (of these centres, or all), newest first."""
    stmt = select(MdtMeeting).order_by(MdtMeeting.held_on.desc(), MdtMeeting.id.desc())
    if centre_ids is not None:
        stmt = stmt.where(MdtMeeting.centre_id.in_(list(centre_ids)) | MdtMeeting.centre_id.is_(None))
    return session.execute(stmt).scalars().all()


def meeting(session: Session, meeting_id: str) -> MdtMeeting | None:
    """A meeting by its programme id."""
    return session.execute(select(MdtMeeting).where(MdtMeeting.meeting_id == meeting_id)).scalar_one_or_none()


def mdt_entries_of_case(session: Session, case_pk: int) -> Sequence[tuple[MdtCase, MdtMeeting]]:
    """Every MDT listing of a case with its meeting, oldest first."""
    return [(e, m) for e, m in session.execute(
        select(MdtCase, MdtMeeting).join(MdtMeeting, MdtMeeting.id == MdtCase.meeting_id)
        .where(MdtCase.case_id == case_pk).order_by(MdtMeeting.held_on, MdtCase.id)).all()]


def reanalyses_of(session: Session, case_pk: int) -> Sequence[Reanalysis]:
    """A case's reanalyses, newest first."""
    return session.execute(select(Reanalysis).where(Reanalysis.case_id == case_pk)
                           .order_by(Reanalysis.id.desc())).scalars().all()


def user_by_username(session: Session, username: str) -> User | None:
    """A user by user name."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def referral_dates(session: Session, case_pks: Iterable[int]) -> dict[int, date]:
    """Referral date per case."""
    pks = list(case_pks)
    if not pks:
        return {}
    rows = session.execute(select(Case.id, Referral.referral_date).join(Referral, Referral.id == Case.referral_id)
                           .where(Case.id.in_(pks)))
    return {pk: d for pk, d in rows}


def first_release(session: Session, case_pks: Iterable[int]) -> dict[int, object]:
    """The first release time of each case's report (version 1 or the earliest released)."""
    pks = list(case_pks)
    if not pks:
        return {}
    rows = session.execute(select(ClinicalReport.case_id, func.min(ClinicalReport.released_at))
                           .where(ClinicalReport.case_id.in_(pks), ClinicalReport.released_at.is_not(None))
                           .group_by(ClinicalReport.case_id))
    return {pk: at for pk, at in rows}


def trust_codes(session: Session) -> dict[int, str]:
    """Every trust's ODS code by id."""
    return {pk: code for pk, code in session.execute(select(Trust.id, Trust.code))}


def hospital_number(session: Session, participant_pk: int, trust_id: int) -> str | None:
    """A participant's hospital number at a trust (None when they have none there)."""
    return session.execute(select(HospitalNumber.number).where(
        HospitalNumber.participant_id == participant_pk, HospitalNumber.trust_id == trust_id).limit(1)).scalar_one_or_none()


def released_versions(session: Session) -> list[tuple[int, int, str, int, object, str, dict | None]]:
    """(case, trust, arm, version, released at, outcome, exit questions) of every report version ever released
    (released or since superseded), oldest release first; columns only, no report content."""
    stmt = (select(ClinicalReport.case_id, Case.trust_id, Case.programme_arm, ClinicalReport.version,
                   ClinicalReport.released_at, ClinicalReport.outcome, CaseReview.exit_questions)
            .join(Case, Case.id == ClinicalReport.case_id)
            .outerjoin(CaseReview, CaseReview.case_id == ClinicalReport.case_id)
            .where(ClinicalReport.released_at.is_not(None), ClinicalReport.status.in_(("released", "superseded")))
            .order_by(ClinicalReport.released_at, ClinicalReport.id))
    return [tuple(row) for row in session.execute(stmt)]
