"""Germline cancer predisposition: ACMG classes in predisposition genes, additional findings only with consent."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gmc.interpretation.cancer.cpsr import CpsrPanelError, read_cpsr_panel
from gmc.interpretation.rare.acmg import (
    NULL_TERMS,
    Classification,
    FrequencyThresholds,
    LofMechanism,
    Strength,
    VariantEvidence,
    combine,
    criterion,
    evaluate_criteria,
    read_lof_mechanisms,
)

#: PanelApp confidence level of a green (diagnostic-grade) gene.
GREEN = 3
#: Consequences that change the protein or its splicing: the variants a predisposition report considers.
PROTEIN_ALTERING = frozenset({
    "transcript_ablation", "splice_acceptor_variant", "splice_donor_variant", "stop_gained", "frameshift_variant",
    "stop_lost", "start_lost", "initiator_codon_variant", "inframe_insertion", "inframe_deletion",
    "missense_variant", "protein_altering_variant", "splice_region_variant",
})
#: Classes a predisposition report lists (benign and likely benign are left out, as in CPSR).
REPORTED_CLASSES = (Classification.PATHOGENIC, Classification.LIKELY_PATHOGENIC, Classification.UNCERTAIN)
#: ClinVar significance -> ACMG class, for alleles ClinVar already classifies P/LP (>= 2 review stars).
CLINVAR_CLASSES = {
    "pathogenic": Classification.PATHOGENIC, "pathogenic/likely_pathogenic": Classification.PATHOGENIC,
    "likely_pathogenic": Classification.LIKELY_PATHOGENIC,
}
_MOI = {"AD": "dominant", "AR": "recessive", "XL": None, "AD/AR": None}


class GermlineInputError(ValueError):
    """A germline input or reference file cannot be used; the message names the file, line or field."""


@dataclass(frozen=True)
class PredispositionGene:
    """A cancer predisposition gene: the panels listing it (green), inheritance and mechanism."""

    gene: str
    panels: tuple[str, ...]
    #: AD, AR, AD/AR, XL or "" (CPSR panel 0).
    inheritance: str = ""
    #: LoF or GoF (CPSR panel 0), "" when unknown.
    mechanism: str = ""


@dataclass(frozen=True)
class SecondaryFindingGene:
    """A gene of the ACMG secondary findings list v3: reported only when the participant consented."""

    gene: str
    disease: str
    category: str
    inheritance: str
    #: "All P and LP" or "P and LP (2 variants)" for recessive genes.
    report: str


@dataclass(frozen=True)
class VcepFrequencyRule:
    """A ClinGen expert panel's population-frequency thresholds for one gene (BA1, BS1 and BS1_Supporting)."""

    gene: str
    #: The VCEP specification version ("" when the table gives none).
    version: str
    ba1: float | None = None
    bs1: float | None = None
    #: (low, high): BS1 at supporting strength for a frequency above low and at most high.
    bs1_supporting: tuple[float, float] | None = None

    def thresholds(self) -> FrequencyThresholds:
        """The ACMG engine's thresholds with this panel's BA1 and BS1 in place of the defaults."""
        default = FrequencyThresholds()
        ba1 = self.ba1 if self.ba1 is not None else default.ba1
        bs1 = self.bs1 if self.bs1 is not None else default.bs1_dominant
        return FrequencyThresholds(ba1=ba1, bs1_dominant=bs1, bs1_recessive=bs1)


@dataclass
class GermlineReferences:
    """The gene lists and gene knowledge germline classification reads, with their file versions."""

    predisposition: dict[str, PredispositionGene]
    secondary: dict[str, SecondaryFindingGene]
    lof: dict[str, LofMechanism]
    files: list[str] = field(default_factory=list)
    #: ClinGen expert-panel frequency rules per gene (CPSR's transcription of the VCEP specifications).
    vcep: dict[str, VcepFrequencyRule] = field(default_factory=dict)


