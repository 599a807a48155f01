"""Pydantic shapes of the phenotype API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TermBrief(BaseModel):
    """An HPO term by id and label."""

    id: str
    name: str


class SearchHitOut(TermBrief):
    """A type-ahead result: the term and the label or synonym that matched."""

    matched_text: str


class TermDetailOut(TermBrief):
    """A term with its place in the hierarchy, for browsing."""

    definition: str
    synonyms: list[str]
    parents: list[TermBrief]
    children: list[TermBrief]
    hpo_release: str


class ObservationIn(BaseModel):
    """A term to capture."""

    hpo_id: str = Field(examples=["HP:0001250"])
    excluded: bool = False
    #: HPO onset term, ISO 8601 age (P3Y6M) or GA:32w4d.
    onset: str | None = None
    severity: str | None = None
    laterality: str | None = None
    modifiers: list[str] = []
    note: str = ""


class ObservationOut(BaseModel):
    """A stored observation (removed ones carry who removed them and why)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    hpo_id: str
    label: str
    requested_id: str | None
    in_release: bool
    excluded: bool
    onset: str | None
    severity: str | None
    laterality: str | None
    modifiers: list[str]
    note: str
    source: str
    hpo_release: str
    recorded_by: str
    recorded_at: datetime
    removed_at: datetime | None
    removed_by: str | None
    removal_reason: str | None


class GuidanceOut(BaseModel):
    """Advice on the profile."""

    redundant_pairs: list[dict[str, str]]
    contradictions: list[dict[str, str]]
    total_information: float
    is_informative: bool
    advice: str
    not_in_release: list[str]
    warnings: list[str]


class DiagnosisIn(BaseModel):
    """A diagnosis to record."""

    code: str = Field(examples=["OMIM:154700"])
    label: str = ""
    status: str = "suspected"
    note: str = ""


class DiagnosisUpdate(BaseModel):
    """A new status for a diagnosis."""

    status: str


class DiagnosisOut(BaseModel):
    """A recorded diagnosis."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    label: str
    status: str
    note: str
    recorded_by: str
    recorded_at: datetime


class ProfileOut(BaseModel):
    """A participant's phenotype."""

    participant_id: str
    sex: str
    hpo_release: str
    consent: str
    observations: list[ObservationOut]
    removed: list[ObservationOut]
    diagnoses: list[DiagnosisOut]
    guidance: GuidanceOut
    families: list[str]


class CaptureOut(BaseModel):
    """A captured term and what to tell the user."""

    observation: ObservationOut
    warnings: list[str]
    guidance: GuidanceOut


class ImportSummaryOut(BaseModel):
    """What an import did."""

    files: int
    participants_matched: int
    participants_created: int
    observations: int
    excluded: int
    skipped_duplicates: int
    diagnoses: int
    warnings: list[str]
    mapping: dict[str, str]


class PedigreeIndividualOut(BaseModel):
    """One individual of a pedigree."""

    individual_id: str
    father_id: str | None
    mother_id: str | None
    sex: str
    affected: str
    participant_id: str | None
    relationship: str | None
    deceased: bool
    twin_group: str | None
    twin_zygosity: str | None


class PedigreeOut(BaseModel):
    """A family's pedigree."""

    family_id: str
    derived: bool
    proband: str | None
    consanguinity: str
    consanguineous_couples: list[list[str]]
    individuals: list[PedigreeIndividualOut]
    problem: str


class MemberUpdate(BaseModel):
    """Details PED cannot hold for one individual."""

    deceased: bool | None = None
    twin_group: str | None = None
    twin_zygosity: str | None = None


class ConsanguinityIn(BaseModel):
    """Whether the proband's parents are reported to be related."""

    consanguinity: str


def guidance_out(guidance: Any) -> GuidanceOut:
    """The API form of service Guidance."""
    return GuidanceOut(redundant_pairs=guidance.redundant_pairs, contradictions=guidance.contradictions,
                       total_information=guidance.total_information, is_informative=guidance.is_informative,
                       advice=guidance.advice, not_in_release=guidance.not_in_release, warnings=guidance.warnings)
