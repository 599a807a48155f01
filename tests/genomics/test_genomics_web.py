"""The genome API and pages over a real ingested trio: scope, filters, paging, export, QC chart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import wait_for_job

from gmc.audit.models import AuditEvent
from gmc.genomics import service
from gmc.genomics.manifest import parse_manifest


@pytest.fixture
def ingested(demo_app, demo_database, gkit, giab_trio):
    """A trio case at RRK with the GIAB trio ingested into the app's variant store, and one at RJ1 (South London)."""
    store = Path(demo_app.state.settings.data_dir) / "variant_store"
    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session, trust="RRK")
        elsewhere = gkit.make_trio_case(session, trust="RJ1")
        service.ingest_manifest(session, principal=gkit.principal(session, "scientist"),
                                manifest=parse_manifest(gkit.trio_manifest(case, giab_trio)), base_dir=Path("."),
                                store_base=store)
    return case, elsewhere


def test_api_variants_filters_paging_and_export(demo_client, bearer, ingested):
    case, elsewhere = ingested
    headers = bearer(demo_client, "clinician")  # trusts RRK and RQ3
    qc = demo_client.get(f"/api/genomes/cases/{case.case_id}/qc", headers=headers)
    assert qc.status_code == 200, qc.text
    body = qc.json()
    assert {d["participant_id"] for d in body["datasets"]} == {case.proband, case.father, case.mother}
    proband = next(d for d in body["datasets"] if d["participant_id"] == case.proband)

    url = f"/api/genomes/cases/{case.case_id}/variants"
    first = demo_client.get(url, params={"limit": 20}, headers=headers).json()
    assert first["total"] == proband["n_variants"] and len(first["rows"]) == 20
    second = demo_client.get(url, params={"limit": 20, "offset": 20}, headers=headers).json()
    assert first["rows"][-1]["pos"] <= second["rows"][0]["pos"] or first["rows"][-1]["chrom"] != "1"
    assert not {(r["chrom"], r["pos"], r["alt"]) for r in first["rows"]} & {
        (r["chrom"], r["pos"], r["alt"]) for r in second["rows"]}

    hom = demo_client.get(url, params={"genotype": "hom", "region": "chr2:1-243199373", "limit": 1000},
                          headers=headers).json()
    assert hom["rows"] and all(r["gt"] == 2 and r["chrom"] == "2" for r in hom["rows"])
    high = demo_client.get(url, params={"impact": "HIGH", "limit": 1000}, headers=headers).json()
    # HIGH, or a coding change whose impact is unknown (its codon needs sequence): kept, not dropped unseen
    assert all(r["impact"] == "HIGH" or (r["impact"] is None and "coding_sequence_variant" in r["consequence"])
               for r in high["rows"])
    assert any(r["impact"] == "HIGH" for r in high["rows"])
    unknown = [r for r in high["rows"] if r["impact"] is None]
    assert all(r["hgvs_note"] and "withheld" in r["hgvs_note"] for r in unknown)
    frameshift = demo_client.get(url, params={"consequence": "frameshift_variant", "limit": 1000},
                                 headers=headers).json()
    assert all("frameshift_variant" in r["consequence"].split("&") for r in frameshift["rows"])
    assert frameshift["total"] <= high["total"]  # frameshifts are HIGH impact
    # Pages of a site-filtered or site-sorted table, read 7 rows at a time, follow the one-page order exactly.
    for params in ({"impact": ["HIGH", "MODERATE"], "sort": "gene"}, {"sort": "impact"},
                   {"impact": "MODERATE", "sort": "gnomad_af", "desc": "true"}):
        whole = demo_client.get(url, params={**params, "limit": 60}, headers=headers).json()
        pages = [demo_client.get(url, params={**params, "limit": 7, "offset": o}, headers=headers).json()
                 for o in range(0, 60, 7)]
        assert all(p["total"] == whole["total"] for p in pages) and whole["total"] > 20
        assert [r for p in pages for r in p["rows"]][:60] == whole["rows"] and len(whole["rows"]) == min(
            60, whole["total"])

    bad = demo_client.get(url, params={"consequence": "x' OR 1=1 --"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "query"

    tsv = demo_client.get(f"{url}/export", params={"format": "tsv", "genotype": "hom", "region": "chr2:1-243199373"},
                          headers=headers)
    assert tsv.status_code == 200
    lines = tsv.text.strip().split("\n")
    assert len(lines) - 1 == hom["total"]
    assert "\tchrom\tpos\tref\talt\t" in "\t" + lines[0] + "\t"
    vcf = demo_client.get(f"{url}/export", params={"format": "vcf", "region": "chr2:1-243199373"},
                          headers=headers)
    assert vcf.text.startswith("##fileformat=VCF") and "##reference=GRCh37" in vcf.text

    # A case at a trust outside the clinician's scope does not exist for them.
    hidden = demo_client.get(f"/api/genomes/cases/{elsewhere.case_id}/variants", headers=headers)
    assert hidden.status_code == 404
    carriers = demo_client.get("/api/genomes/genes/MTHFR/carriers", params={"build": "GRCh37"},
                               headers=headers).json()
    assert carriers and {c["case_id"] for c in carriers} == {case.case_id}
    af = demo_client.get("/api/genomes/cohort-af", params={"build": "GRCh37", "gene": "MTHFR"},
                         headers=headers).json()
    assert af and all(row["an"] == 6 for row in af)  # three diploid samples
    # Counts under GMC_COHORT_MIN_COUNT (5) could point at a person: withheld, and said so.
    hidden = [row for row in af if row["suppressed"]]
    assert hidden and all(row["ac"] is None and row["af"] is None and row["n_het"] is None for row in hidden)
    assert all(row["ac"] >= 5 and 0 < row["af"] <= 1 for row in af if not row["suppressed"])

    # The same two questions with the store's engine set to Spark answer with the same rows (a local session
    # here; tests/genomics/store/test_cluster.py runs the carrier query on a real cluster)
    from pyspark import SparkContext

    from gmc.settings import reset_settings_cache

    with pytest.MonkeyPatch.context() as env:
        env.setenv("GMC_VARIANT_ENGINE", "spark")
        env.setenv("GMC_SPARK_MASTER", "local[1]")
        env.setenv("GMC_SPARK_REMOTE", "")
        reset_settings_cache()
        try:
            assert demo_client.get("/api/genomes/genes/MTHFR/carriers", params={"build": "GRCh37"},
                                   headers=headers).json() == carriers
            assert demo_client.get("/api/genomes/cohort-af", params={"build": "GRCh37", "gene": "MTHFR"},
                                   headers=headers).json() == af
        finally:
            # the session was opened in a request thread: stop its context, which every thread shares
            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
    reset_settings_cache()


def test_roles_without_genome_access_are_refused(demo_client, bearer, ingested):
    case, _ = ingested
    assert demo_client.get(f"/api/genomes/cases/{case.case_id}/qc",
                           headers=bearer(demo_client, "recruiter")).status_code == 403


def test_genome_page_chart_and_htmx_table(demo_client, login, ingested, demo_database):
    case, _ = ingested
    login(demo_client, "scientist")
    listing = demo_client.get("/genomes")
    assert listing.status_code == 200 and case.case_id in listing.text and f'href="/participants/{case.proband}"' in listing.text
    assert "1–1 of 1 cases" in listing.text
    found = demo_client.get("/genomes", params={"q": case.proband, "arm": "rare_disease", "sort": "datasets",
                                                 "dir": "asc"})
    assert case.case_id in found.text and 'aria-sort="ascending"' in found.text
    assert "q=" + case.proband in found.text  # the filter stays in the sort and pager links
    for params in ({"q": "P00000000"}, {"arm": "cancer"}):
        empty = demo_client.get("/genomes", params=params)
        assert case.case_id not in empty.text and "No cases match." in empty.text, params
    page = demo_client.get(f"/genomes/cases/{case.case_id}")
    assert page.status_code == 200
    assert 'data-chart="chart-qc-titv-data"' in page.text and "Ti/Tv" in page.text and case.proband in page.text
    assert "interpretation" in page.text  # the case moved on once germline data was in
    fragment = demo_client.get(f"/genomes/cases/{case.case_id}/variants", params={"gene": "MTHFR", "max_af": ""},
                               headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "MTHFR" in fragment.text
    with demo_database.session() as session:
        reads = session.execute(select(AuditEvent).where(AuditEvent.entity_type == "genome_dataset",
                                                         AuditEvent.verb == "read")).scalars().all()
    assert reads, "reading a case's variants is audited"


def test_api_ingest_reads_only_the_incoming_directory(demo_app, demo_client, bearer, demo_database, gkit, giab_trio):
    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session, trust="RRK")
    incoming = Path(demo_app.state.settings.data_dir) / "incoming" / "WMGMC"
    incoming.mkdir(parents=True)
    (incoming / "trio.vcf.gz").symlink_to(giab_trio)  # the operator links the delivered file in
    headers = bearer(demo_client, "scientist")
    manifest = {"case_id": case.case_id, "files": [{"path": "trio.vcf.gz", "samples": [
        {"vcf_sample": "HG002", "participant_id": case.proband}], "skip_samples": ["HG003", "HG004"]}]}
    escape = {**manifest, "files": [{**manifest["files"][0], "path": "../../../etc/passwd"}]}
    refused = demo_client.post("/api/genomes/ingest", json=escape, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "files[0].path"
    assert demo_client.post("/api/genomes/ingest", json=manifest,
                            headers=bearer(demo_client, "clinician")).status_code == 403  # read-only role
    done = demo_client.post("/api/genomes/ingest", json=manifest, headers=headers)
    # The 0.9 MB exome is above GMC_IMPORT_JOB_BYTES: a background job, followed at its status_url.
    assert done.status_code == 202, done.text
    job = wait_for_job(demo_client, headers, done.json()["status_url"], seconds=300)
    assert job["status"] == "succeeded", job["error"]
    assert job["kind"] == "genomics.manifest" and job["rows_done"] == job["rows_total"] > 0
    body = job["result"]
    assert body["created"] == 1 and body["case_status"] == "interpretation"
    assert body["files"][0]["samples"] == ["HG002"]
    # The same manifest again stores nothing new (safe to repeat).
    again = demo_client.post("/api/genomes/ingest", json=manifest, headers=headers)
    assert wait_for_job(demo_client, headers, again.json()["status_url"], seconds=300)["result"]["created"] == 0


def test_api_ingest_compacts_the_store_after_the_commit(demo_app, demo_client, bearer, demo_database, gkit,
                                                        giab_trio):
    import json

    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session, trust="RRK")
    incoming = Path(demo_app.state.settings.data_dir) / "incoming" / "WMGMC"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / "trio_compact.vcf.gz").symlink_to(giab_trio)
    demo_app.state.settings.compact_after = 1  # this deployment compacts after every ingest
    headers = bearer(demo_client, "scientist")
    manifest = {"case_id": case.case_id, "files": [{"path": "trio_compact.vcf.gz", "samples": [
        {"vcf_sample": "HG002", "participant_id": case.proband}], "skip_samples": ["HG003", "HG004"]}]}
    done = demo_client.post("/api/genomes/ingest", json=manifest, headers=headers)
    assert done.status_code == 202, done.text
    assert wait_for_job(demo_client, headers, done.json()["status_url"], seconds=300)["status"] == "succeeded"
    # The job compacts after its commit, in its worker: wait until the store says so.
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not json.loads(
            (Path(demo_app.state.settings.data_dir) / "variant_store" / "GRCh37" / "manifest.json").read_text()
    ).get("segments"):
        time.sleep(0.2)
    store = json.loads((Path(demo_app.state.settings.data_dir) / "variant_store" / "GRCh37" / "manifest.json")
                       .read_text())
    assert store["segments"] and all(d["segment"] for d in store["datasets"])
    page = demo_client.get(f"/api/genomes/cases/{case.case_id}/variants", params={"genotype": "het", "limit": 5},
                           headers=headers)
    assert page.status_code == 200 and page.json()["total"] > 0 and len(page.json()["rows"]) == 5


def test_family_beside_variants_from_elsewhere(demo_app, demo_database, gkit, ingested):
    """Variants from another page (an interpretation run) get the relatives' calls, only where the proband's own
    call is in the store at that allele; a role without genome access gets nothing."""
    from gmc.common.errors import PermissionDenied

    case, _ = ingested
    store = Path(demo_app.state.settings.data_dir) / "variant_store"
    with demo_database.transaction() as session:
        scientist = gkit.principal(session, "scientist")
        page = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                     query=service.VariantQuery(), limit=40, offset=0, store_base=store)
        rows = [{"chrom": "chr" + str(r["chrom"]), "pos": r["pos"], "ref": r["ref"], "alt": r["alt"]}
                for r in page["rows"]]  # written with a chr prefix, as a VCF may write it
        invented = {**rows[0], "alt": "TTTTTTTTTT" if rows[0]["alt"] != "TTTTTTTTTT" else "GGGGGGGGGG"}
        variants = [*rows, invented]
        members = service.family_beside(session, principal=scientist, case_id=case.case_id, variants=variants,
                                        store_base=store)
        assert {m["participant_id"] for m in members} == {case.father, case.mother}
        assert invented["family"] is None  # not in the store as written: nothing claimed about the parents
        shown = [v["family"] for v in rows]
        assert all(f is not None for f in shown)
        genotypes = [gt for f in shown for _, gt in f]
        assert {"het", "hom"} & set(genotypes) and None in genotypes  # calls, and sites a parent does not carry
        assert set(genotypes) <= {"het", "hom", "hemizygous", None}
        # the same sites through the variant table's own lookup agree
        table = service.family_genotypes(session, principal=scientist, case_id=case.case_id, dataset_id=None,
                                         rows=page["rows"], store_base=store)
        for row, v in zip(page["rows"], rows, strict=True):
            key = f'{row["chrom"]}:{row["pos"]}:{row["ref"]}:{row["alt"]}'
            expected = table["calls"].get(key, {})
            assert {m["dataset_id"]: gt for m, gt in v["family"] if gt} == expected
        recruiter = gkit.principal(session, "recruiter")
        with pytest.raises(PermissionDenied):
            service.family_beside(session, principal=recruiter, case_id=case.case_id, variants=rows,
                                  store_base=store)