def read_vcep_thresholds(path: Path) -> dict[str, VcepFrequencyRule]:
    """BA1/BS1 thresholds of the ClinGen VCEP specifications (CPSR's acmg_thresholds table), per gene."""
    rules: dict[str, dict[str, Any]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        needed = {"symbol", "criterion", "vcep_version", "evidence_level", "thresholds"}
        if missing := needed - set(reader.fieldnames or []):
            raise GermlineInputError(f"{path.name} line 1: missing columns {sorted(missing)}")
        for number, row in enumerate(reader, start=2):
            try:
                values = [float(value) for value in row["thresholds"].split(",")]
            except ValueError as exc:
                raise GermlineInputError(f"{path.name} line {number}: thresholds {row['thresholds']!r} are not "
                                         "numbers") from exc
            gene = row["symbol"].strip().upper()
            rule = rules.setdefault(gene, {"gene": gene, "version": row["vcep_version"].strip(".")})
            level, code = row["evidence_level"].strip(), row["criterion"].strip()
            if code == "BA1":
                rule["ba1"] = values[0]
            elif code == "BS1" and level == "supporting" and len(values) == 2:
                rule["bs1_supporting"] = (values[0], values[1])
            elif code == "BS1":
                rule["bs1"] = values[0]  # the lower bound; above BA1 is BA1 anyway
            else:
                raise GermlineInputError(f"{path.name} line {number}: unknown criterion {code} ({level})")
    return {gene: VcepFrequencyRule(**rule) for gene, rule in rules.items()}


def read_cancer_panel_ids(path: Path) -> dict[int, str]:
    """PanelApp panel id -> name from ge_panelapp_cancer_panels.txt (tab-separated name, id)."""
    panels: dict[int, str] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if number == 1 or not line.strip():
                continue
            if len(fields) < 2 or not fields[1].strip().isdigit():
                raise GermlineInputError(f"{path.name} line {number}: expected 'name<TAB>panel id'")
            panels[int(fields[1])] = fields[0].strip()
    return panels


def read_predisposition_genes(panel_ids: Path, panelapp: Path, cpsr_panel: Path) -> dict[str, PredispositionGene]:
    """Green genes of the PanelApp cancer panels plus CPSR panel 0 genes with a known inheritance."""
    wanted = read_cancer_panel_ids(panel_ids)
    panels: dict[str, set[str]] = {}
    moi: dict[str, str] = {}
    with panelapp.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        for number, row in enumerate(reader, start=2):
            try:
                panel, confidence = int(row["id"]), int(row["confidence_level"] or 0)
            except (KeyError, ValueError) as exc:
                raise GermlineInputError(f"{panelapp.name} line {number}: id/confidence_level missing or not a "
                                         "number") from exc
            if panel in wanted and confidence >= GREEN and row.get("Gene"):
                gene = row["Gene"].strip().upper()
                panels.setdefault(gene, set()).add(wanted[panel])
                moi.setdefault(gene, (row.get("mode_of_inheritance") or "").strip())
    mechanism: dict[str, str] = {}
    try:
        cpsr = read_cpsr_panel(cpsr_panel)
    except CpsrPanelError as exc:
        raise GermlineInputError(str(exc)) from exc
    for gene, entry in cpsr.items():
        # CPSR panel 0 also lists somatic-only genes (no inheritance): only predisposition genes count.
        if not entry.inheritance and gene not in panels:
            continue
        panels.setdefault(gene, set()).add("CPSR panel 0")
        if entry.inheritance:
            moi[gene] = entry.inheritance
        if entry.mechanism:
            mechanism[gene] = entry.mechanism
    return {gene: PredispositionGene(gene, tuple(sorted(names)), moi.get(gene, ""), mechanism.get(gene, ""))
            for gene, names in sorted(panels.items())}


def read_secondary_findings(path: Path) -> dict[str, SecondaryFindingGene]:
    """The ACMG SF v3 gene list (comment lines, then a tab-separated table with a Gene column)."""
    genes: dict[str, SecondaryFindingGene] = {}
    with path.open(encoding="utf-8") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1) if not line.startswith("#") and line.strip()]
    if not lines:
        raise GermlineInputError(f"{path.name}: no gene table")
    header = [h.strip() for h in lines[0][1].rstrip("\n").split("\t")]
    if "Gene" not in header:
        raise GermlineInputError(f"{path.name} line {lines[0][0]}: no 'Gene' column in the header")
    for number, line in lines[1:]:
        row = dict(zip(header, (v.strip() for v in line.rstrip("\n").split("\t")), strict=False))
        if not row.get("Gene"):
            raise GermlineInputError(f"{path.name} line {number}: empty Gene")
        genes[row["Gene"].upper()] = SecondaryFindingGene(
            row["Gene"].upper(), row.get("Disease/Phentyope", row.get("Disease/Phenotype", "")),
            row.get("Phenotype Category", ""), row.get("Inheritance", ""), row.get("Variants to report", ""))
    return genes


