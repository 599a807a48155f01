"""Registry interoperability: HL7 v2 ADT in (A04, A08, A40) with ACK/NAK, FHIR R4 Patient and Consent
in and out, and bulk CSV import. Parsing lives in hl7_adt and fhir_io; this module applies them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.auth import scope
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow
from gmc.jobs.service import Progress, register_job_kind
from gmc.organisations.models import Trust
from gmc.registry import consent as consent_service
from gmc.registry import fhir_io, hl7_adt, repository, service
from gmc.registry.models import Consent, Hl7Interface, Hl7MessageLog, Participant

#: Consent forms are identified in FHIR Consent.policy by this prefix + code/version.
FORM_URI_PREFIX = "https://gmc.nhs.uk/consent-form/"


# ----------------------------------------------------------------------------- HL7 v2 ADT


@dataclass
class AdtOutcome:
    """What one ADT message did, and the acknowledgement to send back."""

    ack: str
    accepted: bool
    event: str | None = None
    outcome: str | None = None
    participant_id: str | None = None
    error: str | None = None
    #: The HTTP status that goes with the acknowledgement: 200 when accepted, else the cause's (400 for a message
    #: rejected outright, 403/404 for records outside the sender's trust, 409/422 for the data).
    status: int = 200


def _find_by_identifiers(session: Session, trust_id: int, nhs: str | None, hospital: list[str]) -> Participant | None:
    """The live participant registered at this trust that these identifiers name: a hospital number of the trust,
    or the NHS number of a patient registered there. A feed never reaches records of other trusts."""
    for number in hospital:
        found = repository.get_by_hospital_number(session, trust_id, number)
        if found is not None:
            return service.live_record(session, found)
    if nhs:
        for live in repository.get_by_nhs_number(session, nhs):
            if trust_id in repository.participant_trust_ids(session, live.id):
                return live
    return None


def _person(patient: hl7_adt.AdtPatient, trust_code: str) -> service.PersonInput:
    return service.PersonInput(
        family_name=patient.family_name, given_name=patient.given_name, date_of_birth=patient.date_of_birth,
        sex={"M": "male", "F": "female", "O": "other"}.get((patient.sex or "U").upper(), "unknown"),
        nhs_number=patient.nhs_number, postcode=patient.postcode, trust_code=trust_code,
        hospital_number=patient.hospital_numbers[0].value if patient.hospital_numbers else None)


def _apply_adt(session: Session, feed: Principal, msg: hl7_adt.AdtMessage, trust: Trust) -> tuple[str, Participant | None]:
    """Applies a message as the trust's feed (its scope is that trust alone)."""
    hospital = [h.value for h in msg.patient.hospital_numbers]
    if msg.event == "A04":
        reg = service.register_from_feed(session, principal=feed, person=_person(msg.patient, trust.code),
                                         source="hl7", message_ref=f"{msg.sending_facility}:{msg.message_control_id}")
        if reg.link_request is not None:
            # A feed cannot ask a person: a probable match, or a record of another trust, waits for a human.
            return f"held for review (link request {reg.link_request.id})", None
        return ("created" if reg.created else "linked"), reg.participant
    if msg.event == "A08":
        existing = _find_by_identifiers(session, trust.id, msg.patient.nhs_number, hospital)
        if existing is None:
            raise NotFound(f"no patient with these identifiers is registered at {trust.code}: an A08 updates only "
                           "that trust's patients (send an A04 to register)", field="hospital_number")
        person = _person(msg.patient, trust.code)
        changes = {k: v for k, v in {"family_name": person.family_name, "given_name": person.given_name,
                                     "date_of_birth": person.date_of_birth, "sex": person.sex,
                                     "nhs_number": person.nhs_number, "postcode": person.postcode,
                                     "date_of_death": msg.patient.date_of_death}.items() if v not in (None, "", "unknown")}
        service.update_participant(session, principal=feed, participant=existing, changes=changes)
        service.register_person(session, principal=feed, person=person, decision=f"link:{existing.participant_id}")
        return "updated", existing
    if msg.event == "A40":
        return _apply_merge(session, feed, msg, trust)
    raise hl7_adt.Hl7Error(f"event {msg.event} is not supported (A04, A08, A40 are)", segment="MSH", field=9,
                           code=201, reject=True)


