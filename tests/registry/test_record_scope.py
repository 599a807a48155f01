"""Records cannot be taken over across trusts or centres: registration, linkage, HL7 feeds, duplicates, merges and
user administration, tried as an attacker from South London against West Midlands records, on both engines."""

from __future__ import annotations

import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor
from gmc.organisations.models import Trust
from gmc.registry.models import LinkRequest, Participant, TrustRegistration

WM_CHILD = {"family_name": "Okonkwo", "given_name": "Chidera", "date_of_birth": "2016-04-12", "sex": "female",
            "nhs_number": "9434765919", "postcode": "B15 2TT", "trust_code": "RQ3", "hospital_number": "BCH-77"}


def _register_wm_child(client, bearer) -> str:
    resp = client.post("/api/participants", json=WM_CHILD, headers=bearer(client, "recruiter"))
    assert resp.status_code == 201, resp.text
    return resp.json()["participant"]["participant_id"]


def _rows(db, model, **where) -> list:
    with db.session() as s:
        return list(s.execute(sa.select(model).filter_by(**where)).scalars())


def _admin_token(database, username: str) -> dict[str, str]:
    """An API token of an admin, made as the CLI does (admins sign in with a second factor, set up elsewhere)."""
    from gmc.auth.models import User
    from gmc.auth.service import create_token

    with database.transaction() as s:
        user = s.execute(sa.select(User).where(User.username == username)).scalar_one()
        secret = create_token(s, actor=Actor.system("test"), user=user, name="test", days=1)[1]
    return {"Authorization": f"Bearer {secret}"}


def test_another_centre_learns_only_whom_to_contact_and_cannot_link(demo_client, bearer, demo_database) -> None:
    pid = _register_wm_child(demo_client, bearer)
    sl = bearer(demo_client, "sl-recruiter")
    attempt = {**WM_CHILD, "nhs_number": None, "postcode": None, "hospital_number": None, "trust_code": "RJ1"}
    resp = demo_client.post("/api/participants", json=attempt, headers=sl)
    assert resp.status_code == 409
    body = resp.json()
    assert body["elsewhere"] == [{"centre_code": "WMGMC", "centre_name": body["elsewhere"][0]["centre_name"]}]
    assert "West Midlands" in body["detail"] and "request_link" in body["detail"]
    text = resp.text
    for secret in (pid, "B15", "2016-04-12", "candidates"):
        assert secret not in text, f"{secret} leaked to another centre"
    # Naming the record (its id, or its NHS number) reaches nothing.
    assert demo_client.post("/api/participants", json={**attempt, "decision": f"link:{pid}"},
                            headers=sl).status_code == 404
    by_nhs = demo_client.post("/api/participants", json={**attempt, "nhs_number": WM_CHILD["nhs_number"]},
                              headers=sl)
    assert by_nhs.status_code == 409 and by_nhs.json()["nhs_number_match"] is True and pid not in by_nhs.text
    again_new = demo_client.post("/api/participants", json={**attempt, "nhs_number": WM_CHILD["nhs_number"],
                                                            "decision": "new"}, headers=sl)
    assert again_new.status_code == 409  # an NHS number held elsewhere is never registered twice
    assert demo_client.get(f"/api/participants/{pid}", headers=sl).status_code == 404
    with demo_database.session() as s:
        rj1 = s.execute(sa.select(Trust.id).where(Trust.code == "RJ1")).scalar_one()
        assert s.execute(sa.select(sa.func.count()).select_from(TrustRegistration).where(
            TrustRegistration.trust_id == rj1)).scalar_one() == 0
        assert s.execute(sa.select(sa.func.count()).select_from(Participant).where(
            Participant.family_name == "Okonkwo")).scalar_one() == 1

    # The attacker may only ask; West Midlands sees the request with its own candidate and decides.
    asked = demo_client.post("/api/participants", json={**attempt, "nhs_number": WM_CHILD["nhs_number"],
                                                        "hospital_number": "GST-1", "decision": "request_link"},
                             headers=sl)
    assert asked.status_code == 202 and asked.json()["status"] == "pending" and pid not in asked.text
    request_id = asked.json()["id"]
    mine = demo_client.get("/api/link-requests", headers=sl).json()
    assert [r["id"] for r in mine] == [request_id] and mine[0]["candidates"] == [] and mine[0]["you_requested"]
    wm = bearer(demo_client, "recruiter")
    theirs = demo_client.get("/api/link-requests", headers=wm).json()
    assert theirs[0]["you_decide"] and theirs[0]["candidates"][0]["participant_id"] == pid
    assert demo_client.post(f"/api/link-requests/{request_id}/approve", json={"participant_id": pid},
                            headers=sl).status_code == 404  # the requester cannot approve its own request
    done = demo_client.post(f"/api/link-requests/{request_id}/approve", json={"participant_id": pid,
                                                                               "reason": "same child"}, headers=wm)
    assert done.status_code == 200 and done.json()["status"] == "linked"
    assert demo_client.get(f"/api/participants/{pid}", headers=sl).status_code == 200
    # The link is filed under the record's own trust too, so West Midlands' admin sees who linked it.
    with demo_database.session() as s:
        rq3 = s.execute(sa.select(Trust.id).where(Trust.code == "RQ3")).scalar_one()
        record = s.execute(sa.select(Participant).where(Participant.participant_id == pid)).scalar_one()
        links = s.execute(sa.select(AuditEvent.trust_id).where(
            AuditEvent.verb == "link", AuditEvent.entity_id == str(record.id))).scalars().all()
    assert {rq3, rj1} <= set(links)
    wm_audit = demo_client.get("/api/audit/events", params={"verb": "link"}, headers=bearer(demo_client, "admin"))
    assert any(e["entity_id"] == str(record.id) for e in wm_audit.json())


