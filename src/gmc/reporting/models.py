"""Case review state, reported findings, clinical reports with versions and signatures, MDT meetings, delivery."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base


class ReviewRule(Base):
    """A programme arm's review rules: the turnaround target from referral to report and whether an MDT is needed.

    A centre's own rule (centre_id set) overrides the programme default (centre_id None) for its cases.
    """

    __tablename__ = "review_rule"
    __table_args__ = (
        UniqueConstraint("centre_id", "programme_arm", name="uq_review_rule_centre_arm"),
        Index("uq_review_rule_default_arm", "programme_arm", unique=True,
              sqlite_where=text("centre_id IS NULL"), postgresql_where=text("centre_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The centre whose rule this is; None for the programme's default.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    #: rare_disease or cancer.
    programme_arm: Mapped[str] = mapped_column(String(20), nullable=False)
    #: Days from referral to the released report (the due date of a case).
    turnaround_days: Mapped[int] = mapped_column(Integer, nullable=False)
    #: True when an MDT must agree the findings before a report is released.
    mdt_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)


class CaseReview(Base):
    """A case's workflow after interpretation: its state, the assigned scientist, the due date, exit questions."""

    __tablename__ = "case_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), unique=True, nullable=False)
    #: awaiting_review, in_review, awaiting_check, awaiting_mdt, reported, amendment_requested,
    #: reanalysis_requested or closed (reporting.workflow.State).
    state: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(200))
    #: Referral date plus the arm's turnaround target (set when the review starts; kept when rules change).
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: The programme's exit questions: explains (full/partial/none), actionable, confirmed, diagnosis_made.
    exit_questions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Why the case needs an amendment (a reported finding changed class on reanalysis), until amended.
    amendment_flag: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Optimistic-locking counter: two people moving the same case at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class ReportedFinding(Base):
    """A variant a scientist selected for the report, with the class, evidence and details as selected."""

    __tablename__ = "reported_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The run it was selected from.
    run_id: Mapped[int] = mapped_column(ForeignKey("interpretation_run.id"), nullable=False)
    #: rare, somatic or germline (where in the run's results it came from).
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The finding's key in the run (chrom:pos:ref:alt for variants; kind:gene:alteration for structural ones).
    finding_key: Mapped[str] = mapped_column(String(400), nullable=False)
    #: primary (answers the referral) or additional (secondary finding; needs consent).
    category: Mapped[str] = mapped_column(String(12), nullable=False, default="primary")
    gene: Mapped[str] = mapped_column(String(60), nullable=False)
    #: ACMG/AMP class (rare, germline) or oncogenicity (somatic) as reported.
    classification: Mapped[str | None] = mapped_column(String(40))
    #: AMP/ASCO/CAP tier (I-IV) for cancer, 1-3 for rare disease.
    tier: Mapped[str | None] = mapped_column(String(8))
    #: Everything the report prints about it (HGVS c./p./g., transcript, zygosity, inheritance, criteria,
    #: evidence, therapies ...), as selected (reporting.adapter.Candidate.as_dict()).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: The scientist's interpretation text for this finding.
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Display order in the report.
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column()


class ClinicalReport(Base):
    """One version of a case's clinical report: a draft, then signed by its author and a checker, then released."""

    __tablename__ = "clinical_report"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_clinical_report_case_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme report id shared by every version of the case's report (e.g. R000012).
    report_id: Mapped[str] = mapped_column(String(20), index=True, nullable=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: 1 for the first report, +1 per amendment.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: draft, awaiting_check, authorised, released or superseded.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    #: Plain-language result summary printed first (what the clinician tells the patient).
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The scientist's interpretation of the findings together.
    interpretation: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Recommendations: cascade testing, management, referral.
    recommendations: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: positive, negative (no reportable finding), inconclusive.
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="inconclusive")
    #: For amendments: amended (new information) or corrected (an error fixed), and why.
    amendment_kind: Mapped[str | None] = mapped_column(String(12))
    amendment_reason: Mapped[str | None] = mapped_column(Text)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("clinical_report.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    author: Mapped[str | None] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_signed_at: Mapped[datetime | None] = mapped_column()
    checker_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    checker: Mapped[str | None] = mapped_column(String(200))
    checker_name: Mapped[str | None] = mapped_column(String(200))
    checker_signed_at: Mapped[datetime | None] = mapped_column()
    #: The frozen report document (reporting.content) at release; None while it is a draft.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: SHA-256 of the frozen content's canonical JSON (what every rendering of the release is checked against).
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class MdtMeeting(Base):
    """A multidisciplinary team meeting: when, who attended, and the cases discussed."""

    __tablename__ = "mdt_meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme meeting id (e.g. MDT000003).
    meeting_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: Attendees as written: [{name, role}].
    attendees: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False, default=list)
    #: The centre the meeting belongs to (None: national).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    cases: Mapped[list[MdtCase]] = relationship(back_populates="meeting", order_by="MdtCase.id",
                                                cascade="all, delete-orphan")


class MdtCase(Base):
    """A case on an MDT's list and, once discussed, its outcome and minutes."""

    __tablename__ = "mdt_case"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id", name="uq_mdt_case_meeting_case"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mdt_meeting.id"), index=True, nullable=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The report version discussed.
    report_pk: Mapped[int | None] = mapped_column(ForeignKey("clinical_report.id"))
    #: agreed, further_tests, cascade_testing, reanalysis, not_agreed (None until discussed).
    outcome: Mapped[str | None] = mapped_column(String(20))
    #: The classification the MDT agreed, per reported finding: {finding id: class}.
    agreed_classes: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    #: Actions agreed: further tests, cascade testing of relatives ... as text lines.
    actions: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    minutes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None] = mapped_column()

    meeting: Mapped[MdtMeeting] = relationship(back_populates="cases")


class ResultDelivery(Base):
    """That a released report's result was given to the patient: when, by whom, how."""

    __tablename__ = "result_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_pk: Mapped[int] = mapped_column(ForeignKey("clinical_report.id"), index=True, nullable=False)
    given_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: The clinician who told the patient (as written).
    given_by: Mapped[str] = mapped_column(String(200), nullable=False)
    #: clinic, telephone, letter or video.
    method: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)


class Reanalysis(Base):
    """A reanalysis of a reported case: why, the runs compared, what moved, and whether it needs an amendment."""

    __tablename__ = "reanalysis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: on_request or reference_data (a ClinVar, HPO, panel or knowledge-base version changed).
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: The run the released report rests on, and the new run (None until it has run).
    previous_run_id: Mapped[int | None] = mapped_column(ForeignKey("interpretation_run.id"))
    new_run_id: Mapped[int | None] = mapped_column(ForeignKey("interpretation_run.id"))
    #: What moved: reclassified reported findings, new candidates in the top ranks, reference versions.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: True when a reported finding changed class (the case is flagged for amendment).
    needs_amendment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: requested, done or failed.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="requested")
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