def _apply_merge(session: Session, feed: Principal, msg: hl7_adt.AdtMessage, trust: Trust) -> tuple[str, Participant]:
    """A40: MRG-1 names the record merged away (the loser), PID-3 the survivor. PID-3 often repeats the old
    hospital number beside the new one, so identifiers also in MRG-1 never pick the survivor."""
    if msg.merge is None:
        raise hl7_adt.Hl7Error("A40 needs an MRG segment", segment="MRG", code=100)
    prior_numbers = [h.value for h in msg.merge.prior_hospital_numbers]
    prior = _find_by_identifiers(session, trust.id, msg.merge.prior_nhs_number, prior_numbers)
    survivor_numbers = [h.value for h in msg.patient.hospital_numbers if h.value not in prior_numbers]
    survivor_nhs = msg.patient.nhs_number if msg.patient.nhs_number != msg.merge.prior_nhs_number else None
    survivor = _find_by_identifiers(session, trust.id, survivor_nhs, survivor_numbers)
    if prior is None:
        raise hl7_adt.Hl7Error(f"the prior patient in MRG-1 is not registered at {trust.code}", segment="MRG",
                               field=1, code=204)
    if survivor is None:
        raise hl7_adt.Hl7Error(f"the surviving patient in PID-3 (identifiers other than MRG-1's) is not registered at "
                               f"{trust.code}", segment="PID", field=3, code=204)
    if survivor.id == prior.id:
        if _already_merged(session, survivor, trust.id, prior_numbers):
            return "already merged", survivor
        raise hl7_adt.Hl7Error("PID-3 and MRG-1 name the same record: nothing to merge", segment="MRG", field=1,
                               code=204)
    service.merge(session, principal=feed, survivor=survivor, merged=prior,
                  reason=f"HL7 A40 from {trust.code} ({msg.message_control_id})")
    return "merged", survivor


def _already_merged(session: Session, survivor: Participant, trust_id: int, numbers: list[str]) -> bool:
    """True when a merge into the survivor (not undone) moved one of these hospital numbers to it."""
    moved_here = {h.id for h in survivor.hospital_numbers if h.trust_id == trust_id and h.number in numbers}
    return any(row.survivor_id == survivor.id and row.unmerged_at is None
               and moved_here & set(row.moved.get("hospital_number", []))
               for row in repository.merges_of(session, survivor.id))


def repository_trust(session: Session, code: str):  # noqa: ANN201
    """The trust with this ODS code (NotFound otherwise)."""
    from gmc.organisations import service as org_service

    return org_service.require_trust(session, code)


def register_interface(session: Session, *, principal: Principal, facility: str, trust_code: str, username: str,
                       days: int = 90) -> tuple[Hl7Interface, str]:
    """Binds a sending facility to a trust and to a new API token of a service user; returns the token, shown once.

    The admin must administer the user, and the user must work for the trust with participant:write."""
    from gmc.auth import repository as auth_repository
    from gmc.auth import scope
    from gmc.auth.permissions import Permission
    from gmc.auth.service import create_token, principal_for

    name = (facility or "").strip().upper()
    if not name or len(name) > 40 or "^" in name or "|" in name:
        raise ValidationFailed("the facility is MSH-4's namespace id (up to 40 characters)", field="facility")
    trust = repository_trust(session, (trust_code or "").strip().upper())
    scope.require_trust(principal, trust.id, what=f"trust {trust.code}")
    user = auth_repository.get_user_by_username(session, (username or "").strip().lower())
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    scope.require_manageable_user(principal, user)
    sender = principal_for(session, user, auth_method="token")
    if not sender.has(Permission.PARTICIPANT_WRITE) or not sender.can_see_trust(trust.id):
        raise ValidationFailed(f"user {user.username} must register participants at {trust.code} (participant:write "
                               "there) to send its feed", field="username")
    existing = session.execute(select(Hl7Interface).where(Hl7Interface.facility == name)).scalar_one_or_none()
    token, secret = create_token(session, actor=principal.actor, user=user, name=f"HL7 feed {name}", days=days)
    if existing is None:
        existing = Hl7Interface(facility=name, trust_id=trust.id, created_at=utcnow(), created_by=principal.actor.name)
        session.add(existing)
    else:
        scope.require_trust(principal, existing.trust_id, what=f"facility {name}'s trust")
    existing.trust_id, existing.token_id, existing.active = trust.id, token.id, True
    session.flush()
    from gmc.audit.service import record
    from gmc.audit.verbs import AuditVerb

    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="hl7_interface", entity_id=existing.id,
           trust_id=trust.id, summary={"facility": name, "trust": trust.code, "user": user.username,
                                       "token": token.prefix})
    return existing, secret


