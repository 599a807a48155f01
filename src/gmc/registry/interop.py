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

from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, NotFound, ValidationFailed
from gmc.common.time import utcnow
from gmc.jobs.service import Progress, register_job_kind
from gmc.registry import consent as consent_service
from gmc.registry import fhir_io, hl7_adt, repository, service
from gmc.registry.models import Consent, Hl7MessageLog, Participant

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


def _find_by_identifiers(session: Session, trust_id: int, nhs: str | None, hospital: list[str]) -> Participant | None:
    for number in hospital:
        found = repository.get_by_hospital_number(session, trust_id, number)
        if found is not None:
            return found
    if nhs:
        live = repository.get_by_nhs_number(session, nhs)
        if live:
            return live[0]
    return None


def _person(patient: hl7_adt.AdtPatient, trust_code: str) -> service.PersonInput:
    return service.PersonInput(
        family_name=patient.family_name, given_name=patient.given_name, date_of_birth=patient.date_of_birth,
        sex={"M": "male", "F": "female", "O": "other"}.get((patient.sex or "U").upper(), "unknown"),
        nhs_number=patient.nhs_number, postcode=patient.postcode, trust_code=trust_code,
        hospital_number=patient.hospital_numbers[0].value if patient.hospital_numbers else None)


def _apply_adt(session: Session, principal: Principal, msg: hl7_adt.AdtMessage) -> tuple[str, Participant]:
    trust_code = msg.sending_facility.split("^")[0].strip().upper()
    try:
        trust = repository_trust(session, trust_code)
    except NotFound as exc:
        raise hl7_adt.Hl7Error(f"sending facility {trust_code!r} is not a known trust ODS code", segment="MSH",
                               field=4, code=204) from exc
    principal.require_trust(trust.id)
    hospital = [h.value for h in msg.patient.hospital_numbers]
    existing = _find_by_identifiers(session, trust.id, msg.patient.nhs_number, hospital)
    if msg.event == "A04" or (msg.event == "A08" and existing is None):
        # An interface cannot ask a person: possible matches are created and put on the duplicate worklist.
        reg = service.register_person(session, principal=principal, person=_person(msg.patient, trust.code),
                                      decision="new" if existing is None else f"link:{existing.participant_id}")
        return ("created" if reg.created else "linked"), reg.participant
    if msg.event == "A08":
        assert existing is not None
        person = _person(msg.patient, trust.code)
        changes = {k: v for k, v in {"family_name": person.family_name, "given_name": person.given_name,
                                     "date_of_birth": person.date_of_birth, "sex": person.sex,
                                     "nhs_number": person.nhs_number, "postcode": person.postcode,
                                     "date_of_death": msg.patient.date_of_death}.items() if v not in (None, "", "unknown")}
        service.update_participant(session, principal=principal, participant=existing, changes=changes)
        service.register_person(session, principal=principal, person=person, decision=f"link:{existing.participant_id}")
        return "updated", existing
    if msg.event == "A40":
        if msg.merge is None:
            raise hl7_adt.Hl7Error("A40 needs an MRG segment", segment="MRG", code=100)
        if existing is None:
            raise hl7_adt.Hl7Error("the surviving patient in PID is not registered", segment="PID", field=3, code=204)
        prior = _find_by_identifiers(session, trust.id, msg.merge.prior_nhs_number,
                                     [h.value for h in msg.merge.prior_hospital_numbers])
        if prior is None:
            raise hl7_adt.Hl7Error("the prior patient in MRG is not registered", segment="MRG", field=1, code=204)
        if prior.id == existing.id:
            return "already merged", existing
        service.merge(session, principal=principal, survivor=existing, merged=prior,
                      reason=f"HL7 A40 from {trust.code} ({msg.message_control_id})")
        return "merged", existing
    raise hl7_adt.Hl7Error(f"event {msg.event} is not supported (A04, A08, A40 are)", segment="MSH", field=9,
                           code=201, reject=True)


def repository_trust(session: Session, code: str):  # noqa: ANN201
    """The trust with this ODS code (NotFound otherwise)."""
    from gmc.organisations import service as org_service

    return org_service.require_trust(session, code)


