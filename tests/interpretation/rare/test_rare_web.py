"""The case interpretation page and API: tiers, ranking, ACMG panel, overrides, diagnosis, queued runs."""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from gmc.audit.service import Actor
from gmc.interpretation.models import InterpretationRun
from gmc.interpretation.rare import service
from gmc.registry.models import Case

_spec = importlib.util.spec_from_file_location("rare_service_tests", Path(__file__).with_name("test_rare_service.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


@pytest.fixture(scope="module")
def kbg_vcf(benchmarks_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spiked KBG exome (chromosome 16) of the service tests."""
    return helpers.kbg_vcf.__wrapped__(benchmarks_dir, tmp_path_factory)


def _case_with_run(demo_database, benchmarks_dir, kbg_vcf) -> tuple[str, str]:
    observed, excluded, _ = helpers.kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        case_id = helpers.make_rare_case(session, observed, excluded)
        scientist = helpers.user(session, "scientist")
        service.import_panelapp(session, actor=Actor.system("test"))
        service.apply_panel(session, scientist, case_id, "Intellectual disability")
        run = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        return case_id, run.run_id


def test_page_shows_tiers_ranking_acmg_and_records_override_and_diagnosis(
        demo_database, demo_client, login, benchmarks_dir, kbg_vcf):
    case_id, run_id = _case_with_run(demo_database, benchmarks_dir, kbg_vcf)
    login(demo_client, "scientist")
    page = demo_client.get(f"/cases/{case_id}/interpretation")
    assert page.status_code == 200
    html = page.text
    assert "#1 ANKRD11" in html and "Tier 1" in html
    assert "KBG syndrome" in html and "OMIM:148050" in html  # the explanation: disease and matched terms
    # links out: the disease's OMIM entry, each HPO term, and the gene in OMIM, PanelApp and gnomAD
    assert 'href="https://www.omim.org/entry/148050"' in html and 'href="https://hpo.jax.org/browse/term/HP:' in html
    assert 'href="https://panelapp.genomicsengland.co.uk/panels/entities/ANKRD11"' in html
    assert 'href="https://gnomad.broadinstitute.org/gene/ANKRD11?dataset=gnomad_r4"' in html
    assert "Intellectual disability" in html and "PVS1" in html and "Override" in html
    filtered = demo_client.get(f"/cases/{case_id}/interpretation", params={"tier": "1", "gene": "ANKRD"})
    assert "#1 ANKRD11" in filtered.text and "of " in filtered.text
    none = demo_client.get(f"/cases/{case_id}/interpretation", params={"gene": "NOSUCHGENE"})
    assert "No ranked gene matches the filters" in none.text
    with demo_database.transaction() as session:
        run = session.execute(select(InterpretationRun).where(InterpretationRun.run_id == run_id)).scalar_one()
        top = run.results["genes"][0]
        variant = top["variants"][0]["variant"]
    # the explanation a scientist acts on: why ranked, inheritance sentence, phenotype source, the allele's score
    # and ClinVar record, next to the ACMG criteria
    card = html[html.index('id="g-ANKRD11"'):html.index('id="g-', html.index('id="g-ANKRD11"') + 1)]
    assert "Why ranked" in card and escape(top["explanation"]["summary"]) in card
    assert top["inheritance"] and escape(top["inheritance"]) in card
    source = top["explanation"]["phenotype"]["source"]
    assert source.startswith("HPO ") and escape(source) in card
    assert escape(top["variants"][0]["why"]) in card
    clinvar = top["variants"][0]["clinvar"]
    assert (escape(clinvar["accession"]) in card) if clinvar else ("not in ClinVar" in card)
    assert "PVS1" in card
    csrf = demo_client.cookies.get("gmc_csrf")
    refused = demo_client.post(f"/cases/{case_id}/interpretation/acmg", data={
        "csrf_token": csrf, "run_id": run_id, "variant_id": variant, "code": "PVS1", "met": "no", "reason": ""})
    assert refused.status_code == 422 and "needs a reason" in refused.text
    done = demo_client.post(f"/cases/{case_id}/interpretation/acmg", data={
        "csrf_token": csrf, "run_id": run_id, "variant_id": variant, "code": "PVS1", "met": "no",
        "reason": "second transcript rescues"}, follow_redirects=True)
    assert done.status_code == 200 and "second transcript rescues" in done.text
    note = demo_client.post(f"/cases/{case_id}/interpretation/notes", data={
        "csrf_token": csrf, "text": "Discussed at MDT", "tags": "mdt, candidate", "gene": "ANKRD11"},
        follow_redirects=True)
    assert "Discussed at MDT" in note.text and "candidate" in note.text
    chosen = demo_client.post(f"/cases/{case_id}/interpretation/diagnosis", data={
        "csrf_token": csrf, "run_id": run_id, "gene": "ANKRD11", "note": "fits the facial gestalt"},
        follow_redirects=True)
    assert chosen.status_code == 200 and "fits the facial gestalt" in chosen.text
    with demo_database.transaction() as session:
        assert session.execute(select(Case.status).where(Case.case_id == case_id)).scalar_one() == "review"
    listing = demo_client.get("/rare")
    assert case_id in listing.text and "ANKRD11" in listing.text


def test_queued_run_through_the_api_finishes_in_the_background(
        demo_database, demo_client, bearer, benchmarks_dir, kbg_vcf):
    case_id, first = _case_with_run(demo_database, benchmarks_dir, kbg_vcf)
    headers = bearer(demo_client, "scientist")
    outside = demo_client.post(f"/api/rare/cases/{case_id}/runs", json={"vcf": str(kbg_vcf)}, headers=headers)
    assert outside.status_code == 422 and "server paths are not accepted" in outside.json()["detail"]
    incoming = Path(demo_client.app.state.settings.data_dir) / "incoming" / "WMGMC"
    incoming.mkdir(parents=True, exist_ok=True)
    bad = demo_client.post(f"/api/rare/cases/{case_id}/runs", json={"vcf": "incoming:none.vcf.gz"},
                           headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "vcf"
    uploaded = demo_client.post("/api/uploads", params={"filename": kbg_vcf.name}, content=kbg_vcf.read_bytes(),
                                headers=headers)
    assert uploaded.status_code == 201 and uploaded.json()["reference"].startswith("upload:U")
    queued = demo_client.post(f"/api/rare/cases/{case_id}/runs", json={"vcf": uploaded.json()["reference"]},
                              headers=headers)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    # The test client runs background tasks before returning; the run is finished by now.
    runs = demo_client.get(f"/api/rare/cases/{case_id}/runs", headers=headers).json()
    assert [r["status"] for r in runs] == ["done", "done"]
    result = demo_client.get(f"/api/rare/runs/{queued.json()['run_id']}", headers=headers).json()
    assert result["results"]["comparison"]["previous_run"] == first
    assert result["results"]["genes"][0]["gene"] == "ANKRD11"
    missing = demo_client.post(f"/api/rare/cases/{case_id}/panels", json={"panel": "no such panel"}, headers=headers)
    assert missing.status_code == 404
    page = demo_client.get(f"/cases/{case_id}/interpretation/status", headers=headers)
    assert page.status_code == 200 and "every 2s" not in page.text  # nothing pending: no more polling
    polled = demo_client.get(f"/cases/{case_id}/interpretation/status", headers={**headers, "HX-Request": "true"})
    assert polled.headers.get("HX-Refresh") == "true"  # the waiting page reloads to show the results
    with demo_database.transaction() as session:
        waiting = service.queue_rare_run(session, helpers.user(session, "scientist"), case_id).run_id
    page = demo_client.get(f"/cases/{case_id}/interpretation", headers=headers)
    assert f"Run {waiting} started" in page.text and 'hx-trigger="every 2s"' in page.text


def test_run_form_takes_the_vcf_as_an_upload(demo_database, demo_client, login, benchmarks_dir, kbg_vcf) -> None:
    from gmc.files.models import Upload

    case_id, first = _case_with_run(demo_database, benchmarks_dir, kbg_vcf)
    login(demo_client, "scientist")
    csrf = demo_client.cookies.get("gmc_csrf")
    refused = demo_client.post(f"/cases/{case_id}/interpretation/runs", data={"csrf_token": csrf, "vcf": str(kbg_vcf)})
    assert refused.status_code == 422 and "server paths are not accepted" in refused.text
    done = demo_client.post(f"/cases/{case_id}/interpretation/runs", data={"csrf_token": csrf},
                            files={"vcf_file": (kbg_vcf.name, kbg_vcf.read_bytes(), "application/gzip")},
                            follow_redirects=False)
    assert done.status_code == 303, done.text
    with demo_database.transaction() as session:
        upload = session.execute(select(Upload)).scalar_one()
        runs = session.execute(select(InterpretationRun).order_by(InterpretationRun.id)).scalars().all()
    assert upload.filename == kbg_vcf.name and upload.size == kbg_vcf.stat().st_size
    assert runs[-1].status == "done" and runs[-1].inputs["vcf"].endswith(upload.stored_name.split("/")[-1])
    assert runs[-1].results["comparison"]["previous_run"] == first
