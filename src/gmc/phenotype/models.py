"""Phenotype records: HPO observations, diagnoses, pedigree details and phenopacket imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class PhenotypeObservation(Base):
    """One HPO term observed in, or looked for and excluded from, a participant."""

    __tablename__ = "phenotype_observation"
    __table_args__ = (Index("ix_phenotype_observation_participant_active", "participant_id", "removed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The participant (registry primary key).
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False)
    #: Current HPO id as stored, e.g. HP:0001250.
    hpo_id: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    #: The term's label when it was captured (labels change between releases).
    label: Mapped[str] = mapped_column(String(300), nullable=False)
    #: The id the user or file gave, when it was an alternative or obsolete id replaced by hpo_id.
    requested_id: Mapped[str | None] = mapped_column(String(10))
    #: False when the term is not in the HPO release in use (kept from an import of a newer release).
    in_release: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: True when the feature was looked for and found absent.
    excluded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Onset: an HPO onset term id, an ISO 8601 age (P3Y6M) or a gestational age written GA:32w4d.
    onset: Mapped[str | None] = mapped_column(String(40))
    #: Severity modifier (an HPO id under HP:0012824).
    severity: Mapped[str | None] = mapped_column(String(10))
    #: Laterality modifier (an HPO id under HP:0012831).
    laterality: Mapped[str | None] = mapped_column(String(10))
    #: Other clinical modifier HPO ids (pace of progression, temporal pattern, ...).
    modifiers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Free-text note from the clinician.
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: capture, csv, phenopacket or demo.
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="capture")
    #: The HPO release the term was validated against, e.g. 2025-01-16.
    hpo_release: Mapped[str] = mapped_column(String(20), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Removal keeps the row (soft delete) so the profile's history stays readable.
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removal_reason: Mapped[str | None] = mapped_column(Text)


class Diagnosis(Base):
    """A disease diagnosis (OMIM, ORPHA or MONDO) suspected, confirmed or excluded in a participant."""

    __tablename__ = "phenotype_diagnosis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    #: Disease code, e.g. OMIM:154700, ORPHA:558 or MONDO:0007947.
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    label: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    #: suspected, confirmed or excluded.
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by: Mapped[str | None] = mapped_column(String(200))


class PedigreeFamily(Base):
    """What a pedigree needs about a registry family beyond its members: consanguinity."""

    __tablename__ = "pedigree_family"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), nullable=False, unique=True)
    #: Reported consanguinity of the proband's parents: yes, no or unknown.
    consanguinity: Mapped[str] = mapped_column(String(8), nullable=False, default="unknown")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class PedigreeMember(Base):
    """One individual of a family's pedigree: a participant or a relative who is not one."""

    __tablename__ = "pedigree_member"
    __table_args__ = (UniqueConstraint("family_id", "individual_id", name="uq_pedigree_member_family_individual"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), nullable=False, index=True)
    #: The pedigree label: the programme participant id for participants, else a local label (e.g. I-1).
    individual_id: Mapped[str] = mapped_column(String(40), nullable=False)
    #: The participant this individual is, when they are one.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), index=True)
    #: Pedigree labels of the parents (None: not in the pedigree).
    father_individual_id: Mapped[str | None] = mapped_column(String(40))
    mother_individual_id: Mapped[str | None] = mapped_column(String(40))
    #: male, female or unknown (a participant's must agree with the registry's sex).
    sex: Mapped[str] = mapped_column(String(10), nullable=False, default="unknown")
    #: affected, unaffected or unknown.
    affected: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")
    #: Deceased (for participants the registry's date of death also counts).
    deceased: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Individuals sharing a twin group label are twins.
    twin_group: Mapped[str | None] = mapped_column(String(20))
    #: monozygotic, dizygotic or unknown (only with a twin group).
    twin_zygosity: Mapped[str | None] = mapped_column(String(12))
    #: Order of the line in the PED file it came from (keeps the drawing stable).
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class PhenopacketImport(Base):
    """A phenopacket imported into a participant's record, and how its subject was matched."""

    __tablename__ = "phenopacket_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The phenopacket's own id; importing the same id again maps to the same participant.
    phenopacket_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    #: The subject id the phenopacket gave (kept as a note; it is not a programme id).
    subject_id: Mapped[str] = mapped_column(String(200), nullable=False)
    #: True when the import created the participant: it has no referral until the registry adds one.
    created_participant: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The file name (or "api") it came from.
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    #: The HPO release the phenopacket's metaData names ("" when it names none).
    source_hpo_version: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    #: The phenopacket's interpretations as canonical JSON, so an export can give them back.
    interpretations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: Counts and warnings of the import.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    imported_by: Mapped[str] = mapped_column(String(200), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(nullable=False)
