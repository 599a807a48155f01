"""A report document as a FHIR R4 DiagnosticReport bundle following the HL7 Genomics Reporting IG (STU3, 3.0.0).

The bundle holds the genomic report (DiagnosticReport, profile genomic-report), the patient, the laboratory, the
referral (ServiceRequest), the signing scientists, one Variant Observation per reported variant, one Diagnostic
Implication per classified finding and, for cancer, one Therapeutic Implication per drug or combination and the
tumour mutational burden as a Molecular Biomarker. Every resource is validated with fhir.resources (R4B models,
the R4 line fhir.resources ships; the genomic resources used are unchanged between R4 and R4B).
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
LOINC = "http://loinc.org"
HGVS = "http://varnomen.hgvs.org"
HGNC = "http://www.genenames.org"
REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"
CLINVAR = "http://www.ncbi.nlm.nih.gov/clinvar"
HPO = "http://human-phenotype-ontology.org"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
GMC_REPORT_ID = "https://gmc.nhs.uk/Id/clinical-report"
GMC_CASE_ID = "https://gmc.nhs.uk/Id/case"
GMC_USER = "https://gmc.nhs.uk/Id/user"
GMC_RUN_ID = "https://gmc.nhs.uk/Id/interpretation-run"
SECONDARY_FINDING = "http://hl7.org/fhir/StructureDefinition/observation-secondaryFinding"

#: ACMG/AMP classes -> LOINC answers of 53037-8 (Genetic variation clinical significance).
ACMG_LOINC = {"Pathogenic": "LA6668-3", "Likely pathogenic": "LA26332-9", "Uncertain significance": "LA26333-7",
              "Likely benign": "LA26334-5", "Benign": "LA6675-8"}
ZYGOSITY_LOINC = {"heterozygous": ("LA6706-1", "Heterozygous"), "homozygous": ("LA6705-3", "Homozygous"),
                  "hemizygous": ("LA6707-9", "Hemizygous")}
SOURCE_LOINC = {"germline": ("LA6683-2", "Germline"), "somatic": ("LA6684-0", "Somatic")}
BUILD_LOINC = {"GRCh38": ("LA26806-2", "GRCh38"), "GRCh37": ("LA14029-5", "GRCh37")}
OUTCOME_LOINC = {"positive": ("LA6576-8", "Positive"), "negative": ("LA6577-6", "Negative"),
                 "inconclusive": ("LA9663-1", "Inconclusive")}
#: Modes of inheritance (as gmc writes them) -> HPO terms of the IG's condition-inheritance value set.
INHERITANCE_HPO = {"autosomal dominant": ("HP:0000006", "Autosomal dominant inheritance"),
                   "autosomal recessive": ("HP:0000007", "Autosomal recessive inheritance"),
                   "x linked": ("HP:0001417", "X-linked inheritance"),
                   "x linked recessive": ("HP:0001419", "X-linked recessive inheritance"),
                   "x linked dominant": ("HP:0001423", "X-linked dominant inheritance"),
                   "mitochondrial": ("HP:0001427", "Mitochondrial inheritance")}


class FhirBundleError(ValueError):
    """A bundle that fhir.resources does not accept (names the first failing field)."""


def _cc(system: str | None, code: str | None, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if code:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if text or not code:
        out["text"] = text or display or ""
    return out


def _component(code: str, display: str, value: dict[str, Any], system: str = LOINC) -> dict[str, Any]:
    return {"code": _cc(system, code, display), **value}


def _categories() -> list[dict[str, Any]]:
    return [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory"),
            _cc("http://terminology.hl7.org/CodeSystem/v2-0074", "GE", "Genetics")]


class _Ids:
    """Stable urn:uuid ids per report version, so the same document always gives the same bundle."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{GMC_REPORT_ID}/{document['report_id']}/v{document['version']}")

    def __call__(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self.namespace, name)}"


