"""The one place reporting reads interpretation results: rare ranked genes and cancer findings as reportable candidates.

Interpretation result documents change shape as interpretation grows (ACMG details, inheritance, therapies grouped
per drug, HGVS withheld when its sequence is unknown), so every field is read defensively here and nowhere else.
A value the run did not give is left empty and the reason is said in `withheld`; nothing is invented.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from gmc.reporting.mane import ManeIndex

#: ACMG/AMP classes in report order (most to least significant).
ACMG_CLASSES = ("Pathogenic", "Likely pathogenic", "Uncertain significance", "Likely benign", "Benign")
_ONE_LETTER_P = re.compile(r"^p\.\(?([A-Z*])(\d+)([A-Z*]|fs\*?\d*|del|dup)\)?$")
_PMID = re.compile(r"PMID:?\s*(\d+)", re.IGNORECASE)
_ZYGOSITY = {"het": "heterozygous", "hom_alt": "homozygous", "hom": "homozygous", "hemizygous": "hemizygous",
             "heterozygous": "heterozygous", "homozygous": "homozygous", "hemi": "hemizygous"}


@dataclass
class Candidate:
    """A finding a scientist may select for a report, with everything the report prints about it."""

    key: str
    source: str
    kind: str
    gene: str
    hgnc_id: str | None = None
    chrom: str | None = None
    pos: int | None = None
    ref: str | None = None
    alt: str | None = None
    build: str | None = None
    transcript: str | None = None
    #: MANE Select accessions of the transcript the c. is on (refseq, ensembl, protein), when it is MANE Select.
    mane_select: dict[str, str] | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hgvs_g: str | None = None
    #: Why a field is empty: {"hgvs_p": "the protein change needs ...", "zygosity": "..."}.
    withheld: dict[str, str] = field(default_factory=dict)
    consequence: str | None = None
    zygosity: str | None = None
    #: germline or somatic.
    genomic_source: str = "germline"
    inheritance: str | None = None
    classification: str | None = None
    classification_scheme: str | None = None
    criteria: list[str] = field(default_factory=list)
    criteria_detail: list[dict[str, Any]] = field(default_factory=list)
    points: float | None = None
    tier: str | None = None
    amp_level: str | None = None
    rank: int | None = None
    score: float | None = None
    #: clinvar {accession, variation_id, significance, review}, pmids, kb_items, hpo_terms, disease, population_af.
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Cancer: [{drug, response, level, in_tumour_type, items}] grouped per drug or combination.
    therapies: list[dict[str, Any]] = field(default_factory=list)
    vaf: float | None = None
    depth: int | None = None
    #: primary, or additional for consented secondary findings (germline additional findings).
    category: str = "primary"

    def as_dict(self) -> dict[str, Any]:
        """Plain data (what a reported finding stores as its details)."""
        return asdict(self)


def _text(value: Any) -> str | None:
    """A non-empty string or None (results use None, '', '.' and '-' for nothing)."""
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text not in {".", "-", "None", "null"} else None


#: How annotation's `hgvs_note` names each description it withheld ("c. withheld ...", "p. and codon change ...";
#: "m. withheld ..." for the mitochondrial genome, whose description sits in hgvs_c).
_NOTE_PREFIX = {"hgvs_c": ("c.", "c ", "m."), "hgvs_p": ("p.", "p "), "hgvs_g": ("g.",)}


def _withheld_reason(entry: dict[str, Any], name: str) -> str | None:
    """The reason the run gave for withholding a description: `<name>_withheld`, `withheld: {name: reason}`, or
    annotation's `hgvs_note` ("c. withheld, ...; p. withheld: ...") when it names this description."""
    direct = _text(entry.get(f"{name}_withheld"))
    if direct:
        return direct
    withheld = entry.get("withheld")
    if isinstance(withheld, dict) and _text(withheld.get(name)):
        return _text(withheld.get(name))
    note = _text(entry.get("hgvs_note")) or _text((entry.get("evidence") or {}).get("hgvs_note"))
    if note:
        for part in re.split(r";\s*", note):
            if part.strip().startswith(_NOTE_PREFIX.get(name, ())):
                # "c. withheld, consequence taken ...": the report already says what is withheld; keep the why
                return re.sub(r"^[cmpg]\. (?:and codon change )?withheld[,:]?\s*", "", part.strip()) or part.strip()
    return None


