"""Curated cancer evidence with versioned, two-curator-approved changes, and tumour board notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base

#: What a proposed version does to its evidence item.
CURATION_ACTIONS = ("add", "edit", "retire")
#: Review state of a proposed version.
VERSION_STATUSES = ("proposed", "approved", "rejected")


class CuratedEvidence(Base):
    """One evidence item under curation: a new gmc item or a knowledge-base item (CIViC, CGI, ...) changed here."""

    __tablename__ = "curated_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The knowledge-base evidence id this curation governs (GMC:CUR000001 for new items, CIViC:EID1409 ...).
    evidence_id: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    #: Gene of the latest proposal, for listing and search.
    gene: Mapped[str] = mapped_column(String(40), index=True, nullable=False)
    #: pending (never approved yet), live (an approved add/edit is in force) or retired.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    #: Number of the approved version in force (None until a first approval).
    live_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    versions: Mapped[list[CuratedEvidenceVersion]] = relationship(
        back_populates="item", order_by="CuratedEvidenceVersion.version", cascade="all, delete-orphan")


class CuratedEvidenceVersion(Base):
    """A proposed change to a curated item, with who proposed it and why, and the second curator's decision."""

    __tablename__ = "curated_evidence_version"
    __table_args__ = (UniqueConstraint("curated_id", "version", name="uq_curated_evidence_version_item_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    curated_id: Mapped[int] = mapped_column(ForeignKey("curated_evidence.id"), index=True, nullable=False)
    #: 1, 2, ... per item, in proposal order.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: add, edit or retire.
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    #: The evidence record (evidence_to_dict form) this version would make live; the retired record for retire.
    record: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: Why the change is proposed.
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: proposed, approved or rejected (rejected proposals are kept).
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    proposed_at: Mapped[datetime] = mapped_column(nullable=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    #: The reviewer's reason (required for a rejection).
    review_reason: Mapped[str | None] = mapped_column(Text)

    item: Mapped[CuratedEvidence] = relationship(back_populates="versions")


class TumourBoardNote(Base):
    """A note written on a case's tumour board page (audited)."""

    __tablename__ = "tumour_board_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The run the note discusses, when it is about one.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("interpretation_run.id"))
    #: The note text as written.
    text: Mapped[str] = mapped_column(Text, nullable=False)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
