"""HL7 v2 ADT, FHIR R4 and CSV import applied to the registry, through the API, on both engines."""

from __future__ import annotations

import sqlalchemy as sa

from gmc.registry.models import DuplicateCandidate, Participant


def _adt(event: str, control: str, pid: str, facility: str = "RRK", extra: str = "") -> str:
    structure = {"A04": "ADT_A01", "A08": "ADT_A01", "A40": "ADT_A39"}[event]
    segs = [f"MSH|^~\\&|PAS|{facility}|GMC_REGISTRY|GMC|20250314093012||ADT^{event}^{structure}|{control}|P|2.4",
            f"EVN|{event}|20250314093000", pid]
    if extra:
        segs.append(extra)
    return "\r".join(segs) + "\r"


def _count(db, model) -> int:
    with db.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _post(client, headers, text):
    return client.post("/api/hl7/adt", content=text.encode(), headers={**headers, "content-type": "text/plain"})


def test_adt_register_update_merge_and_redelivery(demo_client, bearer, demo_database) -> None:
    h = bearer(demo_client, "admin")
    a04 = _adt("A04", "RRK0001", "PID|1||9434765919^^^NHS^NH~RRK4412987^^^RRK^MR||O'BRIEN^Siobhan^Mary||19780215|F"
               "|||1 High St^^Birmingham^^B15 2TT^GBR")
    resp = _post(demo_client, h, a04)
    assert resp.status_code == 200 and "MSA|AA|RRK0001" in resp.text
    assert resp.headers["x-gmc-accepted"] == "true"
    assert _count(demo_database, Participant) == 1
    again = _post(demo_client, h, a04)
    assert "MSA|AA|RRK0001" in again.text and _count(demo_database, Participant) == 1

    a08 = _adt("A08", "RRK0002", "PID|1||RRK4412987^^^RRK^MR||O'BRIEN^Siobhan||19780215|F|||^^^^B16 8AA")
    assert "MSA|AA" in _post(demo_client, h, a08).text
    with demo_database.session() as s:
        p = s.execute(sa.select(Participant)).scalar_one()
        assert p.postcode == "B16 8AA" and p.nhs_number == "9434765919"
        pid = p.participant_id

    # The same person registered under a second hospital number at another trust, then merged by A40.
    a04b = _adt("A04", "RL40001", "PID|1||RWT1000999^^^RL4^MR||OBRIEN^Siobhan||19780215|F", facility="RL4")
    assert "MSA|AA" in _post(demo_client, h, a04b).text
    assert _count(demo_database, Participant) == 2 and _count(demo_database, DuplicateCandidate) == 1
    a40 = _adt("A40", "RL4MRG77", "PID|1||9434765919^^^NHS^NH~RWT1000001^^^RL4^MR||O'BRIEN^Siobhan||19780215|F",
               facility="RL4", extra="MRG|RWT1000999^^^RL4^MR")
    resp = _post(demo_client, h, a40)
    assert "MSA|AA" in resp.text, resp.text
    page = demo_client.get(f"/api/participants/{pid}", headers=h).json()
    assert {x["number"] for x in page["hospital_numbers"]} >= {"RRK4412987", "RWT1000999"}


def test_malformed_adt_gets_a_nak_and_changes_nothing(demo_client, bearer, demo_database) -> None:
    h = bearer(demo_client, "admin")
    bad_nhs = _adt("A04", "RRK0009", "PID|1||9434765918^^^NHS^NH||SMITH^Jo||19800101|M")
    resp = _post(demo_client, h, bad_nhs)
    assert "MSA|AE|RRK0009" in resp.text and "ERR|" in resp.text and "PID" in resp.text
    garbage = _post(demo_client, h, "this is not hl7")
    assert "MSA|A" in garbage.text and garbage.headers["x-gmc-accepted"] == "false"
    unknown_trust = _adt("A04", "X1", "PID|1||ABC1^^^ZZZ^MR||SMITH^Jo||19800101|M", facility="ZZZ")
    assert "MSA|AE" in _post(demo_client, h, unknown_trust).text
    assert _count(demo_database, Participant) == 0


