"""FHIR R4 Patient and Consent resources to and from plain registry data (validated with fhir.resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from gmc.registry.nhs_number import InvalidNhsNumber, normalise_nhs_number

#: The NHS number identifier system (NHS England FHIR identifiers).
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
#: ODS organisation codes, used for trusts.
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
#: Hospital numbers are local to a trust: the system is this prefix plus the trust's ODS code.
HOSPITAL_NUMBER_SYSTEM_PREFIX = "https://fhir.nhs.uk/Id/local-patient-identifier/"
V2_IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
#: Codes of the individual choices on a gmc consent form (research use, recontact, ...).
CONSENT_CHOICE_SYSTEM = "https://gmc.nhs.uk/CodeSystem/consent-choice"
#: A consent's withdrawal: level (valueCode no_further_contact or no_further_use) and date (valueDateTime).
WITHDRAWAL_EXTENSION = "https://gmc.nhs.uk/StructureDefinition/consent-withdrawal"
WITHDRAWAL_LEVELS = frozenset({"no_further_contact", "no_further_use"})
#: A gmc consent record's identifier (Consent.identifier), for provenance across systems.
CONSENT_ID_SYSTEM = "https://gmc.nhs.uk/Id/consent"
LOINC = "http://loinc.org"

GENDERS = frozenset({"male", "female", "other", "unknown"})
CONSENT_STATUSES = frozenset({"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"})
CONSENT_SCOPES = frozenset({"research", "patient-privacy", "treatment", "adr"})
LINK_TYPES = frozenset({"replaced-by", "replaces", "refer", "seealso"})


class FhirError(ValueError):
    """A FHIR resource that is invalid or not usable as registry data; names the field at fault."""


@dataclass(frozen=True, slots=True)
class HospitalNumber:
    """A trust-local hospital (medical record) number."""

    trust_code: str
    value: str


@dataclass(frozen=True, slots=True)
class PatientLink:
    """A link to another Patient resource: merged records point at their survivor with replaced-by."""

    other_id: str
    #: replaced-by, replaces, refer or seealso.
    link_type: str


@dataclass(frozen=True, slots=True)
class PatientData:
    """The registry's plain view of a FHIR Patient."""

    id: str | None
    nhs_number: str | None
    family_name: str
    given_names: tuple[str, ...] = ()
    hospital_numbers: tuple[HospitalNumber, ...] = ()
    #: FHIR administrative gender: male, female, other or unknown.
    gender: str | None = None
    birth_date: date | None = None
    address_lines: tuple[str, ...] = ()
    city: str | None = None
    postcode: str | None = None
    active: bool = True
    links: tuple[PatientLink, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsentChoice:
    """One choice on the consent form, permitted or denied (e.g. research-use: permit)."""

    code: str
    permit: bool
    display: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentData:
    """The registry's plain view of a FHIR Consent."""

    id: str | None
    #: draft, proposed, active, rejected, inactive or entered-in-error.
    status: str
    #: research or patient-privacy (also treatment, adr).
    scope: str
    patient_id: str
    date_time: datetime | None = None
    #: URI of the consent form version signed (Consent.policy.uri).
    form_uri: str | None = None
    choices: tuple[ConsentChoice, ...] = ()
    #: Who gave consent (Consent.performer), e.g. "Patient/p1" or "RelatedPerson/mother-1".
    consenter: str | None = None
    #: Who took and checked the consent (Consent.verification), e.g. "Practitioner/gc-12".
    verified_by: str | None = None
    verification_date: datetime | None = None
    #: ODS code of the organisation that recorded the consent.
    organisation_code: str | None = None
    #: The patient's NHS number, carried in Consent.patient.identifier so another system can find the patient.
    patient_nhs_number: str | None = None
    #: Withdrawal (the WITHDRAWAL_EXTENSION): no_further_contact or no_further_use, and when.
    withdrawal_level: str | None = None
    withdrawn_at: datetime | None = None
    #: Identifiers of the consent in the systems that held it (system, value).
    identifiers: tuple[tuple[str, str], ...] = ()


def _validation_error(resource: str, error: ValidationError) -> FhirError:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    return FhirError(f"{resource}.{location}: {first['msg']} (got {first.get('input')!r})")


def _load(resource_type: str, value: dict[str, Any] | str | bytes | Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise FhirError(f"{resource_type}: not JSON: {error}") from error
    elif hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_none=True)
    if not isinstance(value, dict):
        raise FhirError(f"{resource_type}: expected a JSON object, got {type(value).__name__}")
    found = value.get("resourceType")
    if found != resource_type:
        raise FhirError(f"{resource_type}.resourceType: expected {resource_type!r}, got {found!r}")
    return value


def _reference_id(reference: str | None, expected_type: str, where: str) -> str:
    if not reference or "/" not in reference:
        raise FhirError(f"{where}: expected a reference like '{expected_type}/<id>', got {reference!r}")
    kind, _, ident = reference.rpartition("/")
    if kind.rsplit("/", 1)[-1] != expected_type or not ident:
        raise FhirError(f"{where}: expected a reference to a {expected_type}, got {reference!r}")
    return ident


def patient_to_fhir(data: PatientData) -> dict[str, Any]:
    """Returns a validated FHIR R4 Patient (JSON dict) for plain patient data."""
    if data.gender is not None and data.gender not in GENDERS:
        raise FhirError(f"Patient.gender: {data.gender!r} is not one of {', '.join(sorted(GENDERS))}")
    identifiers: list[dict[str, Any]] = []
    if data.nhs_number:
        try:
            nhs = normalise_nhs_number(data.nhs_number)
        except InvalidNhsNumber as error:
            raise FhirError(f"Patient.identifier (NHS number): {error}") from error
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": nhs})
    for hospital in data.hospital_numbers:
        identifiers.append(
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": V2_IDENTIFIER_TYPES, "code": "MR", "display": "Medical record number"}
                    ]
                },
                "system": HOSPITAL_NUMBER_SYSTEM_PREFIX + hospital.trust_code,
                "value": hospital.value,
                "assigner": {"identifier": {"system": ODS_SYSTEM, "value": hospital.trust_code}},
            }
        )
    resource: dict[str, Any] = {"resourceType": "Patient", "active": data.active}
    if data.id:
        resource["id"] = data.id
    if identifiers:
        resource["identifier"] = identifiers
    name: dict[str, Any] = {"use": "official"}
    if data.family_name:
        name["family"] = data.family_name
    if data.given_names:
        name["given"] = list(data.given_names)
    if len(name) > 1:
        resource["name"] = [name]
    if data.gender:
        resource["gender"] = data.gender
    if data.birth_date:
        resource["birthDate"] = data.birth_date.isoformat()
    address: dict[str, Any] = {}
    if data.address_lines:
        address["line"] = list(data.address_lines)
    if data.city:
        address["city"] = data.city
    if data.postcode:
        address["postalCode"] = data.postcode
    if address:
        resource["address"] = [{"use": "home", **address}]
    for link in data.links:
        if link.link_type not in LINK_TYPES:
            raise FhirError(
                f"Patient.link.type: {link.link_type!r} is not one of {', '.join(sorted(LINK_TYPES))}"
            )
    if data.links:
        resource["link"] = [
            {"other": {"reference": f"Patient/{link.other_id}"}, "type": link.link_type}
            for link in data.links
        ]
    try:
        return Patient.model_validate(resource).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        raise _validation_error("Patient", error) from error


