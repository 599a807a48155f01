"""Research as its users meet it: the pages (builder, count, save, request, approve by a second person, build,
download, recall), the JSON API and `gmc research ...`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from typer.testing import CliRunner

from gmc.audit.service import Actor
from gmc.cli import app as cli
from gmc.registry import consent as consent_service
from gmc.registry.models import Participant
from gmc.research import repository as repo
from gmc.research.demo import SEIZURE
from gmc.settings import reset_settings_cache

runner = CliRunner()


def _csrf(client) -> str:
    return client.cookies.get("gmc_csrf")


def test_done_when_a_researcher_finds_counts_requests_and_a_second_person_approves(world, world_app, world_db,
                                                                                    login) -> None:
    from fastapi.testclient import TestClient

    with TestClient(world_app) as researcher, TestClient(world_app) as approver:
        login(researcher, "researcher")
        login(approver, "dataaccess")
        home = researcher.get("/research")
        assert home.status_code == 200 and 'href="/research/projects">Projects (' in home.text
        # The lists page, sort and filter on the server with their state in the URL.
        assert "RP0001" in researcher.get("/research/projects?status=approved").text
        assert "RP0001" not in researcher.get("/research/projects?status=rejected").text
        releases = researcher.get("/research/releases?q=RR0001&sort=participants&dir=desc")
        assert releases.status_code == 200 and 'href="/research/releases/RR0001"' in releases.text
        assert "of 1 releases" in releases.text
        assert "RC0001" in researcher.get("/research/cohorts?project_id=RP0001").text
        assert "RC0001" not in researcher.get("/research/cohorts?project_id=RP9999").text
        page = researcher.get("/research/cohorts/new?project=RP0001")
        assert page.status_code == 200 and "Cohort builder" in page.text
        form = {"csrf_token": _csrf(researcher), "hpo_terms": SEIZURE, "hpo_match": "all", "genes": "SCN1A",
                "impacts": ["HIGH", "MODERATE"], "clinvar": "or", "max_population_af": "0.01", "pass_only": "on",
                "project_id": "RP0001"}
        count = researcher.post("/research/cohorts/count", data=form)
        assert count.status_code == 200 and "<strong>13</strong> participants" in count.text
        assert "chart-cohort-sex-data" in count.text and "&lt;10" in count.text
        terms = researcher.get("/research/hpo-options", params={"q": "seizure"})
        assert "HP:0001250" in terms.text
        saved = researcher.post("/research/cohorts", data={**form, "name": "SCN1A seizures, web"},
                                follow_redirects=False)
        assert saved.status_code == 303
        cohort_id = re.search(r"/research/cohorts/(RC\d+)", saved.headers["location"]).group(1)
        # Post/redirect/get: the outcome travels in the one-read flash cookie, not the URL, and shows once.
        assert "?" not in saved.headers["location"]
        assert "Cohort saved." in researcher.get(saved.headers["location"]).text
        assert "Cohort saved." not in researcher.get(saved.headers["location"]).text
        requested = researcher.post(f"/research/cohorts/{cohort_id}/releases", follow_redirects=False, data={
            "csrf_token": _csrf(researcher), "version": "1", "purpose": "Seizure onset ages in SCN1A carriers",
            "parts": ["participants", "phenotypes", "genotypes"], "genotypes": "cohort_genes"})
        assert requested.status_code == 303
        release_id = re.search(r"/research/releases/(RR\d+)", requested.headers["location"]).group(1)
        # The researcher cannot approve their own request.
        own = researcher.post(f"/research/releases/{release_id}/decision",
                              data={"csrf_token": _csrf(researcher), "decision": "approve"})
        assert own.status_code == 403
        queue = approver.get("/research/access")
        assert release_id in queue.text
        decided = approver.post(f"/research/releases/{release_id}/decision", follow_redirects=False,
                                data={"csrf_token": _csrf(approver), "decision": "approve", "note": "fits RP0001"})
        assert decided.status_code == 303 and "?" not in decided.headers["location"]
        assert "Release approved." in approver.get(decided.headers["location"]).text
        page = researcher.get(f"/research/releases/{release_id}")  # the build ran after the approval's response
        assert "built" in page.text and "participants.csv" in page.text and "genotypes.parquet" in page.text
        download = researcher.get(f"/api/research/releases/{release_id}/files/participants.csv")
        assert download.status_code == 200 and download.text.count("\n") == 14
        assert approver.get(f"/api/research/releases/{release_id}/files/participants.csv").status_code == 403
        # A participant of the release withdraws: the recall list shows them, and downloads stop.
        with world_db.transaction() as s:
            release = repo.get_release(s, release_id)
            member = repo.members_of(s, release.id)[0]
            consent_service.withdraw(s, actor=Actor.system("test"), participant=s.get(Participant,
                                                                                        member.participant_id),
                                     level="no_further_contact")
        page = researcher.get(f"/research/releases/{release_id}")
        assert member.research_id in page.text and "Recall list" in page.text
        assert member.research_id in researcher.get("/research").text
        assert researcher.get(f"/api/research/releases/{release_id}/files/participants.csv").status_code == 409
        confirmed = researcher.post(f"/research/releases/{release_id}/recalls/{member.research_id}",
                                    data={"csrf_token": _csrf(researcher)}, follow_redirects=False)
        assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("#recalls")
        confirmed_page = researcher.get(f"/research/releases/{release_id}").text
        assert "confirmed by researcher" in confirmed_page
        assert f"Deletion of {member.research_id} confirmed." in confirmed_page
        assert approver.get("/research").status_code == 200
        assert "Data access" in approver.get("/research/access").text


def test_api_refuses_identifiable_fields_and_wrong_roles(world_client, bearer) -> None:
    headers = bearer(world_client, "researcher")
    response = world_client.post("/api/research/cohorts/count", headers=headers,
                                 json={"criteria": {"postcode": "B15 2TT"}})
    assert response.status_code == 422 and response.json()["field"] == "postcode"
    assert "identifiable field" in response.json()["detail"]
    ok = world_client.post("/api/research/cohorts/count", headers=headers,
                           json={"criteria": {"programme_arms": ["cancer"], "cancer_types": ["BRCA"]}})
    assert ok.status_code == 200 and int(ok.json()["count"]) >= 10
    release = world_client.post("/api/research/releases", headers=headers, json={
        "cohort_id": "RC0001", "purpose": "A release naming an identifiable field",
        "contents": {"parts": ["participants", "nhs_number"]}})
    assert release.status_code == 422 and "nhs_number is an identifiable field" in release.json()["detail"]
    for user in ("programme", "clinician"):
        assert world_client.post("/api/research/cohorts/count", headers=bearer(world_client, user),
                                 json={"criteria": {}}).status_code == 403
    assert world_client.get("/api/research/releases/RR0001", headers=bearer(world_client, "programme")
                            ).status_code == 403
    dictionary = world_client.get("/api/research/data-dictionary", headers=headers).json()
    assert (dictionary[0]["table"], dictionary[0]["column"]) == ("participants", "research_id")
    columns = {(row["table"], row["column"]) for row in dictionary}
    assert ("participants", "age_at_recruitment") in columns and not any("birth" in c for _, c in columns)


def invoke(world, *args: str):
    """Runs `gmc ARGS` against the world's database and data directory."""
    reset_settings_cache()
    try:
        return runner.invoke(cli, list(args), env={"GMC_DATABASE_URL": world.url, "GMC_ENVIRONMENT": "test",
                                                   "GMC_DATA_DIR": str(world.data_dir)})
    finally:
        reset_settings_cache()