def test_rare_case_page_shows_the_familys_genotypes_beside_each_variant(demo_database, demo_client, login, gkit,
                                                                        ingested):
    """A rare-disease run over the case's stored trio: each ranked variant shows the father's and mother's calls."""
    from gmc.audit.service import Actor
    from gmc.interpretation.rare import service as rare
    from gmc.phenotype import service as phenotype

    case, _ = ingested
    with demo_database.transaction() as session:
        caller = phenotype.Caller.system("test")
        for term in ("HP:0001249", "HP:0001250"):  # intellectual disability, seizure
            phenotype.add_observation(session, caller, case.proband, phenotype.ObservationInput(term))
        scientist = gkit.principal(session, "scientist")
        rare.import_panelapp(session, actor=Actor.system("test"))
        rare.apply_panel(session, scientist, case.case_id, "Intellectual disability")
        run = rare.run_rare(session, scientist, case.case_id)  # reads the proband's stored genome data set
        assert run.status == "done"
    login(demo_client, "scientist")
    page = demo_client.get(f"/cases/{case.case_id}/interpretation")
    assert page.status_code == 200
    lines = re.findall(r'<p class="family-calls"><strong>Family:</strong> (.*?)</p>', page.text)
    assert lines, "each shown variant has a family line"
    called = [line for line in lines if "not shown" not in line]
    assert called and all(f"Father <span class=\"muted\">{case.father}</span>" in line
                          and f"Mother <span class=\"muted\">{case.mother}</span>" in line for line in called)
    genotypes = re.findall(r"</span> (?:<strong>(het|hom|hemizygous)</strong>|<span title=\"no variant call)", "".join(called))
    assert genotypes and {"het", "hom"} & set(genotypes)