def interfaces_for(session: Session, principal: Principal) -> list[Hl7Interface]:
    """The HL7 interfaces of the caller's trusts."""
    rows = session.execute(select(Hl7Interface).order_by(Hl7Interface.facility)).scalars()
    return [r for r in rows if principal.can_see_trust(r.trust_id)]


class FeedRefused(DomainError):
    """The message's sending facility is not a registered interface, or the caller may not send as it."""

    status_code = 403


def feed_principal(session: Session, principal: Principal, facility: str) -> tuple[Principal, Trust]:
    """The caller narrowed to the trust a sending facility is bound to, after checking the caller may send as it:
    the interface's own API token, or an operator at the command line whose scope holds the trust."""
    from dataclasses import replace

    interface = session.execute(select(Hl7Interface).where(Hl7Interface.facility == facility,
                                                           Hl7Interface.active)).scalar_one_or_none()
    if interface is None:
        raise FeedRefused(f"sending facility {facility!r} is not a registered HL7 interface of gmc (an admin binds a "
                          "facility to its trust: gmc registry hl7-interface)")
    trust = session.get(Trust, interface.trust_id)
    assert trust is not None
    if principal.auth_method == "token":
        if principal.token_id is None or principal.token_id != interface.token_id:
            raise FeedRefused(f"this API token does not send for facility {facility}: each feed uses its interface's "
                              "own token")
    elif principal.auth_method != "cli":
        raise FeedRefused("HL7 feeds send with their interface's API token")
    if not principal.can_see_trust(trust.id):
        raise FeedRefused(f"facility {facility}'s trust {trust.code} is outside your trusts")
    return replace(principal, trust_scope=frozenset({trust.id}), centre_id=trust.centre_id, centre_wide=False), trust


def process_adt(session: Session, *, principal: Principal, text: str | bytes) -> AdtOutcome:
    """Applies one ADT message in a savepoint and answers ACK (AA) or NAK (AE/AR); a NAK changes nothing.

    The sending facility (MSH-4) must be a registered interface the caller may send as; the message then acts only
    on patients registered at the interface's trust."""
    try:
        msg = hl7_adt.parse_adt(text)
    except hl7_adt.Hl7Error as exc:
        return AdtOutcome(hl7_adt.build_ack(text, exc), False, error=str(exc), status=400 if exc.reject else 422)
    facility = msg.sending_facility.split("^")[0].strip().upper()
    try:
        feed, trust = feed_principal(session, principal, facility)
    except FeedRefused as exc:
        error = hl7_adt.Hl7Error(exc.message, segment="MSH", field=4, code=204, reject=True)
        return AdtOutcome(hl7_adt.build_ack(msg, error), False, msg.event, error=str(error), status=403)
    logged = session.execute(select(Hl7MessageLog).where(Hl7MessageLog.sending_facility == facility,
                                                         Hl7MessageLog.control_id == msg.message_control_id)).scalar_one_or_none()
    if logged is not None:
        participant = session.get(Participant, logged.participant_id) if logged.participant_id else None
        return AdtOutcome(hl7_adt.build_ack(msg), True, msg.event, f"duplicate of an earlier message ({logged.outcome})",
                          participant.participant_id if participant else None)
    try:
        with session.begin_nested():
            outcome, participant = _apply_adt(session, feed, msg, trust)
            session.add(Hl7MessageLog(sending_facility=facility, control_id=msg.message_control_id, event=msg.event,
                                      received_at=utcnow(), outcome=outcome,
                                      participant_id=participant.id if participant else None))
            session.flush()
    except hl7_adt.Hl7Error as exc:
        return AdtOutcome(hl7_adt.build_ack(msg, exc), False, msg.event, error=str(exc),
                          status=400 if exc.reject else 422)
    except DomainError as exc:
        segment, number = ("PID", {"nhs_number": 3, "hospital_number": 3, "family_name": 5, "given_name": 5,
                                   "date_of_birth": 7, "sex": 8, "postcode": 11}.get(exc.field or "", None))
        error = hl7_adt.Hl7Error(exc.message, segment=segment if number else None, field=number,
                                 code=207 if exc.status_code != 422 else 102)
        return AdtOutcome(hl7_adt.build_ack(msg, error), False, msg.event, error=str(error), status=exc.status_code)
    return AdtOutcome(hl7_adt.build_ack(msg), True, msg.event, outcome,
                      participant.participant_id if participant else None)


