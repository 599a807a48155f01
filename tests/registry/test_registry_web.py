"""The registry as users meet it: pages and API, scoping, duplicates, consent shown everywhere."""

from __future__ import annotations

import re

import pytest


def _csrf(client) -> str:
    return client.cookies.get("gmc_csrf")


def _register(client, **fields):
    data = {"csrf_token": _csrf(client), "decision": "check", "sex": "female", **fields}
    return client.post("/participants/new", data=data, follow_redirects=False)


CHILD = {"trust_code": "RQ3", "hospital_number": "BCH777", "nhs_number": "943 476 5919", "family_name": "Okafor",
         "given_name": "Amara", "date_of_birth": "2015-03-14", "postcode": "B15 2TT"}


def test_recruiter_journey_family_duplicate_consent_withdrawal(demo_app, demo_client, login) -> None:
    from fastapi.testclient import TestClient

    login(demo_client, "recruiter")
    resp = _register(demo_client, **CHILD)
    assert resp.status_code == 303
    pid = re.search(r"/participants/(P\d{8})", resp.headers["location"]).group(1)
    mother = _register(demo_client, trust_code="RQ3", family_name="Okafor", given_name="Grace",
                       date_of_birth="1985-06-02", postcode="B15 2TT")
    mother_pid = re.search(r"/participants/(P\d{8})", mother.headers["location"]).group(1)
    csrf = _csrf(demo_client)
    assert demo_client.post(f"/participants/{pid}/family", data={"csrf_token": csrf}).status_code == 200
    resp = demo_client.post(f"/participants/{pid}/family", data={"csrf_token": csrf, "relative_id": mother_pid,
                                                                 "relation": "mother", "affected": "unaffected"})
    assert resp.status_code == 200 and "Grace Okafor" in resp.text
    resp = demo_client.post(f"/participants/{pid}/referrals", data={
        "csrf_token": csrf, "trust_code": "RQ3", "referring_clinician": "Dr Patel", "referral_date": "2024-05-01",
        "programme_arm": "rare_disease", "clinical_indication": "Intellectual disability", "family_structure": "trio",
        "prior_tests_completed": "true"})
    assert resp.status_code == 200 and "eligible" in resp.text
    choices = {f"choice_{c}": "yes" for c in ("taking_part", "research_data", "research_samples",
                                             "additional_findings", "recontact")}
    resp = demo_client.post(f"/participants/{pid}/consents", data={
        "csrf_token": csrf, "form": "RD-CHILD|3.0", "consented_on": "2024-05-01", "given_by": "parent_guardian",
        "given_by_name": "Grace Okafor", "assent": "assented", **choices})
    assert resp.status_code == 200 and 'id="consent-status">consented<' in resp.text

    # A second trust's clinician re-enters the same child with a typo and no NHS number.
    with TestClient(demo_app) as other:
        login(other, "clinician")
        resp = _register(other, trust_code="RRK", family_name="Okafur", given_name="Amara",
                         date_of_birth="2015-03-14", postcode="B15 2TT", hospital_number="UHB42")
        assert resp.status_code == 409
        assert "may already be registered" in resp.text and pid in resp.text
        resp = _register(other, trust_code="RRK", family_name="Okafur", given_name="Amara",
                         date_of_birth="2015-03-14", postcode="B15 2TT", hospital_number="UHB42",
                         decision=f"link:{pid}")
        assert resp.status_code == 303 and pid in resp.headers["location"]
        page = other.get(f"/participants/{pid}")
        assert "UHB42" in page.text and "BCH777" in page.text

        # Withdrawal by the recruiter shows everywhere at once: the other trust's view, the API, search.
        resp = demo_client.post(f"/participants/{pid}/withdrawal", data={"csrf_token": csrf,
                                                                          "level": "no_further_use"})
        assert resp.status_code == 200
        assert 'id="consent-status">withdrawn: no further use<' in other.get(f"/participants/{pid}").text
        assert "withdrawn: no further use" in other.get("/participants?q=Okafor").text
        check = other.get(f"/api/participants/{pid}/consent-check?action=sequence").json()
        assert check == {"action": "sequence", "allowed": False,
                         "reason": "the participant withdrew (no further use)"}