def patient_from_fhir(resource: dict[str, Any] | str | bytes | Patient) -> PatientData:
    """Returns plain patient data from a FHIR R4 Patient (dict, JSON text or model); raises FhirError."""
    raw = _load("Patient", resource)
    try:
        patient = Patient.model_validate(raw)
    except ValidationError as error:
        raise _validation_error("Patient", error) from error
    nhs_number: str | None = None
    hospital_numbers: list[HospitalNumber] = []
    for i, identifier in enumerate(patient.identifier or []):
        system = identifier.system or ""
        if system == NHS_NUMBER_SYSTEM:
            try:
                nhs_number = normalise_nhs_number(identifier.value or "")
            except InvalidNhsNumber as error:
                raise FhirError(f"Patient.identifier[{i}].value: {error}") from error
            continue
        trust = None
        if system.startswith(HOSPITAL_NUMBER_SYSTEM_PREFIX):
            trust = system[len(HOSPITAL_NUMBER_SYSTEM_PREFIX) :]
        elif identifier.assigner and identifier.assigner.identifier and _is_mr(identifier):
            trust = identifier.assigner.identifier.value
        if trust and identifier.value:
            hospital_numbers.append(HospitalNumber(trust, identifier.value))
    names = patient.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    gender = patient.gender
    if gender is not None and gender not in GENDERS:
        raise FhirError(f"Patient.gender: {gender!r} is not one of {', '.join(sorted(GENDERS))}")
    addresses = patient.address or []
    home = next((a for a in addresses if a.use == "home"), addresses[0] if addresses else None)
    links: list[PatientLink] = []
    for i, link in enumerate(patient.link or []):
        if link.type not in LINK_TYPES:
            raise FhirError(
                f"Patient.link[{i}].type: {link.type!r} is not one of {', '.join(sorted(LINK_TYPES))}"
            )
        other = _reference_id(
            link.other.reference if link.other else None, "Patient", f"Patient.link[{i}].other"
        )
        links.append(PatientLink(other, link.type))
    return PatientData(
        id=patient.id,
        nhs_number=nhs_number,
        family_name=(official.family if official and official.family else ""),
        given_names=tuple(official.given or []) if official else (),
        hospital_numbers=tuple(hospital_numbers),
        gender=gender,
        birth_date=patient.birthDate,
        address_lines=tuple(home.line or []) if home else (),
        city=home.city if home else None,
        postcode=home.postalCode if home else None,
        active=patient.active if patient.active is not None else True,
        links=tuple(links),
    )


