"""The GA4GH Beacon v2 endpoints on the research world: every response validated with jsonschema against the
published framework schemas in ../shared/standards/beacon-v2 (CC0); consent, granularity and suppression."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gmc.genomics.models import GenomeDataset
from gmc.registry.models import HospitalNumber
from gmc.research.demo import PREFIX, SEIZURE

RESPONSES = "framework/json/responses"


@cache
def _validator(standards: Path, name: str) -> Draft202012Validator:
    root = standards / "beacon-v2"

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(json.loads(Path(uri.removeprefix("file://")).read_text()),
                                      default_specification=DRAFT202012)

    path = (root / RESPONSES / name).resolve()
    schema = dict(json.loads(path.read_text()), **{"$id": path.as_uri()})
    return Draft202012Validator(schema, registry=Registry(retrieve=retrieve))


def valid(shared_dir: Path, document: dict, schema: str) -> dict:
    """The document, after checking it against a Beacon v2 response schema (every error listed)."""
    errors = sorted(_validator(shared_dir / "standards", schema).iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return document


def test_info_map_configuration_and_entry_types(world_client, shared_dir) -> None:
    for path, schema in (("/api/beacon", "beaconInfoResponse.json"), ("/api/beacon/info", "beaconInfoResponse.json"),
                         ("/api/beacon/map", "beaconMapResponse.json"),
                         ("/api/beacon/configuration", "beaconConfigurationResponse.json"),
                         ("/api/beacon/entry_types", "beaconEntryTypesResponse.json")):
        response = world_client.get(path)  # informational endpoints need no sign-in
        assert response.status_code == 200, response.text
        valid(shared_dir, response.json(), schema)
    config = world_client.get("/api/beacon/configuration").json()["response"]
    assert set(config["entryTypes"]) == {"individual", "genomicVariation"}
    assert config["securityAttributes"] == {"defaultGranularity": "count", "securityLevels": ["REGISTERED"]}
    endpoints = world_client.get("/api/beacon/map").json()["response"]["endpointSets"]
    assert endpoints["individual"]["rootUrl"].endswith("/api/beacon/individuals")


def test_individuals_by_hpo_with_descendants_count_and_suppression(world_client, bearer, shared_dir) -> None:
    headers = bearer(world_client, "researcher")
    response = world_client.get("/api/beacon/individuals", params={"filters": SEIZURE}, headers=headers)
    body = valid(shared_dir, response.json(), "beaconCountResponse.json")
    # Every centre's eligible participants: 13 West Midlands and 3 South London epilepsy probands, and any other
    # seizure-related profile of the phenotype demo.
    assert body["meta"]["returnedGranularity"] == "count" and body["responseSummary"]["numTotalResults"] >= 16
    assert body["meta"]["receivedRequestSummary"]["filters"] == [SEIZURE]
    # The same through POST, with the female NCIT term: fewer than ten, so the count is withheld, with a reason.
    post = world_client.post("/api/beacon/individuals", headers=headers, json={
        "meta": {"apiVersion": "v2.0.1"},
        "query": {"filters": [{"id": SEIZURE}, {"id": "NCIT:C16576"}], "requestedGranularity": "count",
                  "requestParameters": {"geneId": "SCN1A"}}})
    body = valid(shared_dir, post.json(), "beaconBooleanResponse.json")
    assert body["responseSummary"] == {"exists": True} and body["meta"]["returnedGranularity"] == "boolean"
    assert "between 1 and 9" in body["info"]["suppressed"]
    # Without descendants only the exact term counts.
    exact = world_client.post("/api/beacon/individuals", headers=headers, json={
        "meta": {"apiVersion": "v2.0.1"},
        "query": {"filters": [{"id": SEIZURE, "includeDescendantTerms": False}]}}).json()
    wide = world_client.get("/api/beacon/individuals", params={"filters": SEIZURE}, headers=headers).json()
    assert exact["responseSummary"].get("numTotalResults", 9) < wide["responseSummary"]["numTotalResults"]
    # A boolean request gets a boolean answer.
    body = world_client.get("/api/beacon/individuals", params={"filters": SEIZURE, "requestedGranularity": "boolean"},
                            headers=headers).json()
    assert valid(shared_dir, body, "beaconBooleanResponse.json")["responseSummary"] == {"exists": True}


def test_g_variants_honour_consent(world, world_db, world_client, bearer, shared_dir) -> None:
    from gmc.genomics.store.queries import VariantStore
    from gmc.research.demo import _scn1a_variants

    headers = bearer(world_client, "researcher")
    variants = _scn1a_variants(17)
    with world_db.transaction() as s:
        withdrawn = s.execute(sa.select(GenomeDataset.store_sample).join(HospitalNumber, HospitalNumber.participant_id
                                                                          == GenomeDataset.participant_id)
                              .where(HospitalNumber.number == f"{PREFIX}13")).scalar_one()
    store = VariantStore(world.store_base / "GRCh38")
    carried_by = {(v.pos, v.ref, v.alt): set(store.variant_carriers("2", v.pos, v.ref, v.alt).column("sample")
                                               .to_pylist()) for v in variants}
    eligible = next(v for v in variants if carried_by[(v.pos, v.ref, v.alt)] - {withdrawn})
    gone = next(v for v in variants if carried_by[(v.pos, v.ref, v.alt)] == {withdrawn})

    def ask(v, **extra) -> dict:
        params = {"referenceName": "2", "start": v.pos - 1, "referenceBases": v.ref, "alternateBases": v.alt,
                  "assemblyId": "GRCh38", **extra}
        return world_client.get("/api/beacon/g_variants", params=params, headers=headers).json()

    body = valid(shared_dir, ask(eligible), "beaconBooleanResponse.json")
    assert body["responseSummary"] == {"exists": True} and "suppressed" in body["info"]
    # Carried only by the participant who withdrew: the Beacon does not see it.
    body = valid(shared_dir, ask(gone), "beaconCountResponse.json")
    assert body["responseSummary"] == {"exists": False, "numTotalResults": 0}
    # The gene: every allele in SCN1A carried by an eligible participant.
    body = world_client.get("/api/beacon/g_variants", params={"geneId": "SCN1A"}, headers=headers).json()
    assert valid(shared_dir, body, "beaconCountResponse.json")["responseSummary"]["numTotalResults"] >= 16
    # A range query around one spiked allele.
    body = world_client.get("/api/beacon/g_variants", headers=headers, params={
        "referenceName": "chr2", "start": eligible.pos - 1, "end": eligible.pos}).json()
    assert valid(shared_dir, body, "beaconBooleanResponse.json")["responseSummary"]["exists"]


def test_bad_requests_and_access(world_client, bearer, shared_dir) -> None:
    headers = bearer(world_client, "researcher")
    for params, message in (({"filters": "EFO:0000001"}, "not supported"),
                            ({"referenceName": "chr99", "start": 1, "end": 5}, "referenceName"),
                            ({"referenceName": "2", "start": 10, "referenceBases": "Q", "alternateBases": "A"},
                             "referenceBases"),
                            ({"geneId": "NOTAGENE"}, "NOTAGENE")):
        response = world_client.get("/api/beacon/g_variants", params=params, headers=headers)
        assert response.status_code == 400, (params, response.text)
        body = valid(shared_dir, response.json(), "beaconErrorResponse.json")
        assert message in body["error"]["errorMessage"]
    missing = world_client.get("/api/beacon/g_variants", params={"filters": SEIZURE}, headers=headers)
    assert missing.status_code == 400 and "needs a sequence query" in missing.json()["error"]["errorMessage"]
    anonymous = world_client.get("/api/beacon/individuals", params={"filters": SEIZURE})
    assert anonymous.status_code == 401
    valid(shared_dir, anonymous.json(), "beaconErrorResponse.json")
    programme = world_client.get("/api/beacon/individuals", params={"filters": SEIZURE},
                                 headers=bearer(world_client, "programme"))
    assert programme.status_code == 403


@pytest.mark.parametrize("setting", ["granularity", "public"])
def test_configured_granularity_and_public_access(world, world_db, refdata_dir, shared_dir, setting) -> None:
    from fastapi.testclient import TestClient

    from gmc.settings import Settings
    from gmc.web.app import create_app

    extra = {"beacon_granularity": "boolean"} if setting == "granularity" else {"beacon_security": "public"}
    app = create_app(Settings(database_url=world.url, data_dir=world.data_dir, environment="test",
                              refdata=refdata_dir, **extra), database=world_db)
    with TestClient(app) as client:
        headers = {}
        if setting == "granularity":
            token = client.post("/api/auth/token", data={"username": "researcher", "password": "demo-researcher-2026"})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = client.get("/api/beacon/individuals", params={"filters": SEIZURE}, headers=headers).json()
        assert valid(shared_dir, body, "beaconBooleanResponse.json")["responseSummary"] == {"exists": True}
        assert body["meta"]["returnedGranularity"] == "boolean"