def _no_fasta(provenance: dict[str, Any]) -> bool:
    """True when the run's annotation had no reference genome sequence."""
    return "fasta" in provenance and str(provenance.get("fasta") or "none").strip().lower().startswith("none")


def three_letter_protein(hgvs_p: str | None) -> str | None:
    """p.H1047R -> p.(His1047Arg): a one-letter protein change in HGVS three-letter form (predicted: parentheses)."""
    from gmc.genomics.annotation.hgvs import THREE_LETTER

    text = _text(hgvs_p)
    if text is None:
        return None
    match = _ONE_LETTER_P.match(text)
    if not match or any(c.islower() for c in match.group(1)):
        return text
    first, number, rest = match.groups()
    tail = THREE_LETTER.get(rest, rest) if len(rest) == 1 else rest
    return f"p.({THREE_LETTER.get(first, first)}{number}{tail})"


def hgvs_g(chrom: str | None, pos: int | None, ref: str | None, alt: str | None, build: str | None,
           mane: ManeIndex) -> tuple[str | None, str | None]:
    """The genomic HGVS (g.) of a VCF allele on the GRCh38 chromosome accession, or None and why it is withheld.

    Substitutions and same-length changes need no sequence beyond the VCF's own alleles. Insertions and deletions
    must be shifted 3' against the reference sequence, which the allele alone does not give: withheld.
    """
    if not (chrom and pos and ref and alt):
        return None, "the run gives no genomic position and alleles"
    if (build or "GRCh38") != "GRCh38":
        return None, f"genomic HGVS is given on GRCh38; this result is on {build}"
    accession = mane.chromosomes.get(str(chrom).removeprefix("chr").upper().replace("MT", "M"))
    if accession is None:
        return None, f"no GRCh38 RefSeq accession for chromosome {chrom} in {mane.release}"
    if len(ref) == 1 and len(alt) == 1:
        return f"{accession}:g.{pos}{ref}>{alt}", None
    if len(ref) == len(alt):
        # Trim shared ends: the changed stretch is what delins names.
        start, r, a = pos, ref, alt
        while r and a and r[0] == a[0]:
            start, r, a = start + 1, r[1:], a[1:]
        while r and a and r[-1] == a[-1]:
            r, a = r[:-1], a[:-1]
        if len(r) == 1 and len(a) == 1:
            return f"{accession}:g.{start}{r}>{a}", None
        return f"{accession}:g.{start}_{start + len(r) - 1}delins{a}", None
    return None, ("an insertion or deletion must be shifted 3' against the reference sequence for its HGVS g.; "
                  "the allele alone does not give it")


def clinvar_evidence(text: Any, variation_id: Any = None, significance: Any = None,
                     review: Any = None) -> dict[str, Any] | None:
    """ClinVar as the report prints it: VCV accession, variation id, significance and review status."""
    parts = (_text(text) or "").split("|")
    significance = _text(significance) or (_text(parts[0]) if parts and parts[0] else None)
    review = _text(review) or (_text(parts[1]) if len(parts) > 1 else None)
    variation = _text(variation_id) or (_text(parts[2]) if len(parts) > 2 else None)
    if not (significance or variation):
        return None
    accession = f"VCV{int(variation):09d}" if variation and variation.isdigit() else None
    return {"accession": accession, "variation_id": variation,
            "significance": significance.replace("_", " ") if significance else None,
            "review": review.replace("_", " ") if review else None}


def _transcript(entry: dict[str, Any], gene: str | None, mane: ManeIndex, *,
                annotated_with_mane: bool) -> tuple[str | None, dict[str, str] | None, str | None]:
    """The transcript of the c. (as the run names it), its MANE Select accessions, or why it is unknown."""
    named = _text(entry.get("transcript"))
    if named:
        found = mane.for_gene(None, named)
        if found is None:
            return named, None, None
        return named, {"refseq": found.refseq, "ensembl": found.ensembl, "protein": found.refseq_protein}, None
    if annotated_with_mane and gene:
        found = mane.for_gene(gene)
        if found is not None:
            return found.refseq, {"refseq": found.refseq, "ensembl": found.ensembl,
                                  "protein": found.refseq_protein}, None
    return None, None, "the run does not record which transcript its c. notation is on"