def _variant(document: dict[str, Any], finding: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """A Variant Observation (profile variant) for one reported finding."""
    components = []
    if finding.get("hgnc_id"):
        components.append(_component("48018-6", "Gene studied [ID]",
                                     {"valueCodeableConcept": _cc(HGNC, finding["hgnc_id"], finding.get("gene"))}))
    else:
        components.append(_component("48018-6", "Gene studied [ID]",
                                     {"valueCodeableConcept": _cc(None, None, text=finding.get("gene"))}))
    build = BUILD_LOINC.get(finding.get("build") or document["method"].get("build") or "")
    if build:
        components.append(_component("62374-4", "Human reference sequence assembly version",
                                     {"valueCodeableConcept": _cc(LOINC, *build)}))
    mane = finding.get("mane_select") or {}
    transcript = mane.get("refseq") or finding.get("transcript")
    if transcript:
        system = REFSEQ if transcript.startswith(("NM_", "NR_", "XM_")) else "http://www.ensembl.org"
        components.append(_component("51958-7", "Transcript reference sequence [ID]",
                                     {"valueCodeableConcept": _cc(system, transcript, transcript)}))
    if finding.get("hgvs_c") and transcript:
        c = f"{transcript}:{finding['hgvs_c']}"
        components.append(_component("48004-6", "DNA change (c.HGVS)", {"valueCodeableConcept": _cc(HGVS, c, c)}))
    if finding.get("hgvs_p"):
        protein = mane.get("protein")
        p = f"{protein}:{finding['hgvs_p']}" if protein else finding["hgvs_p"]
        components.append(_component("48005-3", "Amino acid change (pHGVS)",
                                     {"valueCodeableConcept": _cc(HGVS, p, p)}))
    if finding.get("hgvs_g"):
        components.append(_component("81290-9", "Genomic DNA change (gHGVS)",
                                     {"valueCodeableConcept": _cc(HGVS, finding["hgvs_g"], finding["hgvs_g"])}))
    if finding.get("ref") and finding.get("alt") and finding.get("pos"):
        components.append(_component("69547-8", "Genomic ref allele [ID]", {"valueString": finding["ref"]}))
        components.append(_component("69551-0", "Genomic alt allele [ID]", {"valueString": finding["alt"]}))
        components.append(_component("81254-5", "Genomic allele start-end",
                                     {"valueRange": {"low": {"value": finding["pos"]}}}))
    source = SOURCE_LOINC.get(finding.get("genomic_source") or "germline")
    components.append(_component("48002-0", "Genomic source class", {"valueCodeableConcept": _cc(LOINC, *source)}))
    zygosity = ZYGOSITY_LOINC.get(finding.get("zygosity") or "")
    if zygosity:
        components.append(_component("53034-5", "Allelic state", {"valueCodeableConcept": _cc(LOINC, *zygosity)}))
    clinvar = (finding.get("evidence") or {}).get("clinvar") or {}
    if clinvar.get("variation_id"):
        components.append(_component("81252-9", "Discrete genetic variant", {"valueCodeableConcept": _cc(
            CLINVAR, str(clinvar["variation_id"]), clinvar.get("accession"))}))
    if finding.get("vaf") is not None:
        components.append(_component("81258-6", "Sample VAF", {"valueQuantity": {
            "value": round(float(finding["vaf"]), 4), "system": "http://unitsofmeasure.org", "code": "1"}}))
    if finding.get("depth") is not None:
        components.append(_component("82121-5", "Allelic read depth", {"valueQuantity": {
            "value": int(finding["depth"]), "system": "http://unitsofmeasure.org", "code": "1"}}))
    observation = {
        "resourceType": "Observation", "meta": {"profile": [f"{IG}variant"]}, **ref,
        "category": _categories(), "code": _cc(LOINC, "69548-6", "Genetic variant assessment"),
        "valueCodeableConcept": _cc(LOINC, "LA9633-4", "Present"),
        "method": _cc(LOINC, "LA26398-0", "Sequencing"), "component": components,
    }
    if finding.get("kind") in ("copy_number", "fusion"):
        observation["note"] = [{"text": f"{finding['kind'].replace('_', ' ')}: {finding.get('consequence') or ''}"}]
    if finding.get("category") == "additional":
        observation["extension"] = [{"url": SECONDARY_FINDING, "valueCodeableConcept": _cc(
            None, None, text="additional (secondary) finding, reported with the participant's consent")}]
    return observation


def _diagnostic(finding: dict[str, Any], ref: dict[str, Any], variant_url: str) -> dict[str, Any] | None:
    """A Diagnostic Implication (profile diagnostic-implication): ACMG class, condition, inheritance."""
    classification = finding.get("classification")
    if not classification:
        return None
    components = []
    code = ACMG_LOINC.get(classification)
    components.append(_component("53037-8", "Genetic variation clinical significance", {
        "valueCodeableConcept": _cc(LOINC, code, classification) if code else _cc(None, None, text=classification)}))
    if finding.get("criteria"):
        components.append(_component("93044-6", "Level of evidence", {"valueCodeableConcept": _cc(
            None, None, text=f"{finding.get('classification_scheme') or 'criteria'}: {', '.join(finding['criteria'])}")}))
    disease = (finding.get("evidence") or {}).get("disease") or {}
    if disease.get("id") or disease.get("name"):
        system = {"OMIM": "https://omim.org", "ORPHA": "https://www.orpha.net", "MONDO":
                  "http://purl.obolibrary.org/obo/mondo.owl"}.get(str(disease.get("id") or "").split(":")[0])
        components.append(_component("81259-4", "Associated phenotype", {"valueCodeableConcept": _cc(
            system, disease.get("id") if system else None, disease.get("name"), text=disease.get("name"))}))
    inheritance = (finding.get("inheritance") or "").lower().replace("-", " ")
    if inheritance:
        hpo = INHERITANCE_HPO.get(inheritance)
        components.append(_component("condition-inheritance", "Condition Inheritance", {
            "valueCodeableConcept": _cc(HPO, *hpo) if hpo else _cc(None, None, text=finding["inheritance"])},
            system=TBD))
    out = {"resourceType": "Observation", "meta": {"profile": [f"{IG}diagnostic-implication"]}, **ref,
           "category": _categories(), "code": _cc(TBD, "diagnostic-implication", "Diagnostic Implication"),
           "derivedFrom": [{"reference": variant_url}], "component": components}
    if finding.get("comment"):
        out["note"] = [{"text": finding["comment"]}]
    return out


def _therapeutic(finding: dict[str, Any], therapy: dict[str, Any], ref: dict[str, Any], variant_url: str,
                 tumour: str | None) -> dict[str, Any]:
    """A Therapeutic Implication (profile therapeutic-implication) for one drug or combination."""
    resistant = "resist" in str(therapy.get("response", "")).lower()
    components = [
        _component("therapeutic-implication", "Therapeutic Implication", {"valueCodeableConcept": _cc(
            LOINC, "LA6676-6" if resistant else "LA6677-4", "Resistant" if resistant else "Responsive")}, system=TBD),
        _component("51963-7", "Medication assessed", {"valueCodeableConcept": _cc(None, None, text=therapy["drug"])}),
    ]
    if therapy.get("level"):
        components.append(_component("93044-6", "Level of evidence", {"valueCodeableConcept": _cc(
            None, None, text=f"AMP/ASCO/CAP level {therapy['level']}"
            + ("" if therapy.get("in_tumour_type", True) else " (other tumour type)"))}))
    if tumour:
        components.append(_component("81259-4", "Phenotypic treatment context",
                                     {"valueCodeableConcept": _cc(None, None, text=tumour)}))
    return {"resourceType": "Observation", "meta": {"profile": [f"{IG}therapeutic-implication"]}, **ref,
            "category": _categories(), "code": _cc(TBD, "therapeutic-implication", "Therapeutic Implication"),
            "derivedFrom": [{"reference": variant_url}], "component": components,
            "note": [{"text": f"{finding.get('gene')}: evidence items {', '.join(therapy.get('items') or [])}"}]}


def _device(run: dict[str, Any]) -> dict[str, Any]:
    """The software of one interpretation run as a Device: its run id, and each software and reference-data
    version it rests on as a Device.version (type names the component)."""
    versions = [{"type": {"text": name}, "value": str(value)} for name, value in (run.get("versions") or {}).items()
                if str(value).strip()]
    device: dict[str, Any] = {
        "resourceType": "Device", "identifier": [{"system": GMC_RUN_ID, "value": str(run.get("run_id"))}],
        "deviceName": [{"name": f"gmc {run.get('kind') or ''} interpretation run {run.get('run_id')}".replace("  ", " "),
                        "type": "user-friendly-name"}],
        "type": _cc(None, None, text="genomic analysis software"),
    }
    if versions:
        device["version"] = versions
    if run.get("schemes"):
        device["note"] = [{"text": "; ".join(str(s) for s in run["schemes"])}]
    return device


def report_bundle(document: dict[str, Any]) -> dict[str, Any]:
    """The FHIR R4 collection bundle of a report document, validated (FhirBundleError when it is not valid)."""
    ids = _Ids(document)
    status = document["fhir_status"]
    observation_status = status if status in ("final", "amended", "corrected", "preliminary") else "final"
    patient_url, lab_url, request_url = ids("patient"), ids("laboratory"), ids("referral")
    issued = document.get("issued_at")
    patient = document["patient"]
    patient_resource: dict[str, Any] = {"resourceType": "Patient", "identifier": [], "name": [{
        "family": patient.get("family_name"), "given": [patient.get("given_name")]}],
        "gender": patient.get("sex") if patient.get("sex") in ("male", "female", "other", "unknown") else "unknown"}
    if patient.get("nhs_number"):
        patient_resource["identifier"].append({"system": NHS_NUMBER, "value": patient["nhs_number"]})
    patient_resource["identifier"].append({"system": "https://gmc.nhs.uk/Id/participant",
                                           "value": patient["participant_id"]})
    if patient.get("date_of_birth"):
        patient_resource["birthDate"] = patient["date_of_birth"]
    lab = document["laboratory"]
    entries: list[tuple[str, dict[str, Any]]] = [
        (patient_url, patient_resource),
        (lab_url, {"resourceType": "Organization", "name": lab.get("name"),
                   **({"identifier": [{"system": "https://gmc.nhs.uk/Id/centre", "value": lab["code"]}]}
                      if lab.get("code") else {})}),
    ]
    referral = document["referral"]
    entries.append((request_url, {
        "resourceType": "ServiceRequest", "status": "completed" if status != "preliminary" else "active",
        "intent": "order", "subject": {"reference": patient_url},
        "identifier": [{"system": "https://gmc.nhs.uk/Id/referral", "value": referral["referral_id"]}],
        "code": _cc(None, None, text=document["method"]["test"]),
        "reasonCode": [_cc(None, None, text=referral.get("clinical_indication"))],
        "authoredOn": referral.get("referral_date"),
        "requester": {"display": referral.get("referring_clinician")},
        "performer": [{"reference": lab_url}]}))
    interpreters = []
    for role, signature in (document.get("signatures") or {}).items():
        if not signature:
            continue
        url = ids(f"practitioner-{role}")
        entries.append((url, {"resourceType": "Practitioner", "identifier": [
            {"system": GMC_USER, "value": signature["username"]}], "name": [{"text": signature["name"]}]}))
        interpreters.append({"reference": url, "display": f"{signature['name']} ({role}, signed "
                                                          f"{signature['signed_at']})"})
    base = {"status": observation_status, "subject": {"reference": patient_url}, "performer": [{"reference": lab_url}],
            **({"issued": issued} if issued else {})}
    # The software and reference-data versions each result rests on: one Device per interpretation run, which every
    # Observation from that run names (Observation.device), so a receiving system sees what produced it.
    devices: dict[str | None, str] = {}
    for run in document.get("provenance") or []:
        url = ids(f"run-{run.get('run_id')}")
        devices[run.get("run_id")] = url
        entries.append((url, _device(run)))
    results: list[str] = []
    tumour = ((document.get("cancer") or {}).get("tumour_type") or {}).get("name")
    for n, finding in enumerate([*document["findings"], *document["additional_findings"]]):
        variant_url = ids(f"variant-{n}")
        device = devices.get(finding.get("run_id")) or next(iter(devices.values()), None)
        ref = {**base, "device": {"reference": device}} if device else base
        entries.append((variant_url, _variant(document, finding, ref)))
        results.append(variant_url)
        diagnostic = _diagnostic(finding, ref, variant_url)
        if diagnostic is not None:
            url = ids(f"diagnostic-{n}")
            entries.append((url, diagnostic))
            results.append(url)
        for k, therapy in enumerate(finding.get("therapies") or []):
            url = ids(f"therapeutic-{n}-{k}")
            entries.append((url, _therapeutic(finding, therapy, ref, variant_url, tumour)))
            results.append(url)
    tmb = (document.get("cancer") or {}).get("tmb") or {}
    if tmb.get("per_mb") is not None:
        url = ids("tmb")
        somatic = next((devices.get(r.get("run_id")) for r in document.get("provenance") or []
                        if r.get("kind") == "somatic"), None)
        ref = {**base, "device": {"reference": somatic}} if somatic else base
        entries.append((url, {
            "resourceType": "Observation", "meta": {"profile": [f"{IG}molecular-biomarker"]}, **ref,
            "category": [*_categories(), _cc(TBD, "biomarker-category", "Biomarker Category")],
            "code": _cc(LOINC, "94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
            "valueQuantity": {"value": tmb["per_mb"], "unit": "mutations per megabase",
                              "system": "http://unitsofmeasure.org", "code": "1/1000000"},
            "note": [{"text": f"{tmb.get('mutations')} mutations over {tmb.get('territory_mb')} Mb "
                              f"({tmb.get('count_mode')})"}]}))
        results.append(url)
    outcome = OUTCOME_LOINC.get(document.get("outcome") or "inconclusive", OUTCOME_LOINC["inconclusive"])
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "meta": {"profile": [f"{IG}genomic-report"]},
        "identifier": [{"system": GMC_REPORT_ID, "value": f"{document['report_id']}",
                        "assigner": {"display": lab.get("name")}},
                       {"system": GMC_CASE_ID, "value": document["case"]["case_id"]}],
        "basedOn": [{"reference": request_url}], "status": status,
        "category": [_cc("http://terminology.hl7.org/CodeSystem/v2-0074", "GE", "Genetics")],
        "code": _cc(LOINC, "51969-4", "Genetic analysis report"), "subject": {"reference": patient_url},
        "performer": [{"reference": lab_url}], "resultsInterpreter": interpreters,
        "result": [{"reference": url} for url in results],
        "conclusion": document.get("summary") or "", "conclusionCode": [_cc(LOINC, *outcome)],
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo",
                       "valueReference": {"display": f"report version {document['version']}"
                                          + (f", {document['amendment']['kind']}: {document['amendment']['reason']}"
                                             if document.get("amendment") else "")}}],
    }
    if issued:
        report["issued"] = issued
    bundle = {"resourceType": "Bundle", "type": "collection",
              "identifier": {"system": GMC_REPORT_ID, "value": f"{document['report_id']}v{document['version']}"},
              "entry": [{"fullUrl": ids("report"), "resource": report},
                        *({"fullUrl": url, "resource": resource} for url, resource in entries)]}
    if issued:
        bundle["timestamp"] = issued
    return validate(bundle)


