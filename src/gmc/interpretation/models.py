"""Interpretation runs of a genomic case (somatic, germline cancer, rare disease) with results and provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base

#: Kinds of interpretation a run can be.
RUN_KINDS = ("somatic", "germline_cancer", "rare")
#: Lifecycle of a run.
RUN_STATUSES = ("queued", "running", "done", "failed")


class InterpretationRun(Base):
    """One interpretation of a case: what went in, what came out, and the software and data versions used."""

    __tablename__ = "interpretation_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme run id, safe to show (e.g. IR000012).
    run_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    #: The genomic case interpreted (registry `genomic_case`).
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: somatic, germline_cancer or rare.
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    #: queued, running, done or failed.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")
    #: Input files (path, sha256), settings and tumour type / panels, as plain JSON.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: The RESULT document (findings, tiers, TMB, germline findings ...); None until done.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: gmc version, knowledge-base and reference-data files with checksums, curation state.
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Who started the run (user name, or system:<what>).
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The user who started it (None for system runs).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column()
    #: Why a failed run failed.
    error: Mapped[str | None] = mapped_column(Text)