def process_adt_batch(session: Session, *, principal: Principal, text: str | bytes,
                      progress: Progress | None = None) -> list[AdtOutcome]:
    """Applies every message of a file (MLLP-framed or separated by blank lines), each acknowledged."""
    messages = hl7_adt.split_messages(text)
    outcomes = []
    for done, message in enumerate(messages, start=1):
        outcomes.append(process_adt(session, principal=principal, text=message))
        if progress is not None:
            progress("applying", done, len(messages))
    return outcomes


class Hl7BatchRefused(ValidationFailed):
    """A batch of ADT messages with at least one refused: nothing is applied; every refusal is listed."""

    def __init__(self, outcomes: list[AdtOutcome]) -> None:
        self.problems = [{"message": n, "event": o.event, "status": o.status, "detail": o.error, "ack": o.ack}
                         for n, o in enumerate(outcomes, start=1) if not o.accepted]
        first = self.problems[0]
        super().__init__(f"{len(self.problems)} of {len(outcomes)} message(s) refused; nothing was applied. "
                         f"First: message {first['message']}: {first['detail']}", field="message",
                         line=first["message"])
        statuses = {p["status"] for p in self.problems}
        # One cause for every refusal (e.g. a token that may not send for the facility) is the answer's status.
        self.status_code = statuses.pop() if len(statuses) == 1 else 422

    def to_dict(self) -> dict[str, object]:
        """The error with every refused message and its NAK."""
        return {**super().to_dict(), "problems": self.problems}


def apply_adt_batch(session: Session, *, principal: Principal, text: str | bytes,
                    progress: Progress | None = None) -> dict[str, Any]:
    """Applies a batch of ADT messages all or nothing (a refused one refuses the batch: the caller's transaction
    rolls back); safe to repeat, since a message already applied (same facility and control id) is acknowledged
    as a duplicate."""
    outcomes = process_adt_batch(session, principal=principal, text=text, progress=progress)
    if not outcomes:
        raise ValidationFailed("no HL7 message in the batch (each begins with an MSH segment)", field="message")
    if not all(o.accepted for o in outcomes):
        raise Hl7BatchRefused(outcomes)
    return {"messages": len(outcomes), "accepted": len(outcomes),
            "outcomes": [{"message": n, "event": o.event, "outcome": o.outcome, "participant_id": o.participant_id}
                         for n, o in enumerate(outcomes, start=1)],
            "acks": [o.ack for o in outcomes]}


def adt_batch_job(session: Session, principal: Principal, data: bytes, source: str,
                  progress: Progress) -> dict[str, Any]:
    """The HL7 batch as a background job: the same all-or-nothing apply; counts and outcomes as its result."""
    principal.require(Permission.PARTICIPANT_WRITE)
    result = apply_adt_batch(session, principal=principal, text=data, progress=progress)
    return {k: v for k, v in result.items() if k != "acks"}


register_job_kind("registry.hl7_batch", "HL7 ADT batch", adt_batch_job)


# ----------------------------------------------------------------------------- FHIR


def form_uri(code: str, version: str) -> str:
    """The policy URI naming a consent form version in FHIR."""
    return f"{FORM_URI_PREFIX}{code}/{version}"