def test_a_rejected_request_lets_the_requester_register_only_a_different_nhs_number(demo_client, bearer,
                                                                                     demo_database) -> None:
    _register_wm_child(demo_client, bearer)
    sl, wm = bearer(demo_client, "sl-recruiter"), bearer(demo_client, "recruiter")
    similar = {**WM_CHILD, "nhs_number": None, "given_name": "Chidara", "hospital_number": "GST-2",
               "trust_code": "RJ1"}
    asked = demo_client.post("/api/participants", json={**similar, "decision": "request_link"}, headers=sl)
    assert asked.status_code == 202
    rid = asked.json()["id"]
    assert demo_client.post(f"/api/link-requests/{rid}/reject", json={"reason": "not the same person"}, headers=sl).status_code == 403
    rejected = demo_client.post(f"/api/link-requests/{rid}/reject", json={"reason": "twin sister"}, headers=wm)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    made = demo_client.post(f"/api/link-requests/{rid}/register-new", json={}, headers=sl)
    assert made.status_code == 200 and made.json()["status"] == "registered_new" and made.json()["participant_id"]
    assert demo_client.post(f"/api/link-requests/{rid}/register-new", json={}, headers=sl).status_code == 409
    assert len(_rows(demo_database, LinkRequest)) == 1


def test_hl7_from_another_trust_neither_overwrites_nor_creates(demo_client, bearer, demo_database, adt,
                                                               hl7_feed) -> None:
    pid = _register_wm_child(demo_client, bearer)
    # South London's own interface, bound to RJ1, sends an A08 with the West Midlands child's NHS number.
    sl_feed = hl7_feed("RJ1")
    a08 = adt("A08", "RJ1-1", "PID|1||9434765919^^^NHS^NH||TAKEN^Over||20000101|M|||^^^^SE1 7EH", facility="RJ1")
    resp = demo_client.post("/api/hl7/adt", content=a08.encode(), headers=sl_feed)
    assert resp.status_code == 404 and "MSA|AE" in resp.text
    with demo_database.session() as s:
        child = s.execute(sa.select(Participant).where(Participant.participant_id == pid)).scalar_one()
        assert (child.family_name, child.given_name, str(child.date_of_birth), child.sex, child.postcode) == (
            "Okonkwo", "Chidera", "2016-04-12", "female", "B15 2TT")
    # Another West Midlands trust's A04 for the same child with a typo: held for review, not created.
    rrk_feed = hl7_feed("RRK")
    a04 = adt("A04", "RRK-5", "PID|1||RRK555^^^RRK^MR||OKONKWO^Chidra||20160412|F", facility="RRK")
    held = demo_client.post("/api/hl7/adt", content=a04.encode(), headers=rrk_feed)
    assert held.status_code == 200 and "MSA|AA" in held.text
    assert len(_rows(demo_database, Participant, family_name="Okonkwo")) == 1
    pending = demo_client.get("/api/link-requests", headers=bearer(demo_client, "recruiter")).json()
    assert pending and pending[0]["source"] == "hl7" and pending[0]["candidates"][0]["participant_id"] == pid


