"""Cancer pages and API: the demo tumour board with therapies and evidence, curation through the API, notes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit import repository as audit_repository
from gmc.audit.service import Actor
from gmc.auth.principal import Principal
from gmc.interpretation.cancer.demo import load_demo as load_cancer_demo
from gmc.interpretation.models import InterpretationRun
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.registry.models import Case


def make_cancer_case(session, indication: str, number: int) -> None:
    """A consented cancer participant at trust RQ3 and the case the registry opens for the referral."""
    system = Principal(user_id=0, username="system:test", full_name="test", roles=frozenset({"admin"}),
                       permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")
    registry.ensure_rule_sets(session, actor=system.actor)
    registry.ensure_consent_forms(session)
    person = registry.PersonInput("Webcase", "Bea", date.today() - timedelta(days=60 * 365), "female", None,
                                  "B15 2TT", "RQ3", f"W{number}")
    participant = registry.register_person(session, principal=system, person=person, decision="new").participant
    registry.create_referral(session, principal=system, participant=participant, data=registry.ReferralInput(
        "RQ3", "Dr Test", date.today() - timedelta(days=5), "cancer", indication, None, False,
        tumour_sample_expected=True, germline_sample_expected=True))
    form = registry.require_form(session, "CANCER-ADULT", "2.1")
    consent_service.record_consent(session, actor=Actor.system("test"), participant=participant, form=form,
                                   consented_on=date.today() - timedelta(days=2), given_by="participant",
                                   choices={choice: True for choice in form.choices})


@pytest.fixture
def cancer_demo(demo_database):
    """A breast and a bowel cancer case, then the cancer demo loader (real PCGR tumours interpreted on them)."""
    from gmc.demo.service import DemoSummary

    summary = DemoSummary()
    with demo_database.transaction() as session:
        load_cancer_demo(session, Actor.system("demo"), summary)  # no cancer cases yet: quietly nothing
        assert summary.created == {}
        make_cancer_case(session, "breast", 1)
        make_cancer_case(session, "colorectal", 2)
        load_cancer_demo(session, Actor.system("demo"), summary)
        load_cancer_demo(session, Actor.system("demo"), summary)  # idempotent
    assert summary.created["cancer interpretation runs"] == 2 and summary.created["curated evidence items"] == 1
    with demo_database.transaction() as session:
        runs = session.execute(select(InterpretationRun).order_by(InterpretationRun.id)).scalars().all()
        return {run.inputs["tumour_type"]: session.get(Case, run.case_id).case_id for run in runs}


def test_demo_tumour_board_and_api(cancer_demo, demo_client, login, bearer, benchmarks_dir, demo_database, exome_bed):
    breast = cancer_demo["BRCA"]
    login(demo_client, "scientist")
    page = demo_client.get(f"/cancer/cases/{breast}")
    assert page.status_code == 200, page.text
    html = page.text
    # PCGR's TCGA-A2-A04W breast tumour: PIK3CA H1047R (tier I, alpelisib) and ERBB2 amplification (trastuzumab)
    assert "PIK3CA" in html and "H1047R" in html and "Alpelisib" in html
    assert "ERBB2" in html and "Trastuzumab" in html
    assert "https://civicdb.org/links/evidence/1122" in html  # CIViC EID1122: trastuzumab in ERBB2-amplified BC
    # the demo's curated item (proposed by the scientist, approved by the admin) is part of the evidence
    assert "Alpelisib + Fulvestrant" in html and "GMC:CUR000001" in html
    assert "https://pubmed.ncbi.nlm.nih.gov/31091374/" in html
    assert "mutations/Mb" in html and "territory assumed" in html
    # therapies grouped by drug: the curated alpelisib + fulvestrant item and MOAlmanac's are one line
    assert html.count("<strong>Alpelisib + Fulvestrant</strong>") == 1
    assert "<caption>Sensitivity" in html and "Full evidence list" in html
    cases = demo_client.get("/cancer")
    assert cases.status_code == 200 and breast in cases.text
    # notes are added from the page and audited
    token = demo_client.cookies.get("gmc_csrf")
    note = demo_client.post(f"/cancer/cases/{breast}/notes", data={"text": "Discuss alpelisib.", "csrf_token": token},
                            follow_redirects=False)
    assert note.status_code == 303
    assert "Discuss alpelisib." in demo_client.get(f"/cancer/cases/{breast}").text
    with demo_database.transaction() as session:
        case_pk = session.execute(select(Case.id).where(Case.case_id == breast)).scalar_one()
        events = audit_repository.history(session, entity_type="case", entity_id=case_pk)
        assert any(e.verb == "read" and e.summary.get("view") == "tumour_board" for e in events)
        from gmc.audit.models import AuditEvent

        assert session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.entity_type == "tumour_board_note")).scalar_one() == 3  # 2 demo notes
    # (one test, so the demo is loaded once per engine) curation and runs through the API
    api_curation_and_runs(cancer_demo, demo_client, bearer, benchmarks_dir, demo_database, exome_bed)


def api_curation_and_runs(cancer_demo, demo_client, bearer, benchmarks_dir, demo_database, exome_bed) -> None:
    """Two-curator approval, search, permissions and a refused run, through the JSON API."""
    scientist, admin = bearer(demo_client, "scientist"), bearer(demo_client, "admin")
    record = {"gene": "KRAS", "alteration": "G12C", "evidence_type": "predictive", "level": "A",
              "significance": "Sensitivity/Response", "tumour_type": "NSCLC", "therapies": ["GMC-API-DRUG"]}
    made = demo_client.post("/api/cancer/curation/proposals", headers=scientist,
                            json={"action": "add", "record": record, "reason": "approved drug"})
    assert made.status_code == 201, made.text
    version_pk, evidence_id = made.json()["version_pk"], made.json()["evidence_id"]
    assert [v["version_pk"] for v in demo_client.get("/api/cancer/curation/queue", headers=admin).json()] == [version_pk]

    def live_ids() -> set[str]:
        resp = demo_client.get("/api/cancer/knowledge", params={"gene": "KRAS", "alteration": "G12C"}, headers=scientist)
        assert resp.status_code == 200
        return {item["id"] for item in resp.json()["items"]}

    assert evidence_id not in live_ids()
    own = demo_client.post(f"/api/cancer/curation/proposals/{version_pk}/approve", headers=scientist, json={})
    assert own.status_code == 403
    assert demo_client.post(f"/api/cancer/curation/proposals/{version_pk}/approve", headers=admin,
                            json={"reason": "ok"}).status_code == 200
    assert evidence_id in live_ids()
    history = demo_client.get(f"/api/cancer/curation/items/{evidence_id}", headers=scientist).json()
    assert history["status"] == "live" and history["versions"][0]["reviewed_by"] == "admin"
    # the curated items list pages, filters and sorts on the server, with the state in the URL
    def listed(**params: str) -> list[str]:
        page = demo_client.get("/cancer/curation", params=params)
        assert page.status_code == 200
        items = page.text.split('id="items"', 1)[1]
        return re.findall(r'<td><a href="/cancer/curation/items/([^"]+)">', items)

    everything = listed()
    assert evidence_id in everything and len(everything) == 2  # the demo's PIK3CA item and this one
    assert listed(gene="kras") == [evidence_id]
    assert evidence_id not in listed(gene="PIK3CA") and listed(gene="PIK3CA")
    assert listed(status="retired") == [] and set(listed(status="live")) >= {evidence_id}
    assert listed(sort="gene", dir="asc") == sorted(everything, key=lambda e: e != evidence_id)  # KRAS first
    assert listed(sort="gene", dir="desc")[-1] == evidence_id
    # a clinician may read but not curate
    clinician = bearer(demo_client, "clinician")
    assert demo_client.post("/api/cancer/curation/proposals", headers=clinician,
                            json={"action": "add", "record": record, "reason": "x"}).status_code == 403
    # a bad tumour type is refused with the field named, and nothing is stored
    case_id = cancer_demo["BRCA"]
    with demo_database.transaction() as session:
        before = session.execute(select(func.count()).select_from(InterpretationRun)).scalar_one()
    bad = demo_client.post(f"/api/cancer/cases/{case_id}/runs", headers=scientist, json={
        "tumour_type": "NOPE", "vcf": "benchmarks:cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz"})
    assert bad.status_code == 422 and bad.json()["field"] == "tumour_type"
    with demo_database.transaction() as session:
        assert session.execute(select(func.count()).select_from(InterpretationRun)).scalar_one() == before
    # a combination that cannot be parsed is refused with the field named, nothing proposed
    unparsable = demo_client.post("/api/cancer/curation/proposals", headers=scientist, json={
        "action": "add", "record": {**record, "therapies": "Sotorasib, Panitumumab"}, "reason": "trial"})
    assert unparsable.status_code == 422 and unparsable.json()["field"] == "therapies"
    assert "Sotorasib, Panitumumab" in unparsable.json()["detail"]
    # a callable BED of the other build is refused with the field named, and no run is stored
    incoming = Path(demo_client.app.state.settings.data_dir) / "incoming" / "WMGMC"
    incoming.mkdir(parents=True, exist_ok=True)
    exome_bed("GRCh37", incoming / "panel_hg19.bed", genes=3000)
    wrong = demo_client.post(f"/api/cancer/cases/{case_id}/runs", headers=scientist, json={
        "tumour_type": "BRCA", "callable": "incoming:panel_hg19.bed",
        "vcf": "benchmarks:cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "callable" and "GRCh37" in wrong.json()["detail"]
    with demo_database.transaction() as session:
        assert session.execute(select(func.count()).select_from(InterpretationRun)).scalar_one() == before
    board = demo_client.get(f"/api/cancer/cases/{case_id}/board", headers=scientist).json()
    assert board["results"]["tmb"]["per_mb"] > 0
    run_id = board["run"]["run_id"]
    run = demo_client.get(f"/api/cancer/runs/{run_id}", headers=scientist).json()
    assert run["provenance"]["knowledge_base"] and run["results"]["findings"]
    page = demo_client.get("/cancer/knowledge", params={"gene": "KRAS", "alteration": "G12C"}, headers=scientist)
    assert page.status_code == 200 and evidence_id in page.text
