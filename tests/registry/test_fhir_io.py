"""Tests for FHIR R4 Patient and Consent conversion: round trips, NHS identifiers, errors naming fields."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B.patient import Patient

from gmc.registry.fhir_io import (
    NHS_NUMBER_SYSTEM,
    ConsentChoice,
    ConsentData,
    FhirError,
    HospitalNumber,
    PatientData,
    PatientLink,
    consent_from_fhir,
    consent_to_fhir,
    patient_from_fhir,
    patient_to_fhir,
)

PATIENT = PatientData(
    id="p-001",
    nhs_number="943 476 5919",
    family_name="O'Brien",
    given_names=("Siobhan", "Mary"),
    hospital_numbers=(HospitalNumber("RRK", "RRK4412987"), HospitalNumber("RQ3", "BCH0001234")),
    gender="female",
    birth_date=date(1978, 2, 15),
    address_lines=("3 Church Road", "Edgbaston"),
    city="Birmingham",
    postcode="B15 3TT",
)

CONSENT = ConsentData(
    id="c-001",
    status="active",
    scope="research",
    patient_id="p-001",
    date_time=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    form_uri="https://gmc.nhs.uk/consent-forms/rare-disease/3.1",
    choices=(
        ConsentChoice("research-use", True, "Use of data and samples for research"),
        ConsentChoice("recontact", False),
        ConsentChoice("additional-findings", True),
    ),
    consenter="RelatedPerson/mother-1",
    verified_by="Practitioner/gc-12",
    verification_date=datetime(2025, 3, 14, 10, 0, tzinfo=UTC),
    organisation_code="RQ3",
)


def test_patient_round_trip_keeps_every_field() -> None:
    resource = patient_to_fhir(PATIENT)
    back = patient_from_fhir(resource)
    # Everything comes back; the NHS number in its canonical ten digits.
    assert back == replace(PATIENT, nhs_number="9434765919")


def test_patient_uses_nhs_and_trust_identifier_systems() -> None:
    resource = patient_to_fhir(PATIENT)
    assert {"system": NHS_NUMBER_SYSTEM, "value": "9434765919"} in resource["identifier"]
    hospital = [i for i in resource["identifier"] if i["system"] != NHS_NUMBER_SYSTEM]
    assert [i["type"]["coding"][0]["code"] for i in hospital] == ["MR", "MR"]
    assert hospital[0]["assigner"]["identifier"]["value"] == "RRK"
    assert resource["birthDate"] == "1978-02-15"
    # The resource is valid FHIR by the independent fhir.resources model.
    assert Patient.model_validate(resource).gender == "female"


def test_merged_patient_links_to_its_survivor() -> None:
    merged = PatientData(
        id="p-old",
        nhs_number=None,
        family_name="Smith",
        active=False,
        links=(PatientLink("p-001", "replaced-by"),),
    )
    resource = patient_to_fhir(merged)
    assert resource["link"] == [{"other": {"reference": "Patient/p-001"}, "type": "replaced-by"}]
    assert resource["active"] is False
    assert patient_from_fhir(json.dumps(resource)) == merged


def test_patient_from_third_party_json() -> None:
    # As a spine-style system might send it: hospital number identified only by type MR and assigner.
    text = json.dumps(
        {
            "resourceType": "Patient",
            "identifier": [
                {"system": NHS_NUMBER_SYSTEM, "value": "4010232137"},
                {
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                    },
                    "system": "https://www.uhb.nhs.uk/Id/mrn",
                    "value": "S123456",
                    "assigner": {
                        "identifier": {
                            "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                            "value": "RRK",
                        }
                    },
                },
            ],
            "name": [{"use": "usual", "family": "Singh", "given": ["Harjit"]}],
            "gender": "male",
            "birthDate": "1969-07-30",
        }
    )
    data = patient_from_fhir(text)
    assert data.nhs_number == "4010232137"
    assert data.hospital_numbers == (HospitalNumber("RRK", "S123456"),)
    assert (data.family_name, data.given_names) == ("Singh", ("Harjit",))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gender": "femme"}, "Patient.gender"),
        ({"birthDate": "1978-13-01"}, "Patient.birthDate"),
        (
            {"identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9434765918"}]},
            "Patient.identifier[0].value",
        ),
        (
            {"link": [{"other": {"reference": "Practitioner/x"}, "type": "replaced-by"}]},
            "Patient.link[0].other",
        ),
        ({"resourceType": "Consent"}, "Patient.resourceType"),
    ],
)
def test_invalid_patient_names_the_field(change: dict, field: str) -> None:
    resource = {**patient_to_fhir(PATIENT), **change}
    with pytest.raises(FhirError, match=field.replace("[", r"\[").replace("]", r"\]")):
        patient_from_fhir(resource)


def test_invalid_patient_data_is_refused_on_the_way_out() -> None:
    with pytest.raises(FhirError, match="Patient.identifier .*check digit"):
        patient_to_fhir(PatientData(id="x", nhs_number="9434765918", family_name="A"))
    with pytest.raises(FhirError, match="Patient.gender"):
        patient_to_fhir(PatientData(id="x", nhs_number=None, family_name="A", gender="F"))


def test_consent_round_trip() -> None:
    resource = consent_to_fhir(CONSENT)
    assert consent_from_fhir(resource) == CONSENT
    assert consent_from_fhir(json.dumps(resource)) == CONSENT


def test_consent_resource_shape() -> None:
    resource = consent_to_fhir(CONSENT)
    assert resource["scope"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
        "code": "research",
    }
    assert resource["patient"] == {"reference": "Patient/p-001"}
    assert resource["policy"] == [{"uri": "https://gmc.nhs.uk/consent-forms/rare-disease/3.1"}]
    assert resource["performer"] == [{"reference": "RelatedPerson/mother-1"}]
    assert resource["verification"][0]["verifiedWith"] == {"reference": "Practitioner/gc-12"}
    nested = resource["provision"]["provision"]
    assert [(p["type"], p["code"][0]["coding"][0]["code"]) for p in nested] == [
        ("permit", "research-use"),
        ("deny", "recontact"),
        ("permit", "additional-findings"),
    ]


def test_withdrawn_and_refused_consents() -> None:
    for status in ("inactive", "rejected"):
        data = ConsentData(id=None, status=status, scope="patient-privacy", patient_id="p-9")
        resource = consent_to_fhir(data)
        assert "policyRule" in resource  # R4 needs a policy or a rule
        assert consent_from_fhir(resource) == data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "maybe"}, "Consent.status"),
        ({"scope": {"coding": [{"system": "x", "code": "marketing"}]}}, "Consent.scope"),
        ({"patient": {"reference": "Group/1"}}, "Consent.patient"),
        ({"dateTime": "14/03/2025"}, "Consent.dateTime"),
        (
            {"provision": {"type": "deny", "provision": [{"type": "maybe", "code": [{"text": "x"}]}]}},
            "Consent.provision",
        ),
    ],
)
def test_invalid_consent_names_the_field(change: dict, field: str) -> None:
    resource = {**consent_to_fhir(CONSENT), **change}
    with pytest.raises(FhirError, match=field):
        consent_from_fhir(resource)


def test_invalid_consent_data_is_refused() -> None:
    with pytest.raises(FhirError, match="Consent.status"):
        consent_to_fhir(ConsentData(id=None, status="withdrawn", scope="research", patient_id="p"))
    with pytest.raises(FhirError, match="Consent.scope"):
        consent_to_fhir(ConsentData(id=None, status="active", scope="genomics", patient_id="p"))
    with pytest.raises(FhirError, match="time zone"):
        consent_to_fhir(
            ConsentData(
                id=None,
                status="active",
                scope="research",
                patient_id="p",
                date_time=datetime(2025, 1, 1, 9, 0),
            )
        )