def patient_resource(session: Session, participant: Participant) -> dict[str, Any]:
    """A FHIR R4 Patient for a participant (merged records link to their survivor)."""
    from gmc.organisations.models import Trust

    codes = {t.id: t.code for t in session.query(Trust).all()}
    links: tuple[fhir_io.PatientLink, ...] = ()
    if participant.merged_into_id is not None:
        survivor = session.get(Participant, participant.merged_into_id)
        links = (fhir_io.PatientLink(survivor.participant_id, "replaced-by"),)
    data = fhir_io.PatientData(
        id=participant.participant_id, nhs_number=participant.nhs_number, family_name=participant.family_name,
        given_names=(participant.given_name,),
        hospital_numbers=tuple(fhir_io.HospitalNumber(codes[h.trust_id], h.number) for h in participant.hospital_numbers),
        gender=participant.sex, birth_date=participant.date_of_birth, postcode=participant.postcode,
        active=participant.merged_into_id is None, links=links)
    return fhir_io.patient_to_fhir(data)


def consent_resources(session: Session, participant: Participant) -> list[dict[str, Any]]:
    """FHIR R4 Consent resources for each of the participant's consents, in their state: active; inactive
    (superseded, or withdrawn from further contact); rejected (withdrawn from any further use). A withdrawal's
    level and date travel in the consent-withdrawal extension, and the patient's NHS number in Consent.patient, so
    another system restores the same state."""
    from datetime import UTC, datetime

    out = []
    for c in consent_service.consents_of(session, participant.id):
        status = {"active": "active", "superseded": "inactive", "withdrawn": "inactive"}[c.status]
        if c.status == "withdrawn" and c.withdrawal_level == "no_further_use":
            status = "rejected"
        consenter = (f"Patient/{participant.participant_id}" if c.given_by == "participant"
                     else f"RelatedPerson/{c.given_by}")
        withdrawn_at = c.withdrawn_at.replace(tzinfo=UTC) if c.withdrawn_at and c.withdrawn_at.tzinfo is None \
            else c.withdrawn_at
        out.append(fhir_io.consent_to_fhir(fhir_io.ConsentData(
            id=f"{participant.participant_id}-consent-{c.id}", status=status, scope="research",
            patient_id=participant.participant_id, patient_nhs_number=participant.nhs_number,
            date_time=datetime(c.consented_on.year, c.consented_on.month, c.consented_on.day, tzinfo=UTC),
            form_uri=form_uri(c.form.code, c.form.version),
            choices=tuple(fhir_io.ConsentChoice(k, v) for k, v in sorted(c.choices.items())), consenter=consenter,
            withdrawal_level=c.withdrawal_level if c.withdrawal_level else None,
            withdrawn_at=withdrawn_at if c.withdrawal_level else None,
            identifiers=((fhir_io.CONSENT_ID_SYSTEM, f"{participant.participant_id}-consent-{c.id}"),))))
    return out


def import_patient(session: Session, *, principal: Principal, resource: dict[str, Any] | str | bytes,
                   trust_code: str | None = None, decision: str = "check") -> service.Registration:
    """Registers (or links) the person a FHIR Patient describes; invalid resources name the field."""
    try:
        data = fhir_io.patient_from_fhir(resource)
    except fhir_io.FhirError as exc:
        raise ValidationFailed(str(exc), field="Patient") from exc
    trust = trust_code or (data.hospital_numbers[0].trust_code if data.hospital_numbers else None)
    hospital = next((h.value for h in data.hospital_numbers if h.trust_code == trust), None)
    person = service.PersonInput(
        family_name=data.family_name, given_name=" ".join(data.given_names) or "", date_of_birth=data.birth_date,
        sex=data.gender or "unknown", nhs_number=data.nhs_number, postcode=data.postcode, trust_code=trust,
        hospital_number=hospital)
    return service.register_person(session, principal=principal, person=person, decision=decision)


def _consent_patient(session: Session, principal: Principal, data: fhir_io.ConsentData,
                     patients: dict[str, Participant] | None) -> Participant:
    """The participant a Consent is about: the Patient of the same Bundle it points at, else the live record with
    its NHS number (Consent.patient.identifier) within the caller's scope, else a participant id of this system."""
    if patients and data.patient_id in patients:
        return patients[data.patient_id]
    if data.patient_nhs_number:
        for live in repository.get_by_nhs_number(session, data.patient_nhs_number):
            if scope.sees_any(principal, service.holding_trusts(session, live)):
                return live
        raise NotFound("no participant with the Consent's NHS number at your trusts (import the Patient first)",
                       field="Consent.patient")
    return service.view_participant(session, principal=principal, participant_id=data.patient_id, audit=False)


