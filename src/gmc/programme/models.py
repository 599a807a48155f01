"""The programme's plans: a target for a measure (genomes, cancer genomes, cancer patients) over a period."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base

#: What a plan counts.
MEASURES = ("genomes", "cancer_genomes", "cancer_patients")
#: The scope of a plan that covers every centre.
NATIONAL = "NATIONAL"


class ProgrammePlan(Base):
    """A target to reach between two dates, nationally or for one centre; progress is expected to be even."""

    __tablename__ = "programme_plan"
    __table_args__ = (UniqueConstraint("scope", "measure", name="uq_programme_plan_scope_measure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: NATIONAL or a centre code (e.g. WMGMC).
    scope: Mapped[str] = mapped_column(String(20), nullable=False)
    #: genomes, cancer_genomes or cancer_patients.
    measure: Mapped[str] = mapped_column(String(20), nullable=False)
    target: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
