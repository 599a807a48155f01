"""Request bodies of the reporting API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class ReviewIn(BaseModel):
    """Who reviews the case (the caller when empty)."""

    assignee: str | None = None


class FindingIn(BaseModel):
    """A run's finding selected for the report."""

    run_id: str
    finding_key: str
    #: primary or additional (a consented secondary finding).
    category: str = "primary"
    comment: str = ""


class CommentIn(BaseModel):
    """The interpretation text of one finding."""

    comment: str


class DescriptionIn(BaseModel):
    """HGVS descriptions a scientist confirmed (with or without the accession) and what they were checked against."""

    source: str
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hgvs_g: str | None = None


class DraftIn(BaseModel):
    """Texts and outcome of the report draft (fields left out are unchanged)."""

    summary: str | None = None
    interpretation: str | None = None
    recommendations: str | None = None
    #: positive, negative or inconclusive.
    outcome: str | None = None


class ExitQuestionsIn(BaseModel):
    """The programme's exit questions."""

    #: full, partial or none.
    explains: str | None = None
    actionable: bool | None = None
    confirmed: bool | None = None
    diagnosis_made: bool | None = None


class ReasonIn(BaseModel):
    """A move that needs a reason."""

    reason: str = ""


class AmendIn(BaseModel):
    """Why a released report is amended, and how (amended: new information; corrected: an error)."""

    reason: str
    kind: str = "amended"


class DeliveryIn(BaseModel):
    """That the result was given to the patient."""

    given_on: date
    given_by: str
    #: clinic, telephone, letter or video.
    method: str
    note: str = ""


class MeetingIn(BaseModel):
    """A new MDT meeting."""

    title: str
    held_on: date
    #: Attendees: {name, role}.
    attendees: list[dict[str, str]] = Field(default_factory=list)


class MeetingCaseIn(BaseModel):
    """A case to discuss."""

    case_id: str


class OutcomeIn(BaseModel):
    """The MDT outcome of a case."""

    #: agreed, further_tests, cascade_testing, reanalysis or not_agreed.
    outcome: str
    minutes: str = ""
    actions: list[str] = Field(default_factory=list)
    #: Reported finding id -> the class the MDT agreed.
    agreed_classes: dict[str, str] = Field(default_factory=dict)


class RuleIn(BaseModel):
    """An arm's review rules."""

    turnaround_days: int
    mdt_required: bool = True