def test_cli_cohort_release_and_recall(world, world_db, tmp_path) -> None:
    result = invoke(world, "research", "cohort", "count", "--user", "researcher", "--hpo", SEIZURE, "--gene", "SCN1A")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("13 participants") and "by centre: WMGMC 13" in result.output
    result = invoke(world, "research", "cohort", "count", "--user", "researcher", "--hpo", "HP:0001250",
                    "--sex", "female", "--gene", "SCN1A", "--json")
    assert json.loads(result.output)["count"] == "<10"
    result = invoke(world, "research", "cohort", "save", "--user", "researcher", "--project", "RP0001", "--name",
                    "CLI cohort", "--hpo", SEIZURE, "--gene", "SCN1A", "--json")
    assert result.exit_code == 0, result.output
    cohort_id = json.loads(result.output)["cohort_id"]
    refused = invoke(world, "research", "release", "request", "--user", "researcher", "--cohort", cohort_id,
                     "--purpose", "Asking for birth dates, which never leave", "--part", "date_of_birth")
    assert refused.exit_code == 1 and "date_of_birth is an identifiable field" in refused.output
    assert "nothing was changed" in refused.output
    result = invoke(world, "research", "release", "request", "--user", "researcher", "--cohort", cohort_id,
                    "--purpose", "Phenotypes of SCN1A carriers, from the CLI", "--json")
    release_id = json.loads(result.output)["release_id"]
    self_approved = invoke(world, "research", "release", "decide", release_id, "--user", "researcher", "--approve")
    assert self_approved.exit_code == 1 and "research:approve" in self_approved.output
    result = invoke(world, "research", "release", "decide", release_id, "--user", "dataaccess", "--approve",
                    "--note", "ok", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "built" and json.loads(result.output)["participants"] == 13
    out = tmp_path / "copy"
    result = invoke(world, "research", "release", "download", release_id, "--user", "researcher", "--out", str(out))
    assert result.exit_code == 0 and "checksums verified" in result.output, result.output
    assert (out / "manifest.json").is_file() and list((out / "vcf").glob("*.vcf.gz"))
    with world_db.transaction() as s:
        member = repo.members_of(s, repo.get_release(s, release_id).id)[0]
        consent_service.withdraw(s, actor=Actor.system("test"), participant=s.get(Participant, member.participant_id),
                                 level="no_further_use")
        assert s.execute(sa.select(Participant).where(Participant.id == member.participant_id)).scalar_one()
    result = invoke(world, "research", "recalls", "--user", "researcher")
    assert f"{release_id} {member.research_id}: the participant withdrew (no further use); awaiting deletion" \
        in result.output
