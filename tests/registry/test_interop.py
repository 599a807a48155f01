"""HL7 v2 ADT, FHIR R4 and CSV import applied to the registry, through the API, on both engines."""

from __future__ import annotations

import sqlalchemy as sa

from gmc.registry.models import Participant


def _count(db, model) -> int:
    with db.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _post(client, headers, text):
    return client.post("/api/hl7/adt", content=text.encode(), headers={**headers, "content-type": "text/plain"})


def test_adt_register_update_merge_and_redelivery(demo_client, bearer, demo_database, hl7_feed, adt) -> None:
    h = hl7_feed("RRK")
    a04 = adt("A04", "RRK0001", "PID|1||9434765919^^^NHS^NH~RRK4412987^^^RRK^MR||O'BRIEN^Siobhan^Mary||19780215|F"
               "|||1 High St^^Birmingham^^B15 2TT^GBR")
    resp = _post(demo_client, h, a04)
    assert resp.status_code == 200 and "MSA|AA|RRK0001" in resp.text
    assert resp.headers["x-gmc-accepted"] == "true"
    assert _count(demo_database, Participant) == 1
    again = _post(demo_client, h, a04)
    assert "MSA|AA|RRK0001" in again.text and _count(demo_database, Participant) == 1

    a08 = adt("A08", "RRK0002", "PID|1||RRK4412987^^^RRK^MR||O'BRIEN^Siobhan||19780215|F|||^^^^B16 8AA")
    assert "MSA|AA" in _post(demo_client, h, a08).text
    with demo_database.session() as s:
        p = s.execute(sa.select(Participant)).scalar_one()
        assert p.postcode == "B16 8AA" and p.nhs_number == "9434765919"
        pid = p.participant_id

    # The same trust registered the patient twice (a second hospital number, no NHS number): the feed cannot
    # decide a probable match, so the second A04 is held for review; staff register it as new, then A40 merges.
    a04b = adt("A04", "RRK0003", "PID|1||RRK1000999^^^RRK^MR||OBRIEN^Siobhan||19780215|F")
    held = _post(demo_client, h, a04b)
    assert held.status_code == 200 and "MSA|AA" in held.text
    assert _count(demo_database, Participant) == 1
    staff = bearer(demo_client, "admin")
    pending = demo_client.get("/api/link-requests", headers=staff).json()
    assert len(pending) == 1 and pending[0]["source"] == "hl7" and pending[0]["candidates"][0]["participant_id"] == pid
    made = demo_client.post(f"/api/link-requests/{pending[0]['id']}/register-new", json={"reason": "a second record"},
                            headers=staff)
    assert made.status_code == 200 and made.json()["status"] == "registered_new"
    assert _count(demo_database, Participant) == 2
    # PID-3 carries the surviving number and the old one again; MRG-1 the old one: the old record is merged away.
    a40 = adt("A40", "RRKMRG77", "PID|1||RRK4412987^^^RRK^MR~RRK1000999^^^RRK^MR||O'BRIEN^Siobhan||19780215|F",
               extra="MRG|RRK1000999^^^RRK^MR")
    resp = _post(demo_client, h, a40)
    assert "MSA|AA" in resp.text, resp.text
    page = demo_client.get(f"/api/participants/{pid}", headers=staff).json()
    assert {x["number"] for x in page["hospital_numbers"]} == {"RRK4412987", "RRK1000999"}
    with demo_database.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Participant).where(
            Participant.merged_into_id.is_not(None))).scalar_one() == 1
    # The same merge sent again under a new control id: it is already done, and says so.
    again = _post(demo_client, h, a40.replace("RRKMRG77", "RRKMRG78"))
    assert "MSA|AA" in again.text


def test_malformed_adt_gets_a_nak_and_changes_nothing(demo_client, bearer, demo_database, hl7_feed, adt) -> None:
    h = hl7_feed("RRK")
    bad_nhs = adt("A04", "RRK0009", "PID|1||9434765918^^^NHS^NH||SMITH^Jo||19800101|M")
    resp = _post(demo_client, h, bad_nhs)
    assert resp.status_code == 422
    assert "MSA|AE|RRK0009" in resp.text and "ERR|" in resp.text and "PID" in resp.text
    garbage = _post(demo_client, h, "this is not hl7")
    assert garbage.status_code == 400 and "MSA|AR" in garbage.text and garbage.headers["x-gmc-accepted"] == "false"
    unknown_facility = adt("A04", "X1", "PID|1||ABC1^^^ZZZ^MR||SMITH^Jo||19800101|M", facility="ZZZ")
    refused = _post(demo_client, h, unknown_facility)
    assert refused.status_code == 403 and "MSA|AR" in refused.text and "not a registered HL7 interface" in refused.text
    assert _count(demo_database, Participant) == 0


def test_adt_acts_only_as_the_tokens_own_facility(demo_client, bearer, demo_database, hl7_feed, adt) -> None:
    rrk = hl7_feed("RRK")
    hl7_feed("RQ3")
    # A user's own token (even an admin's) cannot send a feed; nor can one facility's token send as another.
    for headers, facility in ((bearer(demo_client, "admin"), "RRK"), (bearer(demo_client, "recruiter"), "RQ3"),
                              (rrk, "RQ3")):
        resp = _post(demo_client, headers, adt("A04", "Z1", f"PID|1||Z1^^^{facility}^MR||SMITH^Jo||19800101|M",
                                                facility=facility))
        assert resp.status_code == 403 and "MSA|AR" in resp.text
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
    # Importing the exported Consent again changes nothing: it is already held.
    resp = demo_client.post("/api/fhir/Consent", json=resource, headers=h)
    assert resp.status_code == 200 and resp.json()["changed"] is False
    after = demo_client.get(f"/api/participants/{pid}", headers=h).json()
    assert len(after["consents"]) == 1 and after["consents"][0]["choices"] == consent["choices"]
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