def _hgvs_fields(candidate: Candidate, entry: dict[str, Any], provenance: dict[str, Any]) -> None:
    """Fills c. and p. from the run, or the reason they are missing."""
    candidate.hgvs_c = _text(entry.get("hgvs_c"))
    candidate.hgvs_p = three_letter_protein(entry.get("hgvs_p"))
    no_fasta = _no_fasta(provenance)
    for name in ("hgvs_c", "hgvs_p"):
        if getattr(candidate, name):
            continue
        reason = _withheld_reason(entry, name)
        if reason is None and name == "hgvs_p" and "hgvs_c" in candidate.withheld and not no_fasta:
            reason = "the protein change follows from the c. description, which is withheld"
        if reason is None and name == "hgvs_p":
            if no_fasta:
                reason = "the protein change needs the reference genome sequence, which the run did not have"
            elif candidate.consequence and not any(t in candidate.consequence for t in (
                    "missense", "frameshift", "stop", "inframe", "start", "synonymous", "protein")):
                reason = f"not a protein-coding change ({candidate.consequence})"
        if reason is None:
            reason = "the run gives none"
        candidate.withheld[name] = reason


def _acmg_detail(acmg: dict[str, Any] | None) -> tuple[str | None, list[str], list[dict[str, Any]], float | None]:
    """Class, met codes, met criteria with strength and reason, points from an ACMG result (stored or now)."""
    if not isinstance(acmg, dict):
        return None, [], [], None
    criteria = [c for c in acmg.get("criteria", []) if isinstance(c, dict)]
    met = [c for c in criteria if c.get("met")]
    detail = [{"code": c.get("code"), "strength": c.get("strength"), "direction": c.get("direction"),
               "reason": c.get("reason"), "source": c.get("source", "automatic"), "by": c.get("by")} for c in met]
    codes = [str(c) for c in acmg.get("met") or [d["code"] for d in detail] if c]
    classification = _text(acmg.get("classification") or acmg.get("class"))
    points = acmg.get("points")
    return classification, codes, detail, float(points) if isinstance(points, int | float) else None


def rare_candidates(results: dict[str, Any], *, mane: ManeIndex, build: str | None = None,
                    acmg_now: Any = None, top: int | None = None, parents_sequenced: bool | None = None) -> list[Candidate]:
    """Every variant of a rare run's ranked genes (the first `top` genes), best rank first.

    `acmg_now(variant)` gives a variant's ACMG result now (the run's criteria with the case's overrides applied).
    `parents_sequenced` False marks a de novo mode as unconfirmed (the run could not see the parents).
    """
    provenance = results.get("provenance") or {}
    build = build or _text(provenance.get("build")) or "GRCh38"
    out: list[Candidate] = []
    genes = [g for g in results.get("genes") or [] if isinstance(g, dict)]
    for gene in genes[:top] if top else genes:
        symbol = _text(gene.get("gene")) or "?"
        phenotype = (gene.get("explanation") or {}).get("phenotype") or {}
        for variant in gene.get("variants") or []:
            if not isinstance(variant, dict):
                continue
            candidate = Candidate(key=str(variant.get("variant")), source="rare", kind="snv_indel", gene=symbol,
                                  hgnc_id=_text(gene.get("hgnc_id")), chrom=_text(variant.get("chrom")),
                                  pos=variant.get("pos"), ref=_text(variant.get("ref")), alt=_text(variant.get("alt")),
                                  build=build, consequence=_text(variant.get("consequence")),
                                  rank=gene.get("rank"), score=gene.get("score"))
            candidate.transcript, candidate.mane_select, why = _transcript(variant, symbol, mane,
                                                                           annotated_with_mane=False)
            if why:
                candidate.withheld["transcript"] = why
            _hgvs_fields(candidate, variant, provenance)
            candidate.hgvs_g, why = hgvs_g(candidate.chrom, candidate.pos, candidate.ref, candidate.alt, build, mane)
            if why:
                candidate.withheld["hgvs_g"] = why
            genotype = _text(variant.get("zygosity")) or _text(variant.get("genotype"))
            candidate.zygosity = _ZYGOSITY.get((genotype or "").lower())
            if candidate.zygosity is None:
                candidate.withheld["zygosity"] = f"genotype {genotype or 'not called'}"
            candidate.inheritance = _inheritance(gene, variant)
            if candidate.inheritance is None:
                candidate.withheld["inheritance"] = "the run states no mode of inheritance"
            elif "de novo" in candidate.inheritance and parents_sequenced is False:
                candidate.inheritance = "de novo not confirmed (parents not sequenced)"
            tier = gene.get("tier")
            candidate.tier = str(tier) if tier not in (None, "", 0) else None
            acmg = acmg_now(variant) if acmg_now else None
            acmg = acmg or variant.get("acmg_now") or variant.get("acmg")
            (candidate.classification, candidate.criteria, candidate.criteria_detail,
             candidate.points) = _acmg_detail(acmg)
            candidate.classification_scheme = "ACMG/AMP 2015 (Bayesian points, Tavtigian 2020)" if acmg else None
            if candidate.classification is None:
                candidate.withheld["classification"] = "the run made no ACMG evaluation of this variant"
            evidence = variant.get("evidence") or {}
            candidate.evidence = {
                "clinvar": clinvar_evidence(evidence.get("clinvar"), evidence.get("clinvar_id")),
                "pmids": _pmids(variant, evidence),
                "kb_items": [],
                "hpo_terms": [{"id": m.get("patient_term"), "label": m.get("patient_label") or ""}
                              for m in phenotype.get("matched_terms") or [] if isinstance(m, dict)],
                "disease": ({"id": _text(phenotype.get("disease_id")), "name": _text(phenotype.get("disease"))}
                            if phenotype.get("disease_id") or phenotype.get("disease") else None),
                "population_af": evidence.get("population_af"),
                "af_source": evidence.get("af_source"),
            }
            out.append(candidate)
    return out


