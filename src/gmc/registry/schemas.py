"""Pydantic shapes of the registry API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PersonIn(BaseModel):
    """A person to register, with the trust registering them."""

    model_config = ConfigDict(extra="forbid")

    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date | None = None
    sex: str = "unknown"
    nhs_number: str | None = None
    postcode: str | None = None
    trust_code: str | None = None
    hospital_number: str | None = None
    #: check (default), new, request_link (ask the centre holding a matching record to link it), or
    #: link:<participant id> (a record you may see).
    decision: str = "check"


class ParticipantUpdate(BaseModel):
    """Demographic changes, with the version the editor saw."""

    model_config = ConfigDict(extra="forbid")

    version: int
    family_name: str | None = None
    given_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    nhs_number: str | None = None
    postcode: str | None = None
    date_of_death: date | None = None


class ReferralIn(BaseModel):
    """A referral from a clinician at a trust."""

    model_config = ConfigDict(extra="forbid")

    trust_code: str
    referring_clinician: str = Field(min_length=1, max_length=200)
    referral_date: date
    programme_arm: str
    clinical_indication: str = Field(min_length=1, max_length=200)
    family_structure: str | None = None
    prior_tests_completed: bool = False
    tumour_sample_expected: bool = False
    germline_sample_expected: bool = False
    family_id: str | None = None


class ConsentIn(BaseModel):
    """A consent on a form version."""

    model_config = ConfigDict(extra="forbid")

    form_code: str
    form_version: str
    consented_on: date
    given_by: str = "participant"
    given_by_name: str | None = None
    choices: dict[str, bool]
    #: A young person's (7 to 15) assent beside the parent's consent: assented, declined or not_able.
    assent: str | None = None
    #: For a person of 16 or over: True when they lack capacity (a consultee then declares).
    lacks_capacity: bool | None = None
    #: Why a form for another arm, or for a person of unknown age, is used anyway.
    fit_reason: str | None = None


class WithdrawalIn(BaseModel):
    """A withdrawal at a level."""

    model_config = ConfigDict(extra="forbid")

    level: str
    reason: str = ""


class FamilyIn(BaseModel):
    """A new family around a proband."""

    model_config = ConfigDict(extra="forbid")

    proband_participant_id: str


class FamilyMemberIn(BaseModel):
    """A relative joining a family."""

    model_config = ConfigDict(extra="forbid")

    participant_id: str
    relation: str
    affected: str = "unknown"


class MergeIn(BaseModel):
    """Which record survives a merge, and why."""

    model_config = ConfigDict(extra="forbid")

    survivor_participant_id: str
    reason: str = Field(min_length=3)


class ReasonIn(BaseModel):
    """A reason for a decision."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3)


class RulesIn(BaseModel):
    """A new version of an arm's eligibility rules."""

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any]
    note: str = Field(min_length=3)


class ParticipantSummary(BaseModel):
    """A participant in search results."""

    participant_id: str
    family_name: str
    given_name: str
    date_of_birth: date | None
    sex: str
    nhs_number: str | None
    consent_status: str


class DecisionOut(BaseModel):
    """An eligibility decision."""

    model_config = ConfigDict(from_attributes=True)

    eligible: bool
    reasons: list[str]
    rule_version: int
    decided_at: datetime
    decided_by: str


class ReferralOut(BaseModel):
    """A referral with its eligibility decisions."""

    referral_id: str
    trust_code: str
    referring_clinician: str
    referral_date: date
    programme_arm: str
    clinical_indication: str
    family_structure: str | None
    status: str
    decisions: list[DecisionOut]


class ParticipantOut(ParticipantSummary):
    """A participant with identifiers, referrals, families and consent."""

    postcode: str | None
    date_of_death: date | None
    nhs_number_missing: bool
    version: int
    merged_into: str | None
    hospital_numbers: list[dict[str, str]]
    referrals: list[ReferralOut]
    families: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    cases: list[dict[str, Any]] = []


class RegistrationOut(BaseModel):
    """What registration did."""

    participant: ParticipantOut
    created: bool
    linked_reason: str | None
    possible_duplicates: list[dict[str, Any]]


class LinkRequestOut(BaseModel):
    """A request to link a registration to a record held by another scope."""

    id: int
    status: str
    source: str
    exact: bool
    requesting_trust: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    #: The centres holding the candidate records (all the requesting side learns of them).
    centres: list[dict[str, str]]
    you_decide: bool
    you_requested: bool
    #: The person as entered (the deciding and requesting sides only).
    person: dict[str, Any] | None = None
    #: The deciding side's own candidate records.
    candidates: list[dict[str, Any]] = []
    #: The record the person ended up in, once linked or registered (when you may see it).
    participant_id: str | None = None


class LinkDecisionIn(BaseModel):
    """A decision on a link request."""

    model_config = ConfigDict(extra="forbid")

    participant_id: str | None = None
    reason: str = ""