def _is_mr(identifier: Any) -> bool:
    codings = identifier.type.coding if identifier.type and identifier.type.coding else []
    return any(c.code == "MR" for c in codings)


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def consent_to_fhir(data: ConsentData) -> dict[str, Any]:
    """Returns a validated FHIR R4 Consent (JSON dict) for plain consent data."""
    if data.status not in CONSENT_STATUSES:
        raise FhirError(
            f"Consent.status: {data.status!r} is not one of {', '.join(sorted(CONSENT_STATUSES))}"
        )
    if data.scope not in CONSENT_SCOPES:
        raise FhirError(f"Consent.scope: {data.scope!r} is not one of {', '.join(sorted(CONSENT_SCOPES))}")
    if data.withdrawal_level is not None and data.withdrawal_level not in WITHDRAWAL_LEVELS:
        raise FhirError(f"Consent.extension (withdrawal): level {data.withdrawal_level!r} is not one of "
                        f"{', '.join(sorted(WITHDRAWAL_LEVELS))}")
    if not data.patient_id:
        raise FhirError("Consent.patient: patient id is empty")
    for moment in (data.date_time, data.verification_date, data.withdrawn_at):
        if moment is not None and moment.tzinfo is None:
            # FHIR dateTime with a time part must carry a zone; a naive time would be read differently later.
            raise FhirError(f"Consent.dateTime: {moment.isoformat()} has no time zone")
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": data.status,
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": data.scope}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Consent Document"}]}],
        "patient": {"reference": f"Patient/{data.patient_id}"},
    }
    if data.patient_nhs_number:
        resource["patient"]["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": data.patient_nhs_number}
    if data.id:
        resource["id"] = data.id
    if data.identifiers:
        resource["identifier"] = [{"system": system, "value": value} for system, value in data.identifiers]
    if data.withdrawal_level:
        parts: list[dict[str, Any]] = [{"url": "level", "valueCode": data.withdrawal_level}]
        if data.withdrawn_at:
            parts.append({"url": "date", "valueDateTime": _instant(data.withdrawn_at)})
        resource["extension"] = [{"url": WITHDRAWAL_EXTENSION, "extension": parts}]
    if data.date_time:
        resource["dateTime"] = _instant(data.date_time)
    if data.consenter:
        resource["performer"] = [{"reference": data.consenter}]
    if data.organisation_code:
        resource["organization"] = [{"identifier": {"system": ODS_SYSTEM, "value": data.organisation_code}}]
    if data.form_uri:
        resource["policy"] = [{"uri": data.form_uri}]
    else:
        # R4 requires a policy or a policyRule (ppc-1); without a form we state the scope's base rule.
        resource["policyRule"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]
        }
    if data.verified_by or data.verification_date:
        verification: dict[str, Any] = {"verified": True}
        if data.verified_by:
            verification["verifiedWith"] = {"reference": data.verified_by}
        if data.verification_date:
            verification["verificationDate"] = _instant(data.verification_date)
        resource["verification"] = [verification]
    if data.choices:
        resource["provision"] = {
            # Base rule deny: only what a choice explicitly permits is allowed.
            "type": "deny",
            "provision": [
                {
                    "type": "permit" if choice.permit else "deny",
                    "code": [
                        {
                            "coding": [
                                {
                                    "system": CONSENT_CHOICE_SYSTEM,
                                    "code": choice.code,
                                    **({"display": choice.display} if choice.display else {}),
                                }
                            ]
                        }
                    ],
                }
                for choice in data.choices
            ],
        }
    try:
        return Consent.model_validate(resource).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        raise _validation_error("Consent", error) from error


