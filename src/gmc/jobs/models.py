"""A background job: one large import run by a worker of the server, with its progress and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class BackgroundJob(Base):
    """A job submitted by a user; only that user sees it (it may name rows of their file)."""

    __tablename__ = "background_job"

    #: Public id (random hex), used in URLs.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: What runs, e.g. "registry.participants_csv" (gmc.jobs.service.JOB_KINDS).
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    #: queued, running, succeeded or failed.
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    #: The user who submitted it.
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    #: The uploaded file's name (not its content) and size.
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    #: "checking" or "importing" while it runs.
    phase: Mapped[str | None] = mapped_column(String(20))
    rows_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    #: The import's summary when it succeeded (counts, never identifiers).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The error when it failed: {"detail", "field", "line", "problems": [...]}.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The process running it ("host:pid"), so a restarted server knows which jobs died with their process.
    runner: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
