"""Times cancer interpretation in the database: case runs, the live knowledge base, search and the tumour board."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "benchmarks" / "cancer" / "somatic"


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    """Builds a fresh database with demo users and two cancer cases, then times each step once."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    os.environ["GMC_DATABASE_URL"] = url

    from fastapi.testclient import TestClient

    from gmc.audit.service import Actor
    from gmc.auth import repository as auth_repository
    from gmc.auth.principal import Principal
    from gmc.auth.service import principal_for
    from gmc.db.core import Database
    from gmc.db.migrate import upgrade
    from gmc.demo.service import DEMO_LOADERS, DemoSummary
    from gmc.interpretation.cancer import service
    from gmc.registry import consent as consent_service
    from gmc.registry import service as registry
    from gmc.registry.service import view_case
    from gmc.settings import get_settings
    from gmc.web.app import create_app

    upgrade(url)
    db = Database(url)
    system = Principal(user_id=0, username="system:bench", full_name="bench", roles=frozenset({"admin"}),
                       permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")
    cases = {}
    with db.transaction() as session:
        for loader in DEMO_LOADERS:
            loader(session, Actor.system("bench"), DemoSummary())
        registry.ensure_rule_sets(session, actor=system.actor)
        registry.ensure_consent_forms(session)
        form = registry.require_form(session, "CANCER-ADULT", "2.1")
        for number, indication in enumerate(("breast", "colorectal")):
            person = registry.PersonInput("Bench", "Case", date(1960, 1, 1), "female", None, "B15 2TT", "RQ3",
                                          f"BENCH{number}")
            participant = registry.register_person(session, principal=system, person=person, decision="new").participant
            referral = registry.create_referral(session, principal=system, participant=participant,
                                                data=registry.ReferralInput(
                                                    "RQ3", "Dr B", date.today() - timedelta(days=3), "cancer",
                                                    indication, None, False, True, True))
            consent_service.record_consent(session, actor=Actor.system("bench"), participant=participant, form=form,
                                           consented_on=date.today() - timedelta(days=1), given_by="participant",
                                           choices={c: True for c in form.choices})
            cases[indication] = registry.open_case(session, actor=system.actor, referral=referral).case_id
    scientist_name, admin_name = "scientist", "admin"
    figures: list[tuple[str, float]] = []
    with db.transaction() as session:
        scientist = principal_for(session, auth_repository.get_user_by_username(session, scientist_name),
                                  auth_method="session")
        admin = principal_for(session, auth_repository.get_user_by_username(session, admin_name), auth_method="session")
        _, cold = timed(service.base_knowledgebase)
        figures.append(("knowledge base from files (cold, once per process)", cold))
        _, overlay = timed(service.live_knowledgebase, session)
        figures.append(("live knowledge base, no curation (first call)", overlay))
        version = service.propose_add(session, scientist, {
            "gene": "PIK3CA", "alteration": "H1047R", "evidence_type": "predictive", "level": "A",
            "significance": "Sensitivity/Response", "tumour_type": "BRCA", "therapies": "Alpelisib + Fulvestrant",
            "citations": "PMID:31091374"}, reason="bench")
        service.approve(session, admin, version.id)
        _, rebuilt = timed(service.live_knowledgebase, session)
        figures.append(("live knowledge base rebuilt after an approval (1 curated item)", rebuilt))
        _, cached = timed(service.live_knowledgebase, session)
        figures.append(("live knowledge base, cached (state query only)", cached))
        searches = [timed(service.search_knowledgebase, session, gene=gene)[1] for gene in ("BRAF", "EGFR", "KRAS")]
        figures.append(("search by gene (median of BRAF, EGFR, KRAS)", statistics.median(searches)))
        _, everything = timed(service.search_knowledgebase, session, level="A,B")
        figures.append(("search all level A-B evidence", everything))
        pcgr = EXAMPLES / "pcgr_examples"
        runs = [
            ("run: T001-BRCA VCF + CNA + fusions (BRCA)", cases["breast"], dict(
                tumour_type="BRCA", vcf_path=pcgr / "T001-BRCA.grch38.vcf.gz", cna_path=pcgr / "T001-BRCA.grch38.cna.tsv",
                fusions_path=pcgr / "T001-BRCA.grch38.fusions.tsv")),
            ("run: T001-COAD VCF + CPSR germline VCF (COADREAD)", cases["colorectal"], dict(
                tumour_type="COADREAD", vcf_path=pcgr / "T001-COAD.grch38.vcf.gz",
                germline_vcf=EXAMPLES / "cpsr_example" / "cpsr_example_TCGA-A6-2686_COAD.vcf.gz",
                germline_build="GRCh37")),
        ]
        for label, case_id, kwargs in runs:
            case = view_case(session, principal=scientist, case_id=case_id)
            _, seconds = timed(service.run_somatic, session, scientist, case, **kwargs)
            figures.append((label, seconds))
    settings = get_settings()
    app = create_app(settings, database=db)
    with TestClient(app) as client:
        client.get("/login")
        client.post("/login", data={"username": scientist_name, "password": "demo-scientist-2026",
                                    "csrf_token": client.cookies.get("gmc_csrf"), "next": "/"})
        for indication in ("breast", "colorectal"):
            times = []
            for _ in range(5):
                response, seconds = timed(client.get, f"/cancer/cases/{cases[indication]}")
                assert response.status_code == 200
                times.append(seconds)
            figures.append((f"tumour board page, {indication} ({len(response.content) // 1024} KiB), median of 5",
                            statistics.median(times)))
        times = [timed(client.get, "/api/cancer/knowledge", params={"gene": "ERBB2"})[1] for _ in range(5)]
        figures.append(("GET /api/cancer/knowledge?gene=ERBB2, median of 5", statistics.median(times)))
    db.dispose()
    print(f"database: {url.split('://')[0]}")
    for label, seconds in figures:
        print(f"{label:75s} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
