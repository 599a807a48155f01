"""Research projects, saved cohort definitions, data releases with their members, and the recall list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base

#: Lifecycle of a research project: a data-access approver decides on a proposal.
PROJECT_STATUSES = ("proposed", "approved", "rejected", "closed")
#: Lifecycle of a data release.
RELEASE_STATUSES = ("requested", "approved", "rejected", "cancelled", "building", "built", "failed")


class ResearchProject(Base):
    """An approved purpose for research on the centre's pseudonymised data, led by one researcher."""

    __tablename__ = "research_project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme project id, e.g. RP0001 (research ids are keyed per project).
    project_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The stated purpose of the research, as proposed and approved.
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    lead_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True, nullable=False)
    lead_name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Trusts whose participants the project may draw on (the lead's scope when proposed); None: every trust.
    trust_scope: Mapped[list[int] | None] = mapped_column(JSON)
    #: proposed, approved, rejected or closed.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="proposed")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    #: The approver's reason or conditions.
    decision_note: Mapped[str | None] = mapped_column(Text)

    cohorts: Mapped[list[Cohort]] = relationship(back_populates="project", order_by="Cohort.id")


class Cohort(Base):
    """A named cohort of a project; its definition is kept as numbered versions that never change."""

    __tablename__ = "research_cohort"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme cohort id, e.g. RC0001.
    cohort_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("research_project.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    project: Mapped[ResearchProject] = relationship(back_populates="cohorts")
    versions: Mapped[list[CohortVersion]] = relationship(
        back_populates="cohort", order_by="CohortVersion.version", lazy="selectin")


class CohortVersion(Base):
    """One saved definition of a cohort: the criteria, and the (suppressed) count when it was saved."""

    __tablename__ = "research_cohort_version"
    __table_args__ = (UniqueConstraint("cohort_id", "version", name="uq_research_cohort_version_cohort_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("research_cohort.id"), index=True, nullable=False)
    #: 1, 2, ... per cohort.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The criteria as plain JSON (gmc.research.cohort.Criteria.to_dict).
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: The count as a researcher saw it ("<10" for 1-9).
    count_shown: Mapped[str] = mapped_column(String(12), nullable=False)
    #: Why this version was saved (the researcher's note on the definition).
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    cohort: Mapped[Cohort] = relationship(back_populates="versions")


class DataRelease(Base):
    """A pseudonymised release of a cohort version: who asked and why, who approved, and every file's checksum."""

    __tablename__ = "research_release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme release id, e.g. RR0001.
    release_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("research_project.id"), index=True, nullable=False)
    cohort_version_id: Mapped[int] = mapped_column(ForeignKey("research_cohort_version.id"), nullable=False)
    #: The stated purpose of this release.
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    #: What it holds: {"tables": [...], "phenopackets": bool, "genotypes": "cohort_genes" | "all" | "none"}.
    contents: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: requested, approved, rejected, cancelled, building, built or failed.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="requested")
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
    built_at: Mapped[datetime | None] = mapped_column()
    #: Participants released.
    n_participants: Mapped[int | None] = mapped_column(Integer)
    #: Every file: name, bytes, sha256 and rows.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: Software, reference data and variant store versions, and the pseudonym key's fingerprint.
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Progress of a build: step, done and total.
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Why a build failed.
    error: Mapped[str | None] = mapped_column(Text)

    project: Mapped[ResearchProject] = relationship(lazy="joined")
    cohort_version: Mapped[CohortVersion] = relationship(lazy="joined")


class ReleaseMember(Base):
    """A participant included in a built release, with the research id they carry in it."""

    __tablename__ = "research_release_member"
    __table_args__ = (
        UniqueConstraint("release_id", "participant_id", name="uq_research_release_member_release_participant"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("research_release.id"), index=True, nullable=False)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    research_id: Mapped[str] = mapped_column(String(20), nullable=False)


class RecallEntry(Base):
    """A released participant whose consent no longer allows research: the release's holders must delete them."""

    __tablename__ = "research_recall"
    __table_args__ = (UniqueConstraint("release_id", "participant_id", name="uq_research_recall_release_participant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("research_release.id"), index=True, nullable=False)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    research_id: Mapped[str] = mapped_column(String(20), nullable=False)
    #: Why the participant left research (the research-eligibility reason).
    reason: Mapped[str] = mapped_column(String(300), nullable=False)
    listed_at: Mapped[datetime] = mapped_column(nullable=False)
    #: The researcher's confirmation that the participant's data were deleted.
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column()
