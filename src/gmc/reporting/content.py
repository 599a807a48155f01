"""The clinical report document, in the shape of UK clinical genomics reporting (ACGS), as plain data (pure).

One document feeds every rendering (HTML, PDF, FHIR), so they cannot disagree. At release it is frozen and its
SHA-256 stored: a released report never changes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

#: FHIR DiagnosticReport status of a released version by amendment kind.
FHIR_STATUS = {None: "final", "amended": "amended", "corrected": "corrected"}

EXPLAINS = {"full": "fully", "partial": "partly", "none": "does not", None: "not recorded"}

#: What a germline short-variant genome analysis cannot detect, always stated.
RARE_NOT_DETECTED = (
    "Only single-nucleotide variants and small insertions or deletions in the genome data set were analysed: "
    "copy-number variants, structural rearrangements, repeat expansions, uniparental disomy and "
    "methylation changes are not detected by this analysis.",
    "Low-level mosaicism may be missed, and variants in regions of low coverage or poor mappability (e.g. genes "
    "with pseudogenes) may not be called.",
    "Variants were prioritised by the phenotype recorded and the panels applied; a variant in a gene outside "
    "them may not be reported.",
)
CANCER_NOT_DETECTED = (
    "Only the alterations in the supplied tumour-normal variant calls (and copy-number and fusion calls when "
    "supplied) were interpreted; alterations not called by the sequencing pipeline are not reported.",
    "Variants below the allele-fraction or depth filters of the run, and subclonal changes below them, are "
    "not reported.",
    "Therapy associations come from the knowledge-base versions listed below; they are not a treatment "
    "recommendation and must be reviewed by the treating team.",
)


def _iso(value: Any) -> str:
    """Dates and times as ISO 8601 text (times in UTC) for JSON."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plain(data: Any) -> Any:
    """Data as JSON would give it back: dates and times as ISO text (what a frozen document stores)."""
    return json.loads(json.dumps(data, default=_iso))


def canonical_json(document: dict[str, Any]) -> str:
    """The document as canonical JSON (sorted keys, no whitespace): what its checksum is taken over."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def checksum(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a document."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def _limitations(arm: str, runs: list[dict[str, Any]], findings: list[dict[str, Any]],
                 panels: list[str]) -> list[str]:
    """What this result cannot detect or could not assess, from the runs' own provenance."""
    out = list(RARE_NOT_DETECTED if arm == "rare_disease" else CANCER_NOT_DETECTED)
    for run in runs:
        provenance = run.get("provenance") or {}
        if run.get("kind") == "rare":
            if str(provenance.get("frequencies") or "none").lower().startswith("none"):
                out.append("No population frequency data was configured for this analysis: rarity could not be "
                           "assessed (ACMG PM2, BA1 and BS1 were not evaluable).")
            if str(provenance.get("fasta") or "none").lower().startswith("none"):
                out.append("The reference genome sequence was not available to the analysis: protein changes "
                           "and genomic HGVS of insertions or deletions that depend on it are withheld, not guessed.")
            if not panels:
                out.append("No gene panel was applied: tiering is limited and genes were ranked on phenotype "
                           "and variant evidence alone.")
            pedigree = (run.get("inputs") or {}).get("pedigree") or []
            if len(pedigree) < 3:
                out.append("Both parents were not sequenced with the proband: de novo status and phase could not "
                           "be confirmed from the data.")
        else:
            inputs = run.get("inputs") or {}
            if not inputs.get("germline_vcf"):
                out.append("No germline (normal) data set was interpreted: germline predisposition was not assessed.")
            if not inputs.get("cna"):
                out.append("No copy-number calls were supplied: amplifications and deletions were not assessed.")
            if not inputs.get("fusions"):
                out.append("No fusion calls were supplied: gene fusions were not assessed.")
            tmb = (run.get("results") or {}).get("tmb") or {}
            if tmb.get("territory_mb"):
                out.append(f"Tumour mutational burden is computed over an assumed callable territory of "
                           f"{tmb['territory_mb']} Mb; it is an estimate, not a validated companion diagnostic.")
    labels = {"hgvs_c": "HGVS c.", "hgvs_p": "HGVS p.", "hgvs_g": "HGVS g.", "transcript": "transcript",
              "zygosity": "zygosity"}
    withheld = sorted({f"{f.get('gene')} {labels[name]}: {reason}" for f in findings
                       for name, reason in (f.get("withheld") or {}).items() if name in labels})
    out += [f"Withheld for a reported variant — {w}." for w in withheld]
    for f in findings:
        described = f.get("described") or {}
        if described.get("fields"):
            names = ", ".join(labels[n] for n in described["fields"] if n in labels)
            out.append(f"{f.get('gene')} {names} confirmed by {described.get('name') or described.get('by')} "
                       f"against {described.get('source')}, where the analysis could not derive it.")
    return out