#: FHIR Consent.status -> the state gmc keeps (None: not a decision gmc records).
_CONSENT_STATES = {"active": "active", "inactive": "superseded", "rejected": "withdrawn"}


def import_consent(session: Session, *, principal: Principal, resource: dict[str, Any] | str | bytes,
                   patients: dict[str, Participant] | None = None) -> tuple[Consent, bool]:
    """Brings in the consent a FHIR Consent describes, in its state (active, inactive = history, or withdrawn by
    the withdrawal extension or status rejected), on the form its policy URI names; idempotent (returns the
    consent and whether anything changed) and never undoes a withdrawal."""
    try:
        data = fhir_io.consent_from_fhir(resource)
    except fhir_io.FhirError as exc:
        raise ValidationFailed(str(exc), field="Consent") from exc
    state = _CONSENT_STATES.get(data.status)
    if state is None:
        raise ValidationFailed(f"Consent.status {data.status!r} is not a consent decision gmc records (active, "
                               "inactive or rejected)", field="Consent.status")
    if data.withdrawal_level:
        state = "withdrawn"
    participant = _consent_patient(session, principal, data, patients)
    service.require_participant(session, principal, participant)
    if not data.form_uri or not data.form_uri.startswith(FORM_URI_PREFIX):
        raise ValidationFailed(f"Consent.policy.uri must name a gmc consent form ({FORM_URI_PREFIX}CODE/VERSION)",
                               field="Consent.policy")
    code, _, version = data.form_uri.removeprefix(FORM_URI_PREFIX).partition("/")
    service.ensure_consent_forms(session)
    form = service.require_form(session, code, version)
    consented_on = data.date_time.date() if data.date_time else date.today()
    given_by = "participant"
    if data.consenter and data.consenter.startswith("RelatedPerson/"):
        given_by = data.consenter.removeprefix("RelatedPerson/")
        if given_by not in consent_service.GIVEN_BY:
            given_by = "parent_guardian"
    choices = {c.code: c.permit for c in data.choices}
    if state == "active":
        missing = [c for c in form.choices if c not in choices]
        if missing:
            raise ValidationFailed(f"Consent.provision: every choice of form {code} v{version} must be answered; "
                                   f"missing {', '.join(missing)}", field="Consent.provision")
    return consent_service.import_consent_state(
        session, actor=principal.actor, participant=participant, form=form, consented_on=consented_on,
        given_by=given_by, given_by_name=None if given_by == "participant" else "as recorded in FHIR",
        choices=choices, state=state, withdrawal_level=data.withdrawal_level, withdrawn_at=data.withdrawn_at,
        trust_id=service.audit_trust(session, participant))


@dataclass
class BundleImport:
    """What importing a FHIR Bundle did, resource by resource."""

    lines: list[str] = field(default_factory=list)
    created: int = 0
    linked: int = 0
    consents_added: int = 0
    consents_unchanged: int = 0
    link_requests: int = 0


def import_bundle(session: Session, *, principal: Principal, document: dict[str, Any] | str | bytes,
                  trust_code: str | None = None, decision: str = "check",
                  progress: Progress | None = None) -> BundleImport:
    """Imports a FHIR Bundle (or one Patient or Consent): Patients first, matched by NHS number and identifiers
    (registered or linked), then their Consents in state. Safe to repeat; any error refuses the whole Bundle (the
    caller's transaction rolls back)."""
    import json

    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"not JSON: {exc}", field="Bundle") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("expected a FHIR resource (a JSON object)", field="Bundle")
    resources = ([e.get("resource") or {} for e in document.get("entry", [])]
                 if document.get("resourceType") == "Bundle" else [document])
    out = BundleImport()
    patients: dict[str, Participant] = {}
    for i, resource in enumerate(resources):
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in ("Patient", "Consent"):
            raise ValidationFailed(f"entry {i} is a {kind}, not a Patient or Consent", field=f"entry[{i}]")
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("importing", done, len(resources))

    for i, resource in enumerate(r for r in resources if r.get("resourceType") == "Patient"):
        reg = import_patient(session, principal=principal, resource=resource, trust_code=trust_code, decision=decision)
        name = resource.get("id", i)
        if reg.link_request is not None:
            out.link_requests += 1
            out.lines.append(f"Patient {name}: held elsewhere; link request {reg.link_request.id} sent")
            step()
            continue
        assert reg.participant is not None
        if resource.get("id"):
            patients[str(resource["id"])] = reg.participant
        out.created += reg.created
        out.linked += not reg.created
        out.lines.append(f"Patient {name}: {'created' if reg.created else 'linked'} {reg.participant.participant_id}")
        step()
    for i, resource in enumerate(r for r in resources if r.get("resourceType") == "Consent"):
        consent, changed = import_consent(session, principal=principal, resource=resource, patients=patients)
        out.consents_added += changed
        out.consents_unchanged += not changed
        out.lines.append(f"Consent {resource.get('id', i)}: {'recorded' if changed else 'already held, unchanged'} "
                         f"({consent.status}{' ' + consent.withdrawal_level if consent.withdrawal_level else ''})")
        step()
    return out