def _bundle(client, headers, pid: str) -> dict:
    patient = client.get(f"/api/fhir/Patient/{pid}", headers=headers).json()
    consents = client.get(f"/api/fhir/Consent?patient={pid}", headers=headers).json()["entry"]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": patient}, *({"resource": e["resource"]} for e in consents)]}


def test_fhir_round_trips_keep_withdrawal_and_are_idempotent(demo_client, bearer, demo_database, other_gmc) -> None:
    h = bearer(demo_client, "recruiter")
    created = demo_client.post("/api/participants", json={
        "family_name": "Adeyemi", "given_name": "Tolu", "date_of_birth": "1984-07-01", "sex": "male",
        "nhs_number": "9434765870", "trust_code": "RQ3", "hospital_number": "BCH9"}, headers=h).json()
    pid = created["participant"]["participant_id"]
    choices = {"taking_part": True, "research_data": True, "research_samples": True, "additional_findings": True,
               "recontact": True}
    for on in ("2024-01-10", "2024-06-01"):
        assert demo_client.post(f"/api/participants/{pid}/consents", json={
            "form_code": "RD-ADULT", "form_version": "3.0", "consented_on": on, "choices": choices},
            headers=h).status_code == 201
    withdrawn = demo_client.post(f"/api/participants/{pid}/withdrawal", json={"level": "no_further_use",
                                                                             "reason": "moved abroad"}, headers=h)
    assert withdrawn.status_code == 200
    bundle = _bundle(demo_client, h, pid)
    states = [e["resource"]["status"] for e in bundle["entry"][1:]]
    assert states == ["rejected", "inactive"]
    ext = bundle["entry"][1]["resource"]["extension"][0]["extension"]
    assert {e["url"]: e.get("valueCode", e.get("valueDateTime")) for e in ext}["level"] == "no_further_use"
    assert bundle["entry"][1]["resource"]["patient"]["identifier"]["value"] == "9434765870"

    # Back into the same gmc, twice: nothing is added, the withdrawal stands.
    for _ in range(2):
        resp = demo_client.post("/api/fhir", json=bundle, headers=h)
        assert resp.status_code == 200, resp.text
        assert resp.json()["linked"] == 1 and resp.json()["consents_added"] == 0
    after = demo_client.get(f"/api/participants/{pid}", headers=h).json()
    assert after["consent_status"] == "withdrawn: no further use" and len(after["consents"]) == 2
    check = demo_client.get(f"/api/participants/{pid}/consent-check", params={"action": "research_data"}, headers=h)
    assert check.json()["allowed"] is False

    # Into another gmc: the Consents point at the exporter's id, so the person is found by the Bundle's Patient
    # (matched on NHS number and identifiers); the state arrives whole, and again changes nothing.
    other, other_db = other_gmc
    token = other.post("/api/auth/token", data={"username": "recruiter", "password": "demo-recruiter-2026"})
    oh = {"Authorization": f"Bearer {token.json()['access_token']}"}
    first = other.post("/api/fhir", json=bundle, headers=oh, params={"trust_code": "RQ3"})
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 1 and first.json()["consents_added"] == 2
    again = other.post("/api/fhir", json=bundle, headers=oh, params={"trust_code": "RQ3"})
    assert again.json()["linked"] == 1 and again.json()["consents_added"] == 0
    found = other.get("/api/participants", params={"q": "9434765870"}, headers=oh).json()
    assert len(found) == 1 and found[0]["consent_status"] == "withdrawn: no further use"
    imported = other.get(f"/api/participants/{found[0]['participant_id']}", headers=oh).json()
    assert [c["status"] for c in imported["consents"]] == ["withdrawn", "superseded"]
    assert imported["consents"][0]["withdrawal_level"] == "no_further_use"
    assert imported["consents"][0]["withdrawn_at"][:10] == after["consents"][0]["withdrawn_at"][:10]
    # A Consent alone, by NHS number, also lands on the right person; an unknown patient changes nothing.
    lone = dict(bundle["entry"][1]["resource"], patient={"identifier": {
        "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}})
    assert other.post("/api/fhir/Consent", json=lone, headers=oh).status_code == 200
    stranger = dict(lone, patient={"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                                  "value": "9434765919"}})
    assert other.post("/api/fhir/Consent", json=stranger, headers=oh).status_code == 404


def test_csv_short_and_non_utf8_rows_are_reported_like_any_bad_row(demo_client, bearer, demo_database) -> None:
    h = {**bearer(demo_client, "admin"), "content-type": "text/csv"}
    header = "family_name,given_name,date_of_birth,sex,nhs_number,postcode,trust_code,hospital_number\n"
    body = (header + "Smith,Joan,1940-01-01,female,,WS2 9PS,RBK,W1\n"
            + "Short,Row,1950-01-01\n"
            + "Long,Row,1950-01-01,male,,,RBK,W3,extra\n").encode() + "Müller,Jürgen,1960-05-05,male,,,RBK,W4\n".encode(
                "latin-1")
    resp = demo_client.post("/api/participants/import", content=body, headers=h)
    assert resp.status_code == 422, resp.text
    problems = [(p["line"], p["message"]) for p in resp.json()["problems"]]
    assert [line for line, _ in problems] == [3, 4, 5]
    assert "3 fields, the header has 8" in problems[0][1] and "9 fields" in problems[1][1]
    assert "not UTF-8" in problems[2][1] and "0xFC" in problems[2][1]
    assert _count(demo_database, Participant) == 0