def _provenance(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run: its id, kind, when, and the software and reference-data versions it rests on."""
    out = []
    for run in runs:
        provenance = run.get("provenance") or {}
        versions: dict[str, str] = {}
        for key, value in provenance.items():
            if key in {"seconds", "inputs", "skipped_knowledge_records", "schemes"}:
                continue
            if key == "knowledge_base" and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        versions[f"knowledge base {item.get('path')}"] = (
                            f"{item.get('release', '')} sha256:{str(item.get('sha256', ''))[:16]}")
                continue
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value) or "none"
            elif isinstance(value, dict):
                value = json.dumps(value, sort_keys=True, default=str)
            versions[key.replace("_", " ")] = str(value)
        out.append({"run_id": run.get("run_id"), "kind": run.get("kind"), "finished_at": run.get("finished_at"),
                    "versions": versions, "schemes": list(provenance.get("schemes") or [])})
    return out


def build_document(*, report: dict[str, Any], patient: dict[str, Any], referral: dict[str, Any],
                   case: dict[str, Any], findings: list[dict[str, Any]], runs: list[dict[str, Any]],
                   panels: list[str], exit_questions: dict[str, Any], mdt: list[dict[str, Any]],
                   laboratory: dict[str, Any], cancer: dict[str, Any] | None = None,
                   reported_with: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole report document from plain inputs (no database): the one content every rendering shows."""
    arm = case.get("programme_arm", "rare_disease")
    primary = [f for f in findings if f.get("category") != "additional"]
    additional = [f for f in findings if f.get("category") == "additional"]
    test = ("Whole genome sequencing: rare-disease analysis (variant prioritisation by phenotype, panels, "
            "inheritance and ACMG/AMP classification)" if arm == "rare_disease" else
            "Whole genome sequencing of tumour and matched normal: somatic variant interpretation "
            "(AMP/ASCO/CAP tiers, oncogenicity, tumour mutational burden) and germline predisposition")
    kind = report.get("amendment_kind")
    return plain({
        "schema": "gmc-clinical-report/1",
        "report_id": report["report_id"],
        "version": report["version"],
        "fhir_status": FHIR_STATUS.get(kind, "final") if report.get("released") else "preliminary",
        "amendment": ({"kind": kind, "reason": report.get("amendment_reason"),
                       "amends_version": report["version"] - 1} if kind else None),
        "issued_at": report.get("issued_at"),
        "laboratory": laboratory,
        "patient": patient,
        "referral": referral,
        "case": case,
        "reason_for_referral": referral.get("clinical_indication"),
        "outcome": report.get("outcome") or "inconclusive",
        "summary": report.get("summary") or "",
        "findings": primary,
        "additional_findings": additional,
        "interpretation": report.get("interpretation") or "",
        "recommendations": report.get("recommendations") or "",
        "exit_questions": {
            "explains_phenotype": EXPLAINS.get(exit_questions.get("explains"), "not recorded"),
            "actionable": exit_questions.get("actionable"),
            "confirmed_orthogonally": exit_questions.get("confirmed"),
            "diagnosis_made": exit_questions.get("diagnosis_made"),
        },
        "mdt": mdt,
        "cancer": cancer,
        "method": {"test": test, "panels": panels, "build": next(
            (str((r.get("provenance") or {}).get("build") or (r.get("inputs") or {}).get("build"))
             for r in runs if (r.get("provenance") or {}).get("build") or (r.get("inputs") or {}).get("build")),
            "GRCh38")},
        "limitations": _limitations(arm, runs, findings, panels),
        "provenance": _provenance(runs),
        "reported_with": dict(reported_with or {}),
        "signatures": {
            "author": ({"name": report.get("author_name") or report.get("author"), "username": report.get("author"),
                        "signed_at": report.get("author_signed_at")} if report.get("author_signed_at") else None),
            "checker": ({"name": report.get("checker_name") or report.get("checker"),
                         "username": report.get("checker"), "signed_at": report.get("checker_signed_at")}
                        if report.get("checker_signed_at") else None),
        },
    })


def variant_rows(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(gene, c. HGVS, p. HGVS or '', classification) of every reported finding, primary then additional."""
    rows = []
    for finding in [*document.get("findings", []), *document.get("additional_findings", [])]:
        rows.append((finding.get("gene") or "", finding.get("hgvs_c") or "", finding.get("hgvs_p") or "",
                     finding.get("classification") or ""))
    return rows