def bundle_result(result: BundleImport) -> dict[str, Any]:
    """What a FHIR import did, as the API answers it (and a job records it)."""
    return {"created": result.created, "linked": result.linked, "consents_added": result.consents_added,
            "consents_unchanged": result.consents_unchanged, "link_requests": result.link_requests,
            "lines": result.lines}


def import_bundle_job(session: Session, principal: Principal, data: bytes, source: str, progress: Progress, *,
                      trust_code: str | None = None, decision: str = "check") -> dict[str, Any]:
    """The FHIR Bundle import as a background job: the same all-or-nothing import in the job's transaction."""
    principal.require(Permission.PARTICIPANT_WRITE)
    principal.require(Permission.CONSENT_WRITE)
    return bundle_result(import_bundle(session, principal=principal, document=data, trust_code=trust_code,
                                       decision=decision, progress=progress))


register_job_kind("registry.fhir_bundle", "FHIR Bundle import", import_bundle_job)


# ----------------------------------------------------------------------------- CSV import


CSV_COLUMNS = ("family_name", "given_name", "date_of_birth", "sex", "nhs_number", "postcode", "trust_code",
               "hospital_number")


@dataclass
class CsvImportReport:
    """The row-by-row result of a bulk import: every problem, or what was done."""

    rows: int = 0
    created: int = 0
    linked: int = 0
    worklisted: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row was valid (and so the import was applied)."""
        return not self.problems


class CsvImportFailed(ValidationFailed):
    """A bulk import with at least one bad row: nothing is imported; every problem is listed."""

    def __init__(self, report: CsvImportReport) -> None:
        first = report.problems[0]
        super().__init__(f"{len(report.problems)} problem(s); nothing was imported. First: {first['message']}",
                         field=first.get("field"), line=first.get("line"))
        self.report = report
        if any(p.get("status") == 403 for p in report.problems):
            # A file registering people at a trust outside the caller's scope is refused as a whole (403).
            self.status_code = 403

    def to_dict(self) -> dict[str, object]:
        """The error with every row problem."""
        return {**super().to_dict(), "problems": self.report.problems}


def decode_csv(data: str | bytes) -> str:
    """CSV bytes as text: UTF-8 (a byte-order mark is dropped); bytes that are not UTF-8 are kept as surrogates so
    the row holding them is reported by line like any other bad row, instead of refusing the file unread."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def _not_utf8(values: list[str | None]) -> str | None:
    """The first undecodable byte in a row's values, shown as hex, or None."""
    for value in values:
        for ch in value or "":
            if "\udc80" <= ch <= "\udcff":
                return f"0x{ord(ch) - 0xDC00:02X}"
    return None


def import_csv(session: Session, *, principal: Principal, text: str | bytes, source: str = "upload.csv",
               progress: Progress | None = None) -> CsvImportReport:
    """Imports participant rows all-or-nothing: raises CsvImportFailed listing every bad row (the caller's
    transaction then rolls back whatever was written). progress(phase, done, total) is told of each row."""
    report = _import_csv(session, principal=principal, text=decode_csv(text), source=source, progress=progress)
    if report.problems:
        raise CsvImportFailed(report)
    return report