@lru_cache(maxsize=2)
def load_germline_references(refdata: str) -> GermlineReferences:
    """Reads the predisposition and secondary-findings gene lists and LoF mechanisms once per process."""
    root = Path(refdata)
    files = {
        "panels": root / "cancer" / "genes" / "ge_panelapp_cancer_panels.txt",
        "panelapp": root / "panelapp" / "PanelAppRex_PanelAppData_combined_core.tsv",
        "cpsr": root / "cancer" / "germline" / "cpsr" / "cpsr_panel_zero.tsv.gz",
        "secondary": root / "cancer" / "genes" / "acmg_secondary_findings_v3.txt",
        "clingen": next(iter(sorted((root / "clingen").glob("ClinGen_gene_curation_list_GRCh38*.tsv"))), root),
        "constraint": root / "constraint" / "gnomad_v4.1_constraint_mane_select.csv",
        "gene_info": root / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz",
        "vcep": root / "cancer" / "germline" / "cpsr" / "cpsr_acmg_thresholds_vcep.tsv",
    }
    for name, path in files.items():
        if not path.is_file():
            raise GermlineInputError(f"reference file for {name} is missing: {path} (check GMC_REFDATA)")
    genes = read_predisposition_genes(files["panels"], files["panelapp"], files["cpsr"])
    lof = read_lof_mechanisms(files["clingen"], files["constraint"], files["gene_info"])
    return GermlineReferences(genes, read_secondary_findings(files["secondary"]), lof,
                              [str(p.relative_to(root)) for p in files.values()], read_vcep_thresholds(files["vcep"]))


def _classification(row: dict[str, Any], refs: GermlineReferences, inheritance: str,
                    mechanism: str = "") -> dict[str, Any]:
    """ACMG criteria for one annotated allele, and the class reported (ClinVar's P/LP when it has one).

    A ClinGen expert panel's frequency thresholds replace the defaults for its gene (BA1, BS1, BS1_Supporting);
    in a gene whose predisposition is gain-of-function (CPSR), PVS1 never applies: loss of function is not how
    the gene predisposes, whatever its dosage sensitivity for other diseases (RET, KIT: Hirschsprung, piebaldism).
    """
    terms = frozenset(t for t in (row.get("consequence") or "").split("&") if t)
    af = row.get("gnomad_af")
    gene = str(row["gene"]).upper()
    evidence = VariantEvidence(
        gene=row["gene"], consequences=terms, chrom=row["chrom"], pos=row["pos"], ref=row["ref"], alt=row["alt"],
        hgvs_p=row.get("hgvs_p"), nmd_escape=row.get("nmd_escape"),
        population_af=float(af) if af is not None else None, frequency_source_covered=row.get("af_source") is not None,
        inheritance=_MOI.get(inheritance.replace(" ", "")))
    rule = refs.vcep.get(gene)
    gain_of_function = mechanism == "GoF"
    lof = {gene: LofMechanism(gene)} if gain_of_function else refs.lof
    criteria = evaluate_criteria(evidence, lof_mechanisms=lof, thresholds=rule.thresholds() if rule else
                                 FrequencyThresholds())
    notes = []
    if gain_of_function:
        criteria = [criterion("PVS1", met=False, reason=f"{gene} predisposes by gain of function (CPSR): a null "
                              "variant is not evidence of predisposition") if c.code == "PVS1" else c
                    for c in criteria]
        notes.append("gain-of-function gene: classified from known activating variants only")
    if rule is not None:
        notes.append(f"ClinGen VCEP {gene} v{rule.version or '?'} frequency thresholds (BA1 {rule.ba1}, BS1 "
                     f"{rule.bs1}) applied to the maximum population AF (the specification reads the filtering AF)")
        low_high = rule.bs1_supporting
        met_bs1 = any(c.code == "BS1" and c.met for c in criteria)
        if low_high and evidence.frequency_source_covered and not met_bs1 and af is not None \
                and low_high[0] < float(af) <= low_high[1]:
            criteria = [criterion("BS1", strength=Strength.SUPPORTING, reason=f"population AF {float(af):g} in the "
                                  f"VCEP supporting range {low_high[0]:g}-{low_high[1]:g}") if c.code == "BS1" else c
                        for c in criteria]
    acmg = combine(criteria)
    significance = (row.get("clinvar_significance") or "").lower()
    clinvar_class = CLINVAR_CLASSES.get(significance)
    final = clinvar_class or acmg.classification
    return {
        "classification": final.value,
        "classified_by": "ClinVar" if clinvar_class else "ACMG/AMP 2015 (Tavtigian points)",
        "acmg": {"class": acmg.classification.value, "points": acmg.points, "criteria": acmg.met(),
                 "reasons": {c.code: c.reason for c in acmg.criteria if c.met}, "notes": notes},
        "clinvar": {"significance": row.get("clinvar_significance"), "review": row.get("clinvar_review"),
                    "stars": row.get("clinvar_stars"), "variation_id": row.get("clinvar_id")}
        if row.get("clinvar_significance") else None,
    }


