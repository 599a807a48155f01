"""Large HL7 ADT batches and FHIR Bundles run as background jobs: 202, progress, all or nothing (both engines)."""

from __future__ import annotations

import sqlalchemy as sa
from tests.conftest import wait_for_job

from gmc.registry.models import Consent, Participant


def _count(db, model) -> int:
    with db.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _a04s(adt, n: int, *, start: int = 0) -> list[str]:
    """n A04 registrations from the RRK feed, each with its own control id and hospital number."""
    return [adt("A04", f"RRKB{i:04d}", f"PID|1||RRK77{i:05d}^^^RRK^MR||BATCHFORD^Person{chr(65 + i % 26)}"
                                       f"{chr(65 + i // 26 % 26)}||{1950 + i % 50}0{1 + i % 9}1{i % 9}|F")
            for i in range(start, start + n)]


def _post_batch(client, headers, messages: list[str]):
    return client.post("/api/hl7/batch", content="\r".join(messages).encode(),
                       headers={**headers, "content-type": "text/plain"})


def test_small_hl7_batch_is_applied_in_the_request_all_or_nothing(demo_client, demo_database, hl7_feed, adt):
    h = hl7_feed("RRK")
    resp = _post_batch(demo_client, h, _a04s(adt, 3))
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 3 and all("MSA|AA" in a for a in resp.json()["acks"])
    assert _count(demo_database, Participant) == 3
    # A batch with one message that cannot be read: nothing of it is applied, and the NAK names the message.
    bad = _a04s(adt, 2, start=3) + [adt("A04", "RRKBAD1", "PID|1||RRK9^^^RRK^MR||NODATE^Anna||notadate|F")]
    refused = _post_batch(demo_client, h, bad)
    assert refused.status_code == 422, refused.text
    problems = refused.json()["problems"]
    assert [p["message"] for p in problems] == [3] and "MSA|A" in problems[0]["ack"]
    assert _count(demo_database, Participant) == 3


def test_large_hl7_batch_runs_as_a_job(demo_app, demo_client, demo_database, hl7_feed, adt):
    demo_app.state.settings.import_job_bytes = 1024  # this deployment sends files above 1 KiB to a job
    h = hl7_feed("RRK")
    messages = _a04s(adt, 40)
    resp = _post_batch(demo_client, h, messages)
    assert resp.status_code == 202, resp.text
    job = wait_for_job(demo_client, h, resp.json()["status_url"])
    assert job["status"] == "succeeded", job["error"]
    assert job["kind"] == "registry.hl7_batch" and job["rows_done"] == job["rows_total"] == 40
    created = sum(o["outcome"] == "created" for o in job["result"]["outcomes"])
    # Every message is applied: a registration, or one held for review when it resembles an earlier person.
    assert job["result"]["accepted"] == 40 and created >= 35 and _count(demo_database, Participant) == created
    # Sent again: every message is a duplicate already applied (safe to repeat).
    again = wait_for_job(demo_client, h, _post_batch(demo_client, h, messages).json()["status_url"])
    assert again["status"] == "succeeded" and _count(demo_database, Participant) == created
    assert all("duplicate" in o["outcome"] for o in again["result"]["outcomes"])
    # One bad message among 40 new ones: the job fails naming it, and none of the 40 is applied.
    fresh = _a04s(adt, 40, start=100)
    fresh[17] = adt("A04", "RRKBAD2", "PID|1||RRK8^^^RRK^MR||NODATE^Anna||notadate|F")  # no date of birth
    failed = wait_for_job(demo_client, h, _post_batch(demo_client, h, fresh).json()["status_url"])
    assert failed["status"] == "failed"
    assert [p["message"] for p in failed["error"]["problems"]] == [18]
    assert "nothing was applied" in failed["error"]["detail"]
    assert _count(demo_database, Participant) == created


def _people_bundle(n: int, *, start: int = 0) -> dict:
    entries = []
    for i in range(start, start + n):
        entries.append({"resource": {
            "resourceType": "Patient", "id": f"bp{i}",
            "identifier": [{"system": "https://gmc.example/trust/RQ3", "value": f"BUNDLE{i:05d}"}],
            "name": [{"family": f"Bundleman{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}", "given": ["Jo"]}],
            "gender": "female", "birthDate": f"{1950 + i % 50}-0{1 + i % 9}-1{i % 9}"}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_large_fhir_bundle_runs_as_a_job_all_or_nothing(demo_app, demo_client, bearer, demo_database):
    h = bearer(demo_client, "recruiter")
    # Patients shaped as gmc exports them (the hospital-number system of a trust): read back one exported Patient.
    made = demo_client.post("/api/participants", json={
        "family_name": "Template", "given_name": "Jo", "date_of_birth": "1970-01-01", "sex": "female",
        "trust_code": "RQ3", "hospital_number": "TPL1"}, headers=h).json()["participant"]["participant_id"]
    system = demo_client.get(f"/api/fhir/Patient/{made}", headers=h).json()["identifier"]
    hospital_system = next(i["system"] for i in system if i["value"] == "TPL1")
    bundle = _people_bundle(30)
    for e in bundle["entry"]:
        e["resource"]["identifier"][0]["system"] = hospital_system
    demo_app.state.settings.import_job_bytes = 1024
    resp = demo_client.post("/api/fhir", json=bundle, headers=h, params={"trust_code": "RQ3"})
    assert resp.status_code == 202, resp.text
    job = wait_for_job(demo_client, h, resp.json()["status_url"])
    assert job["status"] == "succeeded", job["error"]
    assert job["kind"] == "registry.fhir_bundle" and job["rows_done"] == job["rows_total"] == 30
    assert job["result"]["created"] == 30 and _count(demo_database, Participant) == 31
    again = wait_for_job(demo_client, h, demo_client.post("/api/fhir", json=bundle, headers=h,
                                                   params={"trust_code": "RQ3"}).json()["status_url"])
    assert again["result"]["linked"] == 30 and _count(demo_database, Participant) == 31
    # A Bundle whose last entry is not a Patient or Consent: refused whole, nothing added.
    bad = _people_bundle(30, start=200)
    for e in bad["entry"]:
        e["resource"]["identifier"][0]["system"] = hospital_system
    bad["entry"].append({"resource": {"resourceType": "Observation", "id": "x"}})
    failed = wait_for_job(demo_client, h, demo_client.post("/api/fhir", json=bad, headers=h,
                                                    params={"trust_code": "RQ3"}).json()["status_url"])
    assert failed["status"] == "failed" and failed["error"]["field"] == "entry[30]"
    assert _count(demo_database, Participant) == 31 and _count(demo_database, Consent) == 0
