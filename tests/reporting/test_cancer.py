"""A cancer report from a real tumour with a germline data set: tiered findings with therapy lines, TMB, a germline
predisposition finding, and an additional finding reported only with consent (FHIR marks it secondary)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from tests.interpretation.cancer.test_germline import clinvar_record
from tests.reporting.conftest import system, user

from gmc.audit.service import Actor
from gmc.common.errors import Conflict
from gmc.interpretation.cancer import service as cancer
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.reporting import fhir, render, service


def _cancer_case(session, benchmarks_dir, refdata_dir, tmp_path, *, additional: bool) -> str:
    who = system()
    registry.ensure_rule_sets(session, actor=who.actor)
    registry.ensure_consent_forms(session)
    person = registry.register_person(session, principal=who, person=registry.PersonInput(
        "Plover", "Grace", date.today() - timedelta(days=52 * 365), "female", None, "B15 2TT", "RRK",
        f"T-BRCA-{additional}"), decision="new").participant
    referral = registry.create_referral(session, principal=who, participant=person, data=registry.ReferralInput(
        "RRK", "Dr A. Patel", date.today() - timedelta(days=20), "cancer", "breast", None, False,
        tumour_sample_expected=True, germline_sample_expected=True))
    form = registry.require_form(session, "CANCER-ADULT", "2.1")
    choices = {c: True for c in form.choices}
    choices["additional_findings"] = additional
    consent_service.record_consent(session, actor=Actor.system("test"), participant=person, form=form,
                                   consented_on=date.today() - timedelta(days=10), given_by="participant",
                                   choices=choices)
    case = registry.open_case(session, actor=who.actor, referral=referral)
    # A germline VCF of two real ClinVar pathogenic alleles: BRCA1 (predisposition) and LDLR (secondary finding).
    germline = tmp_path / f"germline-{additional}.vcf"
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "PATIENT"])]
    records = sorted((clinvar_record(refdata_dir, "BRCA1"), clinvar_record(refdata_dir, "LDLR")),
                     key=lambda f: (int(f[0]), int(f[1])))
    lines += ["\t".join([*fields[:5], ".", "PASS", ".", "GT", "0/1"]) for fields in records]
    germline.write_text("\n".join(lines) + "\n")
    folder = benchmarks_dir / "cancer" / "somatic" / "pcgr_examples"
    cancer.run_somatic(session, user(session, "scientist"), case, tumour_type="BRCA",
                       vcf_path=folder / "T001-BRCA.grch38.vcf.gz", cna_path=folder / "T001-BRCA.grch38.cna.tsv",
                       germline_vcf=germline, germline_build="GRCh38")
    return case.case_id


def test_cancer_report_with_germline_and_consented_additional_finding(demo_database, benchmarks_dir, refdata_dir,
                                                                     tmp_path) -> None:
    with demo_database.transaction() as session:
        scientist, checker = user(session, "scientist"), user(session, "checker")
        service.set_rule(session, user(session, "admin"), "cancer", turnaround_days=28, mdt_required=False)
        case_id = _cancer_case(session, benchmarks_dir, refdata_dir, tmp_path, additional=True)
        service.start_review(session, scientist, case_id)
        found = {(c["source"], c["gene"]): c for c in service.candidates(session, scientist, case_id)["candidates"]}
        pik3ca, brca1, ldlr = found[("somatic", "PIK3CA")], found[("germline", "BRCA1")], found[("germline", "LDLR")]
        assert pik3ca["tier"] == "I" and pik3ca["therapies"] and pik3ca["vaf"]
        assert brca1["category"] == "primary" and brca1["classification"] == "Pathogenic"
        assert ldlr["category"] == "additional"
        with pytest.raises(Exception, match="report it as additional"):
            with session.begin_nested():
                service.select_finding(session, scientist, case_id, pik3ca["run_id"], ldlr["key"])
        for c, category in ((pik3ca, "primary"), (brca1, "primary"), (ldlr, "additional")):
            service.select_finding(session, scientist, case_id, c["run_id"], c["key"], category=category)
        service.update_report(session, scientist, case_id, outcome="positive",
                              summary="The tumour carries a PIK3CA hotspot; a germline BRCA1 variant was found.")
        service.record_exit_questions(session, scientist, case_id, explains="partial", actionable=True,
                                      confirmed=False, diagnosis_made=True)
        service.sign_as_author(session, scientist, case_id)
        report = service.authorise(session, checker, case_id)
        document = report.content
        assert [f["gene"] for f in document["findings"]] == ["PIK3CA", "BRCA1"]
        assert [f["gene"] for f in document["additional_findings"]] == ["LDLR"]
        assert document["cancer"]["tmb"]["per_mb"] and document["cancer"]["germline_assessed"]
        bundle = json.loads(render.render(document, "fhir"))
    resources = [e["resource"] for e in bundle["entry"]]
    secondary = [r for r in resources if any(x["url"] == fhir.SECONDARY_FINDING for x in r.get("extension", []))]
    assert len(secondary) == 1 and "LDLR" in json.dumps(secondary[0])
    sources = {c["valueCodeableConcept"]["coding"][0]["display"] for r in resources
               for c in r.get("component", []) if c["code"]["coding"][0]["code"] == "48002-0"}
    assert sources == {"Somatic", "Germline"}
    assert any(r.get("meta", {}).get("profile", [""])[0].endswith("therapeutic-implication") for r in resources)


def test_without_consent_the_secondary_finding_is_neither_offered_nor_reportable(demo_database, benchmarks_dir,
                                                                                refdata_dir, tmp_path) -> None:
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        case_id = _cancer_case(session, benchmarks_dir, refdata_dir, tmp_path, additional=False)
        service.start_review(session, scientist, case_id)
        view = service.candidates(session, scientist, case_id)
        assert not view["additional_findings_allowed"]
        assert not [c for c in view["candidates"] if c["gene"] == "LDLR"]  # the run never described it
        brca1 = next(c for c in view["candidates"] if c["gene"] == "BRCA1")
        with pytest.raises(Conflict, match="did not consent to additional findings"):
            service.select_finding(session, scientist, case_id, brca1["run_id"], brca1["key"], category="additional")
