"""Participants, their identifiers, families, referrals, eligibility, consent and record linkage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base


class Participant(Base):
    """One real person, linked across trusts; identifiable data lives here and nowhere else."""

    __tablename__ = "participant"
    __table_args__ = (
        Index("ix_participant_names", "family_name", "given_name"),
        Index("ix_participant_dob", "date_of_birth"),
        # One live record per NHS number: a merged record keeps its number for unmerge and audit.
        Index("uq_participant_live_nhs_number", "nhs_number", unique=True,
              sqlite_where=text("merged_into_id IS NULL AND nhs_number IS NOT NULL"),
              postgresql_where=text("merged_into_id IS NULL AND nhs_number IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme participant id: never changes, safe to show and to pass to other features.
    participant_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    #: NHS number, 10 digits without spaces (None: not known, flagged on the participant page).
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    family_name: Mapped[str] = mapped_column(String(100), nullable=False)
    given_name: Mapped[str] = mapped_column(String(100), nullable=False)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    #: female, male, other or unknown.
    sex: Mapped[str] = mapped_column(String(10), nullable=False, default="unknown")
    postcode: Mapped[str | None] = mapped_column(String(10))
    date_of_death: Mapped[date | None] = mapped_column(Date)
    #: The record this one was merged into (a merged record is kept for unmerge and audit).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Optimistic-locking counter.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    hospital_numbers: Mapped[list[HospitalNumber]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", lazy="selectin"
    )
    referrals: Mapped[list[Referral]] = relationship(back_populates="participant", order_by="Referral.referral_date")

    __mapper_args__ = {"version_id_col": version}


class ParticipantBlockKey(Base):
    """A blocking key of a live participant (gmc.registry.linkage.blocking_keys): registration compares a new
    person only with the records sharing one of its keys, found through this indexed table."""

    __tablename__ = "participant_block_key"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True, index=True)


class HospitalNumber(Base):
    """A participant's local record number at one trust."""

    __tablename__ = "hospital_number"
    __table_args__ = (UniqueConstraint("trust_id", "number", name="uq_hospital_number_trust_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False)
    number: Mapped[str] = mapped_column(String(40), nullable=False)

    participant: Mapped[Participant] = relationship(back_populates="hospital_numbers")


class TrustRegistration(Base):
    """A trust at which the participant is registered (their record is visible to that trust's staff)."""

    __tablename__ = "trust_registration"
    __table_args__ = (UniqueConstraint("participant_id", "trust_id", name="uq_trust_registration_participant_trust"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), index=True, nullable=False)
    registered_at: Mapped[datetime] = mapped_column(nullable=False)
    registered_by: Mapped[str] = mapped_column(String(200), nullable=False)


class Family(Base):
    """A family recruited together (rare disease): a proband and relatives."""

    __tablename__ = "family"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    proband_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    members: Mapped[list[FamilyMember]] = relationship(back_populates="family", cascade="all, delete-orphan",
                                                       lazy="selectin")


class FamilyMember(Base):
    """A participant's place in a family."""

    __tablename__ = "family_member"
    __table_args__ = (UniqueConstraint("family_id", "participant_id", name="uq_family_member_family_participant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), nullable=False, index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    #: Relationship to the proband: proband, mother, father, sibling, child, grandparent, other.
    relation: Mapped[str] = mapped_column(String(30), nullable=False)
    #: affected, unaffected or unknown.
    affected: Mapped[str] = mapped_column(String(12), nullable=False, default="unknown")

    family: Mapped[Family] = relationship(back_populates="members")
    participant: Mapped[Participant] = relationship(lazy="joined")


class Referral(Base):
    """A referral from a clinician at a trust into one programme arm."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False, index=True)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id"))
    referring_clinician: Mapped[str] = mapped_column(String(200), nullable=False)
    referral_date: Mapped[date] = mapped_column(Date, nullable=False)
    #: rare_disease or cancer.
    programme_arm: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The clinical indication: a rare condition or a cancer type.
    clinical_indication: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Rare disease: singleton, duo or trio as the condition requires.
    family_structure: Mapped[str | None] = mapped_column(String(20))
    prior_tests_completed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Cancer: a tumour sample and a matched germline sample are expected.
    tumour_sample_expected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    germline_sample_expected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: received, eligible, ineligible, withdrawn.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="received")
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    participant: Mapped[Participant] = relationship(back_populates="referrals")
    decisions: Mapped[list[EligibilityDecision]] = relationship(
        back_populates="referral", order_by="EligibilityDecision.decided_at", lazy="selectin"
    )


class EligibilityRuleSet(Base):
    """A versioned set of eligibility rules for one programme arm (conditions, cancer types, ...)."""

    __tablename__ = "eligibility_rule_set"
    __table_args__ = (UniqueConstraint("programme_arm", "version", name="uq_eligibility_rule_set_arm_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_arm: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The rules: approved conditions with required family structure, cancer types, sample needs.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class EligibilityDecision(Base):
    """An eligibility decision for a referral, with its reasons and the rule version used."""

    __tablename__ = "eligibility_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), nullable=False, index=True)
    eligible: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("eligibility_rule_set.id"), nullable=False)
    rule_version: Mapped[int] = mapped_column(Integer, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_by: Mapped[str] = mapped_column(String(200), nullable=False)

    referral: Mapped[Referral] = relationship(back_populates="decisions")


class ConsentForm(Base):
    """A versioned consent form and the choices it asks."""

    __tablename__ = "consent_form"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_consent_form_code_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The choice keys this form asks (taking_part, research_data, research_samples, ...).
    choices: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: adult, child (parent or guardian consents) or consultee.
    audience: Mapped[str] = mapped_column(String(20), nullable=False, default="adult")
    #: The programme arm the form is for (rare_disease, cancer), None for any arm.
    programme_arm: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Consent(Base):
    """A participant's consent on one form version: who gave it, when, and each choice."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("consent_form.id"), nullable=False)
    consented_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: participant, parent_guardian or consultee.
    given_by: Mapped[str] = mapped_column(String(20), nullable=False)
    given_by_name: Mapped[str | None] = mapped_column(String(200))
    #: choice key -> yes/no.
    choices: Mapped[dict[str, bool]] = mapped_column(JSON, nullable=False)
    #: active, superseded or withdrawn.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Withdrawal: no_further_contact or no_further_use.
    withdrawal_level: Mapped[str | None] = mapped_column(String(30))
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    #: A young person's assent beside a parent's consent: assented, declined or not_able (None: not asked).
    assent: Mapped[str | None] = mapped_column(String(20))
    #: Why a form that does not match the person (arm, unknown age) was accepted; None when it matched.
    fit_reason: Mapped[str | None] = mapped_column(Text)

    form: Mapped[ConsentForm] = relationship(lazy="joined")


class DuplicateCandidate(Base):
    """A likely same-person pair waiting for a human to confirm or reject."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (UniqueConstraint("participant_a_id", "participant_b_id", name="uq_duplicate_candidate_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_a_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    participant_b_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    band: Mapped[str] = mapped_column(String(20), nullable=False)
    #: Per-field comparison reasons from record linkage.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: open, merged or rejected.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()


class MergeRecord(Base):
    """A merge of one participant record into another, with what is needed to undo it."""

    __tablename__ = "merge_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    #: Rows moved from the merged record to the survivor, by table, so unmerge can move them back.
    moved: Mapped[dict[str, list[int]]] = mapped_column(JSON, nullable=False)
    #: The survivor's fields before the merge filled gaps from the merged record.
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    merged_at: Mapped[datetime] = mapped_column(nullable=False)
    merged_by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    unmerged_at: Mapped[datetime | None] = mapped_column()
    unmerged_by: Mapped[str | None] = mapped_column(String(200))


class Hl7MessageLog(Base):
    """An HL7 v2 message received: re-delivery of the same message is acknowledged, not re-applied."""

    __tablename__ = "hl7_message_log"
    __table_args__ = (UniqueConstraint("sending_facility", "control_id", name="uq_hl7_message_log_facility_control"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sending_facility: Mapped[str] = mapped_column(String(40), nullable=False)
    control_id: Mapped[str] = mapped_column(String(200), nullable=False)
    event: Mapped[str] = mapped_column(String(10), nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)
    #: What it did: created, linked, updated, merged.
    outcome: Mapped[str] = mapped_column(String(40), nullable=False)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))


class Case(Base):
    """The genomic test that answers a referral: a family (rare disease) or a tumour-normal pair (cancer)."""

    __tablename__ = "genomic_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme case id, safe to show and to pass to other features.
    case_id: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), unique=True, nullable=False)
    #: The person tested: the proband (rare disease) or the patient (cancer).
    proband_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id"))
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), index=True, nullable=False)
    #: rare_disease or cancer.
    programme_arm: Mapped[str] = mapped_column(String(20), nullable=False)
    #: open, sequencing, interpretation, review, reported, closed.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    referral: Mapped[Referral] = relationship(lazy="joined")


class LinkRequest(Base):
    """A registration that needs another scope's decision before it may touch an existing record.

    Made when a person being registered (by a user, an HL7 feed or a FHIR import) matches records the
    registering side may not see (another trust's or centre's), or when a feed meets a probable match it cannot
    decide alone. The registering side learns only which centre holds the candidates; that centre's staff see
    the person as entered and approve a link (the record is then registered at the requesting trust too) or
    reject it; the requesting side may then register the person as new.
    """

    __tablename__ = "link_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: pending, linked, rejected, registered_new or cancelled.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending", index=True)
    #: registration (a user), hl7 or fhir.
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The trust registering the person (the record is registered there when a link is approved).
    requesting_trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False, index=True)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False)
    #: The person as entered or received (demographics, hospital number): what the holding centre compares.
    person: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: The candidate records: [{"participant": pk, "band": ..., "score": ..., "reasons": [...]}].
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: True when a candidate has the same NHS number (the person cannot be registered as new).
    exact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The held HL7 message (sending facility and control id), when a feed made the request.
    message_ref: Mapped[str | None] = mapped_column(String(250))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    #: The record the person ended up in (linked or registered new).
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))


class Hl7Interface(Base):
    """A hospital's ADT feed: its sending facility (MSH-4) bound to one trust and to the API token it sends with.

    A message is applied only when its MSH-4 names a registered interface and it arrives with that interface's
    token (or from the command line, by an operator whose scope holds the trust); it then acts only on the
    patients registered at that trust.
    """

    __tablename__ = "hl7_interface"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: MSH-4 as the feed sends it (namespace id), upper-case.
    facility: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False, index=True)
    #: The only API token that may send this facility's messages (None: command line only).
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)


# Blocking keys follow every flush of a participant; registered wherever the schema is loaded.
from gmc.registry import blocking as _blocking  # noqa: E402, F401