def _inheritance(gene: dict[str, Any], variant: dict[str, Any]) -> str | None:
    """The mode of inheritance the run states (variant or gene level), as words."""
    for source in (variant, gene):
        for name in ("inheritance", "mode_of_inheritance", "mode"):
            value = source.get(name)
            if isinstance(value, dict):
                value = value.get("label") or value.get("mode") or value.get("value")
            text = _text(value)
            if text and text.lower() not in {"unknown", "none"}:
                return text.replace("_", " ")
    return None


def _pmids(*sources: dict[str, Any]) -> list[str]:
    """PMIDs named anywhere in the given evidence fields, in order, once each."""
    found: list[str] = []
    for source in sources:
        for name in ("pmids", "citations", "publications"):
            for item in source.get(name) or []:
                for number in _PMID.findall(str(item)) or ([str(item)] if str(item).isdigit() else []):
                    if number not in found:
                        found.append(number)
    return found


def group_therapies(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """A cancer finding's predictive evidence as one line per drug or combination and direction.

    Reads the run's own therapy lines when it has them (one line per regimen and direction, best level, levels
    here and elsewhere, supporting items, a caution for unstated combinations), else groups the evidence rows.
    """
    grouped = finding.get("therapies")
    if isinstance(grouped, list) and grouped and isinstance(grouped[0], dict):
        out = []
        for row in grouped:
            drug = _text(row.get("therapy") or row.get("drug") or row.get("name"))
            if not drug:
                continue
            here = bool(row.get("in_tumour_type", True))
            level = _text(row.get("level_here") if here else None) or _text(
                row.get("best_level") or row.get("level")) or ""
            items = row.get("evidence_ids") or row.get("items") or row.get("evidence") or []
            response = _text(row.get("direction") or row.get("response") or row.get("significance")) or ""
            out.append({"drug": drug, "response": "resistance" if "resist" in response.lower() else
                        ("sensitivity" if response else ""), "level": level, "in_tumour_type": here,
                        "items": [str(i.get("id") if isinstance(i, dict) else i) for i in items],
                        "note": _text(row.get("note")) or ""})
        return out
    by_drug: dict[tuple[str, str], dict[str, Any]] = {}
    for item in finding.get("evidence") or []:
        if not isinstance(item, dict) or item.get("type") != "predictive" or not item.get("counted_for_tier", True):
            continue
        text = str(item.get("direction") or item.get("significance") or "").lower()
        response = "resistance" if "resist" in text else "sensitivity"
        for drug in item.get("therapies") or []:
            key = (str(drug), response)
            row = by_drug.setdefault(key, {"drug": str(drug), "response": response, "level": item.get("level") or "",
                                           "in_tumour_type": False, "items": [], "note": ""})
            row["level"] = min(row["level"] or "Z", item.get("level") or "Z")
            row["in_tumour_type"] = row["in_tumour_type"] or bool(item.get("in_tumour_type"))
            row["items"].append(str(item.get("id")))
    return sorted(by_drug.values(), key=lambda r: (not r["in_tumour_type"], r["level"], r["drug"]))


def _annotated_with_mane(provenance: dict[str, Any]) -> bool:
    """True when the run's own annotation (MANE Select transcripts) gave every variant's HGVS."""
    text = str(provenance.get("annotation") or "")
    return "mane" in text.lower() and "used for 0" in text


def cancer_candidates(results: dict[str, Any], *, mane: ManeIndex) -> list[Candidate]:
    """A cancer run's tiered somatic findings, structural findings and germline findings as candidates."""
    provenance = results.get("provenance") or {}
    with_mane = _annotated_with_mane(provenance)
    out: list[Candidate] = []
    for finding in [*(results.get("findings") or []), *(results.get("structural_findings") or [])]:
        if not isinstance(finding, dict) or not finding.get("tier"):
            continue
        kind = _text(finding.get("kind")) or "snv_indel"
        gene = _text(finding.get("gene")) or "?"
        if kind == "snv_indel":
            key = f"{finding.get('chrom')}:{finding.get('pos')}:{finding.get('ref')}:{finding.get('alt')}"
        else:
            key = f"{kind}:{gene}:{_text(finding.get('alteration')) or ''}"
        candidate = Candidate(key=key, source="somatic", kind=kind, gene=gene, chrom=_text(finding.get("chrom")),
                              pos=finding.get("pos"), ref=_text(finding.get("ref")), alt=_text(finding.get("alt")),
                              build="GRCh38", consequence=",".join(finding.get("consequences") or []) or None,
                              genomic_source="somatic", tier=_text(finding.get("tier")),
                              amp_level=_text(finding.get("amp_level")))
        if kind == "snv_indel":
            candidate.transcript, candidate.mane_select, why = _transcript(finding, gene, mane,
                                                                           annotated_with_mane=with_mane)
            if why:
                candidate.withheld["transcript"] = why
            _hgvs_fields(candidate, finding, provenance)
            candidate.hgvs_g, why = hgvs_g(candidate.chrom, candidate.pos, candidate.ref, candidate.alt, "GRCh38", mane)
            if why:
                candidate.withheld["hgvs_g"] = why
        else:
            candidate.consequence = _text(finding.get("alteration")) or kind.replace("_", " ")
        found = mane.for_gene(gene)
        candidate.hgnc_id = found.hgnc_id if found else None
        oncogenicity = finding.get("oncogenicity") or {}
        candidate.classification = _text(oncogenicity.get("class")) if isinstance(oncogenicity, dict) else None
        if candidate.classification:
            candidate.classification_scheme = "ClinGen/CGC/VICC oncogenicity (Horak 2022)"
            candidate.criteria = [str(c) for c in oncogenicity.get("criteria") or []]
            reasons = oncogenicity.get("reasons") or {}
            candidate.criteria_detail = [{"code": c, "reason": reasons.get(c, "")} for c in candidate.criteria]
            candidate.points = oncogenicity.get("points")
        candidate.withheld["zygosity"] = "somatic variant: allele fraction given instead"
        candidate.withheld["inheritance"] = "somatic: acquired in the tumour, not inherited"
        candidate.vaf = finding.get("tumour_vaf")
        candidate.depth = finding.get("tumour_depth")
        items = [e for e in finding.get("evidence") or [] if isinstance(e, dict) and e.get("counted_for_tier", True)]
        candidate.evidence = {
            "clinvar": None,
            "pmids": _pmids(*items),
            "kb_items": [{"id": e.get("id"), "source": e.get("source"), "type": e.get("type"), "level": e.get("level"),
                          "significance": e.get("significance"), "disease": e.get("disease")} for e in items],
            "hpo_terms": [],
            "tier_reason": _text(finding.get("tier_reason")),
            "prognostic": list(finding.get("prognostic") or []),
            "diagnostic": list(finding.get("diagnostic") or []),
        }
        candidate.therapies = group_therapies(finding)
        out.append(candidate)
    germline = results.get("germline") or {}
    for group, category in (("predisposition", "primary"), ("additional_findings", "additional")):
        for finding in germline.get(group) or []:
            if not isinstance(finding, dict):
                continue
            out.append(_germline_candidate(finding, category, mane, germline))
    return out


def _germline_candidate(finding: dict[str, Any], category: str, mane: ManeIndex,
                        germline: dict[str, Any]) -> Candidate:
    gene = _text(finding.get("gene")) or "?"
    candidate = Candidate(key=f"{finding.get('chrom')}:{finding.get('pos')}:{finding.get('ref')}:{finding.get('alt')}",
                          source="germline", kind="snv_indel", gene=gene, chrom=_text(finding.get("chrom")),
                          pos=finding.get("pos"), ref=_text(finding.get("ref")), alt=_text(finding.get("alt")),
                          build="GRCh38", consequence=_text(finding.get("consequence")), category=category)
    candidate.transcript, candidate.mane_select, why = _transcript(finding, gene, mane, annotated_with_mane=False)
    if why:
        candidate.withheld["transcript"] = why
    _hgvs_fields(candidate, finding, (germline.get("input") or {}).get("annotation") or {})
    candidate.hgvs_g, why = hgvs_g(candidate.chrom, candidate.pos, candidate.ref, candidate.alt, "GRCh38", mane)
    if why:
        candidate.withheld["hgvs_g"] = why
    found = mane.for_gene(gene)
    candidate.hgnc_id = found.hgnc_id if found else None
    zygosity = _ZYGOSITY.get((_text(finding.get("zygosity")) or _text(finding.get("genotype")) or "").lower())
    candidate.zygosity = zygosity
    if zygosity is None:
        candidate.withheld["zygosity"] = "the germline run does not record the genotype"
    candidate.inheritance = _inheritance({}, finding)
    if candidate.inheritance is None:
        candidate.withheld["inheritance"] = "the run states no mode of inheritance"
    candidate.classification = _text(finding.get("classification"))
    candidate.classification_scheme = _text(finding.get("classified_by")) or "ACMG/AMP 2015"
    acmg = finding.get("acmg") or {}
    candidate.criteria = [str(c) for c in acmg.get("criteria") or []]
    reasons = acmg.get("reasons") or {}
    candidate.criteria_detail = [{"code": c, "reason": reasons.get(c, "")} for c in candidate.criteria]
    candidate.points = acmg.get("points")
    clinvar = finding.get("clinvar") or {}
    candidate.evidence = {
        "clinvar": clinvar_evidence(None, clinvar.get("variation_id"), clinvar.get("significance"),
                                    clinvar.get("review")) if clinvar else None,
        "pmids": _pmids(finding), "kb_items": [], "hpo_terms": [],
        "disease": {"id": None, "name": _text(finding.get("disease"))} if finding.get("disease") else None,
        "population_af": finding.get("population_af"),
        "panels": list(finding.get("panels") or []),
    }
    return candidate


def class_rank(classification: str | None) -> int:
    """Sort order of an ACMG class (unknown classes last)."""
    try:
        return ACMG_CLASSES.index(classification or "")
    except ValueError:
        return len(ACMG_CLASSES)


def rare_reference_versions(provenance: dict[str, Any]) -> dict[str, str]:
    """The reference data versions a rare result rests on (what reanalysis watches)."""
    keys = ("clinvar", "hpo", "transcripts", "frequencies", "ranking", "gmc_version")
    out = {k: str(provenance[k]) for k in keys if provenance.get(k) is not None}
    if provenance.get("panels"):
        out["panels"] = "; ".join(str(p) for p in provenance["panels"])
    return out


def cancer_reference_versions(provenance: dict[str, Any]) -> dict[str, str]:
    """The knowledge-base files (with checksums) and curation state a cancer result rests on."""
    out: dict[str, str] = {}
    for item in provenance.get("knowledge_base") or []:
        if isinstance(item, dict) and item.get("path"):
            out[str(item["path"])] = str(item.get("sha256", ""))[:16]
    curation = provenance.get("curation") or {}
    if isinstance(curation, dict) and curation.get("live_items") is not None:
        out["curation"] = "; ".join(curation.get("live_items") or []) or "none"
    for key in ("version", "gmc_version"):
        if provenance.get(key):
            out[key] = str(provenance[key])
    return out