def _import_csv(session: Session, *, principal: Principal, text: str, source: str,
                progress: Progress | None) -> CsvImportReport:
    report = CsvImportReport()
    total = _count_records(text) if progress is not None else 0
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        report.problems.append({"line": 1, "field": None, "message": f"{source} line 1: {exc}"})
        return report
    bad_header = _not_utf8(list(header))
    if bad_header:
        report.problems.append({"line": 1, "field": None, "message": f"{source} line 1: the header is not UTF-8 text "
                                f"(byte {bad_header}); save the file as UTF-8"})
        return report
    missing = [c for c in ("family_name", "given_name", "trust_code") if c not in (reader.fieldnames or [])]
    if missing:
        report.problems.append({"line": 1, "field": missing[0], "message": f"{source}: missing column(s) "
                                + ", ".join(missing)})
        return report
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        report.problems.append({"line": 1, "field": unknown[0], "message": f"{source}: unknown column(s) "
                                + ", ".join(unknown) + f"; expected {', '.join(CSV_COLUMNS)}"})
        return report
    people: list[tuple[int, service.PersonInput]] = []
    width = len(reader.fieldnames or [])
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            report.problems.append({"line": reader.line_num, "field": None,
                                    "message": f"{source} line {reader.line_num}: {exc}"})
            break
        report.rows += 1
        line = reader.line_num
        if progress is not None:
            progress("checking", report.rows - 1, total)
        extra = row.pop(None, None)
        if extra is not None or any(v is None for v in row.values()):
            found = width + len(extra or []) - sum(v is None for v in row.values())
            report.problems.append({"line": line, "field": None, "message": f"{source} line {line}: {found} fields, "
                                    f"the header has {width}"})
            continue
        undecodable = _not_utf8(list(row.values()))
        if undecodable:
            report.problems.append({"line": line, "field": None, "message": f"{source} line {line}: not UTF-8 text "
                                    f"(byte {undecodable}); save the file as UTF-8"})
            continue
        try:
            born = row.get("date_of_birth", "").strip()
            try:
                dob = date.fromisoformat(born) if born else None
            except ValueError as exc:
                raise ValidationFailed(f"{born!r} is not a date (YYYY-MM-DD)", field="date_of_birth") from exc
            person = service.clean_person(service.PersonInput(
                row.get("family_name", ""), row.get("given_name", ""), dob, row.get("sex") or "unknown",
                row.get("nhs_number") or None, row.get("postcode") or None, row.get("trust_code") or None,
                row.get("hospital_number") or None))
            trust = repository_trust(session, person.trust_code or "")
            if not principal.can_see_trust(trust.id):
                raise PermissionDenied(f"trust {trust.code} is outside your trusts", field="trust_code")
            people.append((line, person))
        except DomainError as exc:
            report.problems.append({"line": line, "field": exc.field, "message": f"{source} line {line}: {exc.message}",
                                    "status": exc.status_code})
    if report.problems:
        return report
    for done, (line, person) in enumerate(people):
        if progress is not None:
            progress("importing", done, len(people))
        try:
            reg = service.register_person(session, principal=principal, person=person, decision="new")
        except DomainError as exc:
            report.problems.append({"line": line, "field": exc.field, "message": f"{source} line {line}: {exc.message}"})
            continue
        report.created += reg.created
        report.linked += not reg.created
        report.worklisted += bool(reg.created and reg.candidates)
    if progress is not None:
        progress("importing", len(people), len(people))
    return report


def _count_records(text: str) -> int:
    """Data rows of a CSV (quoted fields may span lines, so the csv module counts them); 0 when it cannot tell."""
    try:
        return max(sum(1 for _ in csv.reader(io.StringIO(text))) - 1, 0)
    except csv.Error:  # the import itself reads the file again and reports where it breaks
        return 0


def import_csv_job(session: Session, principal: Principal, data: bytes, source: str,
                   progress: Progress) -> dict[str, int]:
    """The participant CSV import as a background job: the same checks, one transaction, counts as its result."""
    principal.require(Permission.PARTICIPANT_WRITE)
    report = import_csv(session, principal=principal, text=data, source=source, progress=progress)
    return {"rows": report.rows, "created": report.created, "linked": report.linked,
            "worklisted": report.worklisted}


register_job_kind("registry.participants_csv", "Participant CSV import", import_csv_job)