def consent_from_fhir(resource: dict[str, Any] | str | bytes | Consent) -> ConsentData:
    """Returns plain consent data from a FHIR R4 Consent (dict, JSON text or model); raises FhirError."""
    raw = _load("Consent", resource)
    try:
        consent = Consent.model_validate(raw)
    except ValidationError as error:
        raise _validation_error("Consent", error) from error
    if consent.status not in CONSENT_STATUSES:
        raise FhirError(
            f"Consent.status: {consent.status!r} is not one of {', '.join(sorted(CONSENT_STATUSES))}"
        )
    scope_codes = [c.code for c in (consent.scope.coding or []) if c.code in CONSENT_SCOPES]
    if not scope_codes:
        found = [c.code for c in (consent.scope.coding or [])]
        raise FhirError(f"Consent.scope: no code from {', '.join(sorted(CONSENT_SCOPES))} (got {found})")
    patient_id = _reference_id(
        consent.patient.reference if consent.patient else None, "Patient", "Consent.patient"
    ) if consent.patient and consent.patient.reference else ""
    if not patient_id and not (consent.patient and consent.patient.identifier):
        raise FhirError("Consent.patient: expected a reference like 'Patient/<id>' or an NHS number identifier")
    choices: list[ConsentChoice] = []
    if consent.provision:
        for i, provision in enumerate(consent.provision.provision or []):
            if provision.type not in ("permit", "deny"):
                raise FhirError(
                    f"Consent.provision.provision[{i}].type: expected permit or deny, got {provision.type!r}"
                )
            codings = [c for cc in (provision.code or []) for c in (cc.coding or [])]
            if not codings:
                raise FhirError(f"Consent.provision.provision[{i}].code: no choice code")
            for coding in codings:
                choices.append(ConsentChoice(coding.code, provision.type == "permit", coding.display))
    policy_uri = next((p.uri for p in (consent.policy or []) if p.uri), None)
    verification = (consent.verification or [None])[0]
    withdrawal_level, withdrawn_at = None, None
    for ext in consent.extension or []:
        if ext.url != WITHDRAWAL_EXTENSION:
            continue
        for part in ext.extension or []:
            if part.url == "level":
                withdrawal_level = part.valueCode
            elif part.url == "date":
                withdrawn_at = part.valueDateTime
        if withdrawal_level not in WITHDRAWAL_LEVELS:
            raise FhirError(f"Consent.extension (withdrawal).level: {withdrawal_level!r} is not one of "
                            f"{', '.join(sorted(WITHDRAWAL_LEVELS))}")
    patient_nhs = None
    reference_identifier = consent.patient.identifier if consent.patient else None
    if reference_identifier is not None and reference_identifier.system == NHS_NUMBER_SYSTEM:
        try:
            patient_nhs = normalise_nhs_number(reference_identifier.value or "")
        except InvalidNhsNumber as error:
            raise FhirError(f"Consent.patient.identifier.value: {error}") from error
    organisation = None
    for org in consent.organization or []:
        if org.identifier and org.identifier.value:
            organisation = org.identifier.value
            break
    return ConsentData(
        id=consent.id,
        status=consent.status,
        scope=scope_codes[0],
        patient_id=patient_id,
        date_time=consent.dateTime,
        form_uri=policy_uri,
        choices=tuple(choices),
        consenter=(consent.performer[0].reference if consent.performer else None),
        verified_by=(
            verification.verifiedWith.reference
            if verification is not None and verification.verifiedWith
            else None
        ),
        verification_date=verification.verificationDate if verification is not None else None,
        organisation_code=organisation,
        patient_nhs_number=patient_nhs,
        withdrawal_level=withdrawal_level,
        withdrawn_at=withdrawn_at,
        identifiers=tuple((i.system or "", i.value or "") for i in consent.identifier or [] if i.value),
    )