#: Required bindings fhir.resources does not check (it validates structure and datatypes, not value sets).
REPORT_STATUSES = ("registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled",
                   "entered-in-error", "unknown")
OBSERVATION_STATUSES = ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                        "entered-in-error", "unknown")


def _check_genomics_profiles(bundle: dict[str, Any]) -> None:
    """The IG's rules on what fhir.resources leaves open: statuses, genomic categories, codes, references."""
    urls = {entry.get("fullUrl") for entry in bundle.get("entry", [])}
    for n, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        profile = (resource.get("meta") or {}).get("profile", [""])[0].rsplit("/", 1)[-1]
        where = f"entry.{n}.resource"
        if kind == "DiagnosticReport":
            if resource.get("status") not in REPORT_STATUSES:
                raise FhirBundleError(f"FHIR bundle invalid at {where}.status: {resource.get('status')!r}")
            if (resource.get("code") or {}).get("coding", [{}])[0].get("code") != "51969-4":
                raise FhirBundleError(f"FHIR bundle invalid at {where}.code: a genomic report is LOINC 51969-4")
            for k, result in enumerate(resource.get("result") or []):
                if result.get("reference") not in urls:
                    raise FhirBundleError(f"FHIR bundle invalid at {where}.result.{k}: not in the bundle")
        if kind == "Observation" and profile:
            if resource.get("status") not in OBSERVATION_STATUSES:
                raise FhirBundleError(f"FHIR bundle invalid at {where}.status: {resource.get('status')!r}")
            codes = {c.get("code") for cat in resource.get("category") or [] for c in cat.get("coding") or []}
            if not {"laboratory", "GE"} <= codes:
                raise FhirBundleError(f"FHIR bundle invalid at {where}.category: laboratory and GE are required")
            if profile.endswith("implication") and not all(
                    d.get("reference") in urls for d in resource.get("derivedFrom") or [{}]):
                raise FhirBundleError(f"FHIR bundle invalid at {where}.derivedFrom: needs a variant in the bundle")