def test_other_centre_cannot_see_participant(demo_app, demo_client, login, bearer) -> None:
    from fastapi.testclient import TestClient

    login(demo_client, "recruiter")
    pid = re.search(r"(P\d{8})", _register(demo_client, **CHILD).headers["location"]).group(1)
    with TestClient(demo_app) as south:
        login(south, "sl-recruiter")
        assert south.get(f"/participants/{pid}").status_code == 404
        assert pid not in south.get("/participants?q=Okafor").text
        assert south.get(f"/api/participants/{pid}").status_code == 404
    with TestClient(demo_app) as lab:
        assert lab.get(f"/api/participants/{pid}", headers=bearer(lab, "lab")).status_code == 200
        assert lab.post("/api/participants", json={"family_name": "X", "given_name": "Y"},
                        headers=bearer(lab, "lab")).status_code == 403


def test_api_registration_statuses_and_bad_input(demo_client, bearer) -> None:
    h = bearer(demo_client, "recruiter")
    body = {"family_name": "Patel", "given_name": "Ravi", "date_of_birth": "1971-09-30", "sex": "male",
            "nhs_number": "9434765870", "trust_code": "RLU", "hospital_number": "BWH1"}
    created = demo_client.post("/api/participants", json=body, headers=h)
    assert created.status_code == 201 and created.json()["created"] is True
    pid = created.json()["participant"]["participant_id"]
    again = demo_client.post("/api/participants", json={**body, "hospital_number": None}, headers=h)
    assert again.status_code == 200 and again.json()["linked_reason"] == "same NHS number"
    similar = demo_client.post("/api/participants", json={**body, "nhs_number": None, "given_name": "Ravindra",
                                                          "hospital_number": None}, headers=h)
    assert similar.status_code == 409 and similar.json()["candidates"][0]["participant_id"] == pid
    bad = demo_client.post("/api/participants", json={**body, "nhs_number": "1234567890"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "nhs_number"
    impossible = demo_client.post("/api/participants", json={**body, "date_of_birth": "2021-02-30"}, headers=h)
    assert impossible.status_code == 422 and "date_of_birth" in impossible.json()["detail"]
    stale = demo_client.patch(f"/api/participants/{pid}", json={"version": 99, "postcode": "B1 1AA"}, headers=h)
    assert stale.status_code == 409
    ok = demo_client.patch(f"/api/participants/{pid}", json={"version": 1, "postcode": "b11aa"}, headers=h)
    assert ok.status_code == 200 and ok.json()["postcode"] == "B1 1AA"
    timeline = demo_client.get(f"/api/participants/{pid}/timeline", headers=h).json()
    assert [e["verb"] for e in timeline][:2] == ["update", "link"]


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_duplicate_worklist_merge_and_unmerge(demo_client, login, bearer) -> None:
    h = bearer(demo_client, "admin")
    a = demo_client.post("/api/participants", json={"family_name": "Khan", "given_name": "Aisha",
                                                    "date_of_birth": "1990-07-01", "sex": "female",
                                                    "trust_code": "RL4"}, headers=h).json()
    b = demo_client.post("/api/participants", json={"family_name": "Khan", "given_name": "Aysha",
                                                    "date_of_birth": "1990-07-01", "sex": "female",
                                                    "trust_code": "RKB", "decision": "new"}, headers=h).json()
    assert b["possible_duplicates"][0]["participant_id"] == a["participant"]["participant_id"]
    login(demo_client, "admin")
    page = demo_client.get("/duplicates")
    assert "Possible duplicates <span class=\"muted\">(1)" in page.text
    dup_id = demo_client.get("/api/duplicates", headers=h).json()[0]["id"]
    survivor = a["participant"]["participant_id"]
    resp = demo_client.post(f"/duplicates/{dup_id}", data={"csrf_token": _csrf(demo_client), "action": "merge",
                                                           "survivor": survivor, "reason": "confirmed by phone"})
    assert resp.status_code == 200 and "Merged" in resp.text
    merged_page = demo_client.get(f"/participants/{b['participant']['participant_id']}")
    assert "was merged into" in merged_page.text
    merges = [e for e in demo_client.get(f"/api/participants/{survivor}/timeline", headers=h).json()
              if e["verb"] == "merge"]
    undo = demo_client.post(f"/api/merges/{merges[0]['summary']['merge']}/unmerge", json={"reason": "mistake"},
                            headers=h)
    assert undo.status_code == 200
    assert demo_client.get("/api/duplicates", headers=h).json()[0]["id"] == dup_id


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_duplicate_worklist_filters_by_band_and_sorts_in_the_url(demo_client, login, bearer) -> None:
    h = bearer(demo_client, "admin")
    people = [("Khan", "Aisha", "Aysha", "1990-07-01"), ("Okafor", "Chidi", "Chidiebere", "1984-03-12")]
    for family, given, variant, dob in people:
        for name, trust in ((given, "RL4"), (variant, "RKB")):
            made = demo_client.post("/api/participants", json={"family_name": family, "given_name": name,
                                                               "date_of_birth": dob, "sex": "female",
                                                               "trust_code": trust, "decision": "new"}, headers=h)
            assert made.status_code == 201, made.text
    pairs = demo_client.get("/api/duplicates", headers=h).json()
    assert len(pairs) == 2
    login(demo_client, "admin")

    def shown(text: str) -> list[str]:
        return re.findall(r'id="candidate-(\d+)"', text)

    by_score = demo_client.get("/duplicates")
    assert "1–2 of 2 pairs" in by_score.text
    assert shown(by_score.text) == [str(d["id"]) for d in sorted(pairs, key=lambda d: (-d["score"], d["id"]))]
    newest = demo_client.get("/duplicates", params={"sort": "found", "dir": "desc"})
    assert shown(newest.text) == [str(d["id"]) for d in sorted(pairs, key=lambda d: d["id"], reverse=True)]
    for band in ("match", "possible"):
        banded = demo_client.get("/duplicates", params={"band": band})
        assert shown(banded.text) == [str(d["id"]) for d in sorted(pairs, key=lambda d: (-d["score"], d["id"]))
                                      if d["band"] == band]
        if not shown(banded.text):
            assert "No pairs match." in banded.text


def test_eligibility_rules_page_and_admin_edit(demo_client, demo_database, login, monkeypatch) -> None:
    from tests.conftest import DEMO_TOTP

    from gmc.audit.service import Actor
    from gmc.auth.service import create_user
    from gmc.common.time import utcnow

    login(demo_client, "admin")  # a centre admin: the rules are the programme's, national
    page = demo_client.get("/eligibility")
    assert "Intellectual disability" in page.text and "chronic lymphocytic leukaemia" in page.text
    refused = demo_client.post("/eligibility/rare_disease/conditions", data={
        "csrf_token": _csrf(demo_client), "name": "Ehlers-Danlos syndrome", "structures": ["singleton"],
        "action": "add"})
    assert "Not changed" in refused.text and "national" in refused.text
    with demo_database.transaction() as s:
        national = create_user(s, actor=Actor.system("test"), username="national-admin",
                               password="quarry lantern otter 2026", roles=["admin"], centre_wide=True)
        # Admins sign in to pages with a second factor: this one's authenticator holds a known key.
        national.totp_secret, national.totp_enabled_at = "GMCNATIONALADMINKEYFORTESTS23456", utcnow()
    monkeypatch.setitem(DEMO_TOTP, "national-admin", "GMCNATIONALADMINKEYFORTESTS23456")
    demo_client.cookies.clear()
    login(demo_client, "national-admin", "quarry lantern otter 2026")
    resp = demo_client.post("/eligibility/rare_disease/conditions", data={
        "csrf_token": _csrf(demo_client), "name": "Ehlers-Danlos syndrome", "structures": ["singleton", "trio"],
        "action": "add"})
    assert resp.status_code == 200 and "new rules version published" in resp.text
    assert "Ehlers-Danlos syndrome" in resp.text and "Version 2" in resp.text