def test_adt_from_a_trust_outside_scope_is_refused(demo_client, bearer, demo_database) -> None:
    h = bearer(demo_client, "recruiter")  # RQ3 and RLU only
    resp = _post(demo_client, h, _adt("A04", "RRK1", "PID|1||RRK1^^^RRK^MR||SMITH^Jo||19800101|M"))
    assert "MSA|AE" in resp.text and "outside your scope" in resp.text
    assert _count(demo_database, Participant) == 0


def test_fhir_patient_and_consent_round_trip(demo_client, bearer) -> None:
    h = bearer(demo_client, "recruiter")
    created = demo_client.post("/api/participants", json={
        "family_name": "Okafor", "given_name": "Amara", "date_of_birth": "2015-03-14", "sex": "female",
        "nhs_number": "9434765919", "trust_code": "RQ3", "hospital_number": "BCH1"}, headers=h).json()
    pid = created["participant"]["participant_id"]
    consent = {"form_code": "RD-CHILD", "form_version": "3.0", "consented_on": "2024-05-01",
               "given_by": "parent_guardian", "given_by_name": "Grace Okafor",
               "choices": {"taking_part": True, "research_data": True, "research_samples": False,
                           "additional_findings": False, "recontact": True}}
    assert demo_client.post(f"/api/participants/{pid}/consents", json=consent, headers=h).status_code == 201
    patient = demo_client.get(f"/api/fhir/Patient/{pid}", headers=h).json()
    assert patient["resourceType"] == "Patient" and patient["id"] == pid
    assert {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"} in patient["identifier"]
    assert patient["birthDate"] == "2015-03-14" and patient["gender"] == "female"
    bundle = demo_client.get(f"/api/fhir/Consent?patient={pid}", headers=h).json()
    resource = bundle["entry"][0]["resource"]
    assert resource["status"] == "active" and resource["policy"][0]["uri"].endswith("RD-CHILD/3.0")

    # Importing the exported Patient links to the same person (exact NHS number) instead of duplicating.
    resp = demo_client.post("/api/fhir/Patient", json=patient, headers=h)
    assert resp.status_code == 200 and resp.json()["id"] == pid
    # Importing the exported Consent records it again (superseding the earlier one) with the same choices.
    resp = demo_client.post("/api/fhir/Consent", json=resource, headers=h)
    assert resp.status_code == 201
    after = demo_client.get(f"/api/participants/{pid}", headers=h).json()
    assert after["consents"][0]["choices"] == consent["choices"] and after["consents"][1]["status"] == "superseded"
    bad = demo_client.post("/api/fhir/Patient", json={"resourceType": "Patient", "gender": "dragon"}, headers=h)
    assert bad.status_code == 422 and "Patient" in bad.json()["detail"]


def test_csv_import_all_or_nothing(demo_client, bearer, demo_database) -> None:
    h = {**bearer(demo_client, "admin"), "content-type": "text/csv"}
    good = ("family_name,given_name,date_of_birth,sex,nhs_number,postcode,trust_code,hospital_number\n"
            "Smith,Joan,1940-01-01,female,,WS2 9PS,RBK,W1\n"
            "Jones,Tom,1955-06-30,male,9434765870,,RRK,U1\n")
    bad = good + "Brown,Amy,1990-02-30,female,,,RRK,U2\nGreen,Al,1990-01-01,male,123,,RRK,U3\n"
    resp = demo_client.post("/api/participants/import", content=bad.encode(), headers=h)
    assert resp.status_code == 422
    problems = resp.json()["problems"]
    assert [(p["line"], p["field"]) for p in problems] == [(4, "date_of_birth"), (5, "nhs_number")]
    assert _count(demo_database, Participant) == 0
    resp = demo_client.post("/api/participants/import", content=good.encode(), headers=h)
    assert resp.status_code == 200 and resp.json()["created"] == 2
    again = demo_client.post("/api/participants/import", content=good.encode(), headers=h)
    assert again.json()["created"] == 0 and again.json()["linked"] == 2
    assert _count(demo_database, Participant) == 2
