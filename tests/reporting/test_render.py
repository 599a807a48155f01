"""One report, three renderings: the PDF and the FHIR bundle agree on variants and classes; the bundle validates."""

from __future__ import annotations

import io
import json

import pypdf
import pytest
from tests.reporting.conftest import released_report, user

from gmc.reporting import fhir, render, service


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF, whitespace collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_pdf_and_fhir_of_one_report_agree_and_the_bundle_follows_the_genomics_ig(
        demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        report = released_report(session, benchmarks_dir, kbg_vcf)
        document, overlay = service.open_report(session, user(session, "clinician"), report.report_id, fmt="pdf")
        pdf = render.render(document, "pdf", overlay)
        bundle = json.loads(render.render(document, "fhir"))
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    variants = fhir.bundle_variants(bundle)
    # The frameshift's c. is withheld (its 3' position needs sequence the reference FASTA lacks there): neither
    # rendering invents one, and both carry the gene and class.
    assert variants == [("ANKRD11", "", "Likely pathogenic")]
    for gene, _, classification in variants:
        assert gene in text and classification in text
    assert "c. withheld" in text
    # The PDF says what the result rests on and what the test cannot detect, and carries both signatures.
    for expected in ("Result summary", "KBG syndrome", "not detected", "What this result rests on",
                     "Sam Scientist", "Chris Checker", "Reason for referral", "VCV000265324"):
        assert expected in text, expected
    # The withheld genomic HGVS of the frameshift is said, not invented.
    assert "g. withheld" in text
    entries = [e["resource"] for e in bundle["entry"]]
    report_resource = entries[0]
    assert report_resource["resourceType"] == "DiagnosticReport" and report_resource["status"] == "final"
    assert report_resource["meta"]["profile"] == ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
                                                  "genomic-report"]
    assert report_resource["code"]["coding"][0]["code"] == "51969-4"
    profiles = [e.get("meta", {}).get("profile", [""])[0].rsplit("/", 1)[-1] for e in entries]
    assert profiles.count("variant") == 1 and profiles.count("diagnostic-implication") == 1
    refs = {e["fullUrl"] for e in bundle["entry"]}
    assert {r["reference"] for r in report_resource["result"]} <= refs
    variant = next(e for e in entries if e.get("meta", {}).get("profile", [""])[0].endswith("/variant"))
    codes = {c["code"]["coding"][0]["code"]: c for c in variant["component"]}
    assert codes["53034-5"]["valueCodeableConcept"]["coding"][0]["code"] == "LA6706-1"  # heterozygous
    assert codes["51958-7"]["valueCodeableConcept"]["coding"][0]["code"].startswith("NM_")
    assert "48004-6" not in codes and "81290-9" not in codes  # no c. or g. without the sequence to shift them
    # The allele itself is still stated exactly, as the VCF gave it.
    assert (codes["69547-8"]["valueString"], codes["69551-0"]["valueString"]) == ("CTT", "C")
    assert len(report_resource["resultsInterpreter"]) == 2
    # What the result rests on travels with it: the run's software and reference-data versions as a Device that
    # every Observation names; the PDF prints the same versions and what composed the report.
    devices = [e for e in entries if e["resourceType"] == "Device"]
    assert len(devices) == 1 and devices[0]["identifier"][0]["value"] == document["provenance"][0]["run_id"]
    versions = {v["type"]["text"]: v["value"] for v in devices[0]["version"]}
    assert versions["clinvar"].startswith("clinvar_") and versions["hpo"] and versions["gmc version"]
    device_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device")
    assert all(e["device"]["reference"] == device_url for e in entries if e["resourceType"] == "Observation")
    assert "composed with gmc version" in text and "MANE Select" in text and versions["clinvar"] in text
    # Re-validating the emitted JSON with fhir.resources accepts it as it stands.
    assert fhir.validate(bundle) == bundle


def test_an_invalid_bundle_is_refused_naming_the_field() -> None:
    with pytest.raises(fhir.FhirBundleError, match=r"entry\.0\.resource\.component\.0\.code"):
        fhir.validate({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": "x"}, "component": [{"valueString": "a"}]}}]})
    observation = {"resourceType": "Observation", "status": "not-a-status", "code": {"text": "x"},
                   "meta": {"profile": [fhir.IG + "variant"]}}
    with pytest.raises(fhir.FhirBundleError, match=r"entry\.0\.resource\.status"):
        fhir.validate({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]})
