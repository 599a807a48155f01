"""Centres (Genomic Medicine Centres) and the trusts that recruit for them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base


class Centre(Base):
    """A Genomic Medicine Centre: a regional network of trusts."""

    __tablename__ = "centre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short stable code, e.g. WMGMC.
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    region: Mapped[str | None] = mapped_column(String(100))
    #: Genomes the centre is contracted to deliver.
    genome_target: Mapped[int | None] = mapped_column(Integer)

    trusts: Mapped[list[Trust]] = relationship(back_populates="centre", order_by="Trust.name")


class Trust(Base):
    """An NHS trust: a local delivery partner that recruits participants and collects samples."""

    __tablename__ = "trust"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: NHS ODS organisation code, e.g. RRK.
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    centre: Mapped[Centre] = relationship(back_populates="trusts")