def validate(bundle: dict[str, Any]) -> dict[str, Any]:
    """Validates a bundle with fhir.resources and the IG's rules; returns JSON-ready data (FhirBundleError names
    the field)."""
    try:
        data = Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirBundleError(f"FHIR bundle invalid at {where}: {first.get('msg')}") from exc
    _check_genomics_profiles(data)
    return data


def bundle_variants(bundle: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(gene, c. HGVS without transcript, ACMG class or '') of each variant in a bundle (for cross-checks)."""
    resources = {e["fullUrl"]: e["resource"] for e in bundle.get("entry", [])}
    classes: dict[str, str] = {}
    for resource in resources.values():
        if resource.get("code", {}).get("coding", [{}])[0].get("code") == "diagnostic-implication":
            significance = next((c for c in resource.get("component", [])
                                 if c["code"]["coding"][0]["code"] == "53037-8"), None)
            value = significance["valueCodeableConcept"] if significance else {}
            text = value.get("coding", [{}])[0].get("display") if value.get("coding") else value.get("text")
            classes[resource["derivedFrom"][0]["reference"]] = text or ""
    out = []
    for url, resource in resources.items():
        if resource.get("code", {}).get("coding", [{}])[0].get("code") != "69548-6":
            continue
        parts = {c["code"]["coding"][0]["code"]: c for c in resource.get("component", [])}
        gene_value = parts.get("48018-6", {}).get("valueCodeableConcept", {})
        gene = gene_value.get("coding", [{}])[0].get("display") if gene_value.get("coding") else gene_value.get("text")
        c_value = parts.get("48004-6", {}).get("valueCodeableConcept", {}).get("coding", [{}])[0].get("code", "")
        out.append((gene or "", c_value.split(":", 1)[-1] if c_value else "", classes.get(url, "")))
    return out