def _finding(row: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
    return {"chrom": row["chrom"], "pos": row["pos"], "ref": row["ref"], "alt": row["alt"], "gene": row["gene"],
            "transcript": row.get("transcript"), "hgvs_c": row.get("hgvs_c"), "hgvs_p": row.get("hgvs_p"),
            "consequence": row.get("consequence"), "population_af": row.get("gnomad_af"), **call}


def classify_germline(rows: Iterable[dict[str, Any]], refs: GermlineReferences, *,
                      additional_findings: bool) -> dict[str, Any]:
    """Classifies annotated germline alleles: predisposition findings always, additional findings only if consented.

    Each row is an annotation row (gmc.genomics.annotation COLUMNS: chrom, pos, ref, alt, gene, consequence,
    hgvs_p, nmd_escape, clinvar_significance, gnomad_af, af_source ...). Predisposition genes report P, LP and
    VUS among protein-altering or ClinVar P/LP alleles; secondary-findings genes outside the predisposition
    panels report P and LP only, and only when `additional_findings` is True (the participant's consent).
    """
    predisposition: list[dict[str, Any]] = []
    additional: list[dict[str, Any]] = []
    not_assessed: list[dict[str, Any]] = []
    seen = Counter()
    withheld = 0
    for row in rows:
        gene = (row.get("gene") or "").upper()
        if not gene:
            continue
        terms = set((row.get("consequence") or "").split("&"))
        clinvar_plp = (row.get("clinvar_significance") or "").lower() in CLINVAR_CLASSES
        if not (terms & PROTEIN_ALTERING or clinvar_plp):
            continue
        if gene in refs.predisposition:
            seen["predisposition_candidates"] += 1
            panel = refs.predisposition[gene]
            if panel.mechanism == "GoF" and terms & NULL_TERMS:
                # Predisposition through this gene is gain of function: a truncating change is not a candidate
                # (listed, not classified), even when ClinVar calls it pathogenic: that is for another disease
                # (RET truncations: Hirschsprung disease; KIT: piebaldism), not for cancer predisposition.
                seen["null_in_gain_of_function_genes"] += 1
                not_assessed.append({**_finding(row, {}), "reason": f"{gene} predisposes by gain of function "
                                     "(CPSR panel 0); a loss-of-function change is not classified for predisposition"
                                     + (" (ClinVar's pathogenic call is for another disease)" if clinvar_plp else "")})
                continue
            call = _classification(row, refs, panel.inheritance, panel.mechanism)
            if Classification(call["classification"]) in REPORTED_CLASSES:
                finding = _finding(row, call)
                finding["panels"] = list(refs.predisposition[gene].panels)
                predisposition.append(finding)
        elif gene in refs.secondary:
            seen["secondary_candidates"] += 1
            call = _classification(row, refs, refs.secondary[gene].inheritance)
            if Classification(call["classification"]) not in REPORTED_CLASSES[:2]:
                continue
            if not additional_findings:
                withheld += 1  # counted, never described: the participant did not ask for these
                continue
            finding = _finding(row, call)
            sf = refs.secondary[gene]
            finding.update(disease=sf.disease, category=sf.category, report_rule=sf.report)
            additional.append(finding)
    order = {c.value: i for i, c in enumerate(REPORTED_CLASSES)}
    predisposition.sort(key=lambda f: (order[f["classification"]], f["gene"], f["pos"]))
    additional.sort(key=lambda f: (order[f["classification"]], f["gene"], f["pos"]))
    return {
        "predisposition": predisposition,
        "additional_findings": additional,
        "additional_findings_consented": additional_findings,
        #: Alleles in predisposition genes not classified, with why (null variants in gain-of-function genes).
        "not_assessed": not_assessed,
        "counts": {**seen, "predisposition_reported": len(predisposition),
                   "additional_reported": len(additional), "additional_withheld_no_consent": withheld,
                   "predisposition_genes": len(refs.predisposition), "secondary_genes": len(refs.secondary)},
        "reference_files": refs.files,
    }


def read_germline_alleles(path: Path, *, refdata: Path, build: str | None = None) -> tuple[list[dict[str, Any]], dict]:
    """Reads a germline VCF (GRCh37 is lifted to GRCh38) and annotates its carried alleles with ClinVar."""
    from cyvcf2 import VCF

    from gmc.genomics.annotation.annotate import annotate_allele, load_sources
    from gmc.genomics.liftover import load_chain
    from gmc.genomics.vcf import normalise_chrom, trim_alleles
    from gmc.interpretation.cancer.inputs import _vcf_build

    path = Path(path)
    if not path.is_file():
        raise GermlineInputError(f"germline VCF {path} does not exist")
    try:
        vcf = VCF(str(path))
    except OSError as exc:
        raise GermlineInputError(f"{path.name}: not a readable VCF ({exc})") from exc
    detected = _vcf_build(vcf.raw_header, build, path)
    chain = load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz")) if detected == "GRCh37" else None
    fasta = refdata / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz"
    sources = load_sources("GRCh38", fasta=fasta if fasta.exists() else None, clinvar=True)
    rows: list[dict[str, Any]] = []
    unlifted = records = 0
    for records, record in enumerate(vcf, start=1):  # noqa: B007 - the count is reported
        genotype = record.genotypes[0] if record.genotypes else None
        for index, alt in enumerate(record.ALT, start=1):
            if genotype is not None and index not in genotype[:-1]:
                continue  # this person does not carry that allele
            if not alt or alt.startswith("<") or alt == "*":
                continue
            chrom, pos, ref = normalise_chrom(record.CHROM), record.POS, record.REF
            if chain is not None:
                lifted = chain.lift_allele(chrom, pos, ref, alt)
                if lifted is None:
                    unlifted += 1
                    continue
                chrom, pos, ref, alt = lifted
            pos, ref, alt = trim_alleles(pos, ref, alt)
            rows.append(annotate_allele(chrom, pos, ref, alt, sources))
    vcf.close()
    return rows, {"path": str(path), "build": detected, "records": records, "alleles": len(rows),
                  "unlifted_grch37_alleles": unlifted, "annotation": sources.provenance()}


def interpret_germline_vcf(path: Path, *, additional_findings: bool, refdata: Path | None = None,
                           build: str | None = None) -> dict[str, Any]:
    """Germline VCF in, predisposition (and consented additional) findings out; nothing is stored."""
    if refdata is None:
        from gmc.settings import get_settings

        refdata = get_settings().refdata_dir()
    refs = load_germline_references(str(refdata))
    rows, read = read_germline_alleles(Path(path), refdata=Path(refdata), build=build)
    result = classify_germline(rows, refs, additional_findings=additional_findings)
    result["input"] = read
    return result
