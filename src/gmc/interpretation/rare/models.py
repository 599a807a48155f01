"""Rare-disease interpretation records: versioned gene panels, panels applied to cases, ACMG overrides, notes, diagnoses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class GenePanel(Base):
    """One version of a gene panel: a PanelApp panel as imported, or a scientist's custom gene list."""

    __tablename__ = "rare_gene_panel"
    __table_args__ = (UniqueConstraint("panel_key", "version", name="uq_rare_gene_panel_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The panel's id at its source (PanelApp id) or custom:<n> for a custom gene list.
    panel_key: Mapped[str] = mapped_column(String(60), index=True, nullable=False)
    #: The panel's name (PanelApp name, or the name a scientist gave the gene list).
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    #: gmc's version number of this panel: 1 on first import, +1 whenever its genes change.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: PanelApp's own version string when the source gives one (the offline export does not).
    source_version: Mapped[str | None] = mapped_column(String(40))
    #: SHA-256 of the panel's gene rows as imported (what a new version is recognised by).
    checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    #: panelapp or custom.
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The source file and its SHA-256 (PanelApp), or the case a custom list was made for.
    source_detail: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    disease_group: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    #: Relevant disorders / indications the panel is used for (list of text).
    relevant_disorders: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Genes: [{symbol, hgnc_id, confidence (0-3), mode, mode_text}] in source order.
    genes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: True for the newest version of the panel (what indications suggest).
    current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    imported_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Who imported or created it (user name, or system:<what>).
    imported_by: Mapped[str] = mapped_column(String(200), nullable=False)


class CasePanel(Base):
    """A panel version applied to a case by a scientist (removal keeps the row, with who and when)."""

    __tablename__ = "rare_case_panel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    panel_id: Mapped[int] = mapped_column(ForeignKey("rare_gene_panel.id"), nullable=False)
    #: Why it was applied: suggested (from the clinical indication, with the match score) or chosen.
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    applied_by: Mapped[str] = mapped_column(String(200), nullable=False)
    applied_at: Mapped[datetime] = mapped_column(nullable=False)
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column()


class AcmgOverride(Base):
    """A scientist's decision on one ACMG criterion of one variant in a case; a newer one supersedes it."""

    __tablename__ = "rare_acmg_override"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The variant as chrom:pos:ref:alt (the run results' variant id).
    variant_id: Mapped[str] = mapped_column(String(400), nullable=False)
    gene: Mapped[str] = mapped_column(String(40), nullable=False)
    #: ACMG/AMP criterion code, e.g. PM2.
    code: Mapped[str] = mapped_column(String(8), nullable=False)
    met: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: very_strong, strong, moderate, supporting or stand_alone (None keeps the automatic strength).
    strength: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: The class before and after this decision (as the Bayesian points gave them).
    class_before: Mapped[str] = mapped_column(String(40), nullable=False)
    class_after: Mapped[str] = mapped_column(String(40), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Set when a later decision on the same criterion replaced this one (history is kept).
    superseded_at: Mapped[datetime | None] = mapped_column()


class CaseNote(Base):
    """A scientist's note on a case, a gene or a variant, with tags."""

    __tablename__ = "rare_case_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The gene the note is about (None: the whole case).
    gene: Mapped[str | None] = mapped_column(String(40))
    #: The variant the note is about (chrom:pos:ref:alt), if any.
    variant_id: Mapped[str | None] = mapped_column(String(400))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: Short labels, e.g. ["candidate", "segregation-needed"].
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class CaseDiagnosis(Base):
    """The diagnosis a scientist chose for a case from a run: gene, variants, disease and class."""

    __tablename__ = "rare_case_diagnosis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    run_id: Mapped[int] = mapped_column(ForeignKey("interpretation_run.id"), nullable=False)
    gene: Mapped[str] = mapped_column(String(40), nullable=False)
    hgnc_id: Mapped[str | None] = mapped_column(String(20))
    #: The diagnostic variants (chrom:pos:ref:alt) with their class at the time: [{variant, hgvs, class}].
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: OMIM/ORPHA id and name of the disease.
    disease_id: Mapped[str | None] = mapped_column(String(40))
    disease_name: Mapped[str | None] = mapped_column(String(300))
    mode: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    chosen_by: Mapped[str] = mapped_column(String(200), nullable=False)
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    chosen_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Set when a later choice replaced it.
    superseded_at: Mapped[datetime | None] = mapped_column()