def process_adt(session: Session, *, principal: Principal, text: str | bytes) -> AdtOutcome:
    """Applies one ADT message in a savepoint and answers ACK (AA) or NAK (AE/AR); a NAK changes nothing."""
    try:
        msg = hl7_adt.parse_adt(text)
    except hl7_adt.Hl7Error as exc:
        return AdtOutcome(hl7_adt.build_ack(text, exc), False, error=str(exc))
    facility = msg.sending_facility.split("^")[0].strip().upper()
    logged = session.execute(select(Hl7MessageLog).where(Hl7MessageLog.sending_facility == facility,
                                                         Hl7MessageLog.control_id == msg.message_control_id)).scalar_one_or_none()
    if logged is not None:
        participant = session.get(Participant, logged.participant_id) if logged.participant_id else None
        return AdtOutcome(hl7_adt.build_ack(msg), True, msg.event, f"duplicate of an earlier message ({logged.outcome})",
                          participant.participant_id if participant else None)
    try:
        with session.begin_nested():
            outcome, participant = _apply_adt(session, principal, msg)
            session.add(Hl7MessageLog(sending_facility=facility, control_id=msg.message_control_id, event=msg.event,
                                      received_at=utcnow(), outcome=outcome, participant_id=participant.id))
            session.flush()
    except hl7_adt.Hl7Error as exc:
        return AdtOutcome(hl7_adt.build_ack(msg, exc), False, msg.event, error=str(exc))
    except DomainError as exc:
        segment, number = ("PID", {"nhs_number": 3, "hospital_number": 3, "family_name": 5, "given_name": 5,
                                   "date_of_birth": 7, "sex": 8, "postcode": 11}.get(exc.field or "", None))
        error = hl7_adt.Hl7Error(exc.message, segment=segment if number else None, field=number,
                                 code=207 if exc.status_code != 422 else 102)
        return AdtOutcome(hl7_adt.build_ack(msg, error), False, msg.event, error=str(error))
    return AdtOutcome(hl7_adt.build_ack(msg), True, msg.event, outcome, participant.participant_id)


def process_adt_batch(session: Session, *, principal: Principal, text: str | bytes) -> list[AdtOutcome]:
    """Applies every message of a file (MLLP-framed or separated by blank lines), each acknowledged."""
    return [process_adt(session, principal=principal, text=m) for m in hl7_adt.split_messages(text)]


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
    """FHIR R4 Consent resources for each of the participant's consents."""
    out = []
    for c in consent_service.consents_of(session, participant.id):
        status = {"active": "active", "superseded": "inactive", "withdrawn": "inactive"}[c.status]
        if c.status == "withdrawn" and c.withdrawal_level == "no_further_use":
            status = "rejected"
        consenter = (f"Patient/{participant.participant_id}" if c.given_by == "participant"
                     else f"RelatedPerson/{c.given_by}")
        from datetime import UTC, datetime

        out.append(fhir_io.consent_to_fhir(fhir_io.ConsentData(
            id=f"{participant.participant_id}-consent-{c.id}", status=status, scope="research",
            patient_id=participant.participant_id,
            date_time=datetime(c.consented_on.year, c.consented_on.month, c.consented_on.day, tzinfo=UTC),
            form_uri=form_uri(c.form.code, c.form.version),
            choices=tuple(fhir_io.ConsentChoice(k, v) for k, v in sorted(c.choices.items())), consenter=consenter)))
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


def import_consent(session: Session, *, principal: Principal, resource: dict[str, Any] | str | bytes) -> Consent:
    """Records the consent a FHIR Consent describes, on the form its policy URI names."""
    try:
        data = fhir_io.consent_from_fhir(resource)
    except fhir_io.FhirError as exc:
        raise ValidationFailed(str(exc), field="Consent") from exc
    participant = service.view_participant(session, principal=principal, participant_id=data.patient_id, audit=False)
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
    return consent_service.record_consent(session, actor=principal.actor, participant=participant, form=form,
                                          consented_on=consented_on, given_by=given_by,
                                          given_by_name=None if given_by == "participant" else "as recorded in FHIR",
                                          choices=choices)


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

    def to_dict(self) -> dict[str, object]:
        """The error with every row problem."""
        return {**super().to_dict(), "problems": self.report.problems}


def import_csv(session: Session, *, principal: Principal, text: str, source: str = "upload.csv",
               progress: Progress | None = None) -> CsvImportReport:
    """Imports participant rows all-or-nothing: raises CsvImportFailed listing every bad row (the caller's
    transaction then rolls back whatever was written). progress(phase, done, total) is told of each row."""
    report = _import_csv(session, principal=principal, text=text, source=source, progress=progress)
    if report.problems:
        raise CsvImportFailed(report)
    return report


def _import_csv(session: Session, *, principal: Principal, text: str, source: str,
                progress: Progress | None) -> CsvImportReport:
    report = CsvImportReport()
    total = _count_records(text) if progress is not None else 0
    reader = csv.DictReader(io.StringIO(text))
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
    for row in reader:
        report.rows += 1
        line = reader.line_num
        if progress is not None:
            progress("checking", report.rows - 1, total)
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
            principal.require_trust(trust.id)
            people.append((line, person))
        except DomainError as exc:
            report.problems.append({"line": line, "field": exc.field, "message": f"{source} line {line}: {exc.message}"})
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
    from gmc.common.requests import decode_text

    principal.require(Permission.PARTICIPANT_WRITE)
    report = import_csv(session, principal=principal, text=decode_text(data, "CSV", field="file"), source=source,
                        progress=progress)
    return {"rows": report.rows, "created": report.created, "linked": report.linked,
            "worklisted": report.worklisted}


register_job_kind("registry.participants_csv", "Participant CSV import", import_csv_job)