def test_duplicates_across_scopes_are_never_shown_nor_decided(demo_client, bearer, demo_database) -> None:
    wm, sl = bearer(demo_client, "recruiter"), bearer(demo_client, "sl-recruiter")
    _register_wm_child(demo_client, bearer)
    twin = {**WM_CHILD, "nhs_number": None, "hospital_number": "BCH-78", "given_name": "Chidra"}
    assert demo_client.post("/api/participants", json={**twin, "decision": "new"}, headers=wm).status_code == 201
    pairs = demo_client.get("/api/duplicates", headers=wm).json()
    assert len(pairs) == 1
    dup = pairs[0]["id"]
    # South London neither sees the pair nor decides it; a registration by it never lists West Midlands people.
    assert demo_client.get("/api/duplicates", headers=sl).json() == []
    assert demo_client.post(f"/api/duplicates/{dup}/reject", json={"reason": "not the same person"}, headers=sl).status_code == 404
    assert demo_client.post(f"/api/duplicates/{dup}/merge", json={
        "survivor_participant_id": pairs[0]["a"]["participant_id"], "reason": "same person"}, headers=sl).status_code == 404
    merged = demo_client.post(f"/api/duplicates/{dup}/merge", json={
        "survivor_participant_id": pairs[0]["a"]["participant_id"], "reason": "same child"}, headers=wm)
    assert merged.status_code == 200
    merge_id = merged.json()["merge_id"]
    assert demo_client.post(f"/api/merges/{merge_id}/unmerge", json={"reason": "not the same person"}, headers=sl).status_code == 404
    with demo_database.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Participant).where(
            Participant.merged_into_id.is_not(None))).scalar_one() == 1
    reads = _rows(demo_database, AuditEvent, verb="search", entity_type="participant")
    assert any(e.summary.get("worklist") == "duplicates" for e in reads)  # the worklist read is audited


def test_admins_manage_only_their_own_centre(demo_client, bearer, demo_database) -> None:
    from gmc.auth.models import User
    from gmc.auth.service import create_user

    wm = bearer(demo_client, "admin")
    base = {"password": "another-password-2026", "roles": ["admin"]}
    national = demo_client.post("/api/users", json={**base, "username": "rogue-national"}, headers=wm)
    assert national.status_code == 403 and "national" in national.json()["detail"]
    other_centre = demo_client.post("/api/users", json={**base, "username": "rogue-sl", "centre_code": "SLGMC",
                                                        "centre_wide": True}, headers=wm)
    assert other_centre.status_code == 403
    sl_trust = demo_client.post("/api/users", json={**base, "username": "rogue-rj1", "trust_codes": ["RJ1"]},
                                headers=wm)
    assert sl_trust.status_code == 403
    own = demo_client.post("/api/users", json={**base, "username": "wm-admin-2", "centre_code": "WMGMC",
                                               "trust_codes": ["RRK"]}, headers=wm)
    assert own.status_code == 201
    # A trust-scoped admin manages only users confined to its trusts.
    trust_admin = _admin_token(demo_database, "wm-admin-2")
    wide = demo_client.post("/api/users", json={**base, "username": "wm-wide", "centre_code": "WMGMC",
                                                "centre_wide": True, "roles": ["lab"]}, headers=trust_admin)
    assert wide.status_code == 403
    listed = {u["username"] for u in demo_client.get("/api/users", headers=trust_admin).json()}
    assert listed == {"wm-admin-2"}
    with demo_database.transaction() as s:
        create_user(s, actor=Actor.system("test"), username="sl-admin", password=base["password"],
                    roles=["admin"], centre_code="SLGMC", centre_wide=True)
    sl_admin = _admin_token(demo_database, "sl-admin")
    assert {u["username"] for u in demo_client.get("/api/users", headers=sl_admin).json()} == {"sl-admin",
                                                                                                 "sl-recruiter"}
    recruiter_token = demo_client.post("/api/tokens", json={"name": "mine"}, headers=bearer(demo_client, "recruiter"))
    assert demo_client.delete(f"/api/tokens/{recruiter_token.json()['id']}", headers=sl_admin).status_code == 404
    with demo_database.session() as s:
        names = set(s.execute(sa.select(User.username)).scalars())
    assert not names & {"rogue-national", "rogue-sl", "rogue-rj1", "wm-wide"}


def test_the_pages_ask_the_holding_centre_and_let_it_decide(demo_client, bearer, login, demo_database) -> None:
    pid = _register_wm_child(demo_client, bearer)
    login(demo_client, "sl-recruiter")
    csrf = demo_client.cookies.get("gmc_csrf")
    form = {"csrf_token": csrf, "trust_code": "RJ1", "family_name": "Okonkwo", "given_name": "Chidera",
            "date_of_birth": "2016-04-12", "sex": "female", "hospital_number": "GST-3"}
    page = demo_client.post("/participants/new", data={**form, "decision": "check"})
    assert page.status_code == 409 and "A record may exist at another centre" in page.text
    assert pid not in page.text and "B15" not in page.text
    sent = demo_client.post("/participants/new", data={**form, "decision": "request_link"}, follow_redirects=True)
    assert sent.status_code == 200 and "Link request" in sent.text and "sent" in sent.text
    demo_client.cookies.clear()
    login(demo_client, "recruiter")
    listing = demo_client.get("/link-requests")
    assert "OKONKWO, Chidera" in listing.text and pid in listing.text and "Same person: link" in listing.text
    rid = _rows(demo_database, LinkRequest)[0].id
    done = demo_client.post(f"/link-requests/{rid}", data={"csrf_token": demo_client.cookies.get("gmc_csrf"),
                                                           "action": "approve", "participant_id": pid},
                            follow_redirects=True)
    assert "Linked" in done.text
    assert _rows(demo_database, LinkRequest)[0].status == "linked"
