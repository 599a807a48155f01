"""Germline predisposition: real gene lists, ACMG classes from the rare-disease engine, consent-gated extras."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from gmc.interpretation.cancer.germline import (
    GermlineInputError,
    classify_germline,
    interpret_germline_vcf,
    load_germline_references,
    read_cancer_panel_ids,
)


@pytest.fixture(scope="module")
def refs(refdata_dir: Path):
    return load_germline_references(str(refdata_dir))


def clinvar_record(refdata_dir: Path, gene: str, significance: str = "Pathogenic", consequence: str = "") -> list[str]:
    """The first ClinVar P record of a gene (a single-gene GENEINFO, of a molecular consequence), from the shared file."""
    path = refdata_dir / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            info = dict(item.split("=", 1) for item in fields[7].split(";") if "=" in item)
            if info.get("GENEINFO") == gene and info.get("CLNSIG") == significance and "," not in fields[4] \
                    and consequence in info.get("MC", ""):
                return fields
    raise AssertionError(f"no ClinVar {significance} record for {gene}")


def test_gene_lists_hold_the_known_predisposition_and_secondary_genes(refs, refdata_dir):
    panels = read_cancer_panel_ids(refdata_dir / "cancer" / "genes" / "ge_panelapp_cancer_panels.txt")
    assert panels[503] == "Inherited MMR deficiency (Lynch Syndrome)"
    for gene in ("BRCA1", "BRCA2", "MLH1", "MSH2", "APC", "TP53", "PALB2"):
        assert gene in refs.predisposition, gene
    assert "Familial breast cancer" in refs.predisposition["BRCA1"].panels
    # ACMG SF v3: cardiovascular/metabolic genes are secondary findings, not cancer predisposition genes
    for gene in ("LDLR", "MYBPC3", "KCNQ1"):
        assert gene in refs.secondary and gene not in refs.predisposition
    assert refs.secondary["BRCA1"].category == "Cancer"


def _row(gene: str, consequence: str, **extra):
    return {"chrom": "17", "pos": 43045700, "ref": "TG", "alt": "T", "gene": gene, "consequence": consequence,
            "hgvs_p": None, "nmd_escape": False, "gnomad_af": None, "af_source": None, **extra}


def test_acmg_points_for_a_truncating_brca1_variant_without_clinvar(refs):
    # BRCA1 is haploinsufficient (ClinGen HI score 3): PVS1 = 8 points; no frequency source, so no PM2:
    # 8 points is Likely pathogenic (6-9) under Tavtigian 2020.
    result = classify_germline([_row("BRCA1", "frameshift_variant")], refs, additional_findings=False)
    [finding] = result["predisposition"]
    assert finding["acmg"]["criteria"] == ["PVS1"]
    assert finding["acmg"]["points"] == 8
    assert finding["classification"] == "Likely pathogenic"
    assert finding["classified_by"].startswith("ACMG")


def test_clinvar_pathogenic_wins_and_benign_looking_variants_are_left_out(refs):
    rows = [_row("BRCA2", "missense_variant", clinvar_significance="Pathogenic", clinvar_stars=3),
            _row("BRCA2", "synonymous_variant"), _row("BRCA2", "intron_variant")]
    result = classify_germline(rows, refs, additional_findings=False)
    assert [f["classification"] for f in result["predisposition"]] == ["Pathogenic"]
    assert result["predisposition"][0]["classified_by"] == "ClinVar"


def test_additional_findings_only_with_consent(refs):
    rows = [_row("LDLR", "frameshift_variant", clinvar_significance="Pathogenic")]
    without = classify_germline(rows, refs, additional_findings=False)
    assert without["additional_findings"] == [] and without["counts"]["additional_withheld_no_consent"] == 1
    with_consent = classify_germline(rows, refs, additional_findings=True)
    [finding] = with_consent["additional_findings"]
    assert finding["gene"] == "LDLR" and "hypercholesterol" in finding["disease"].lower()


def test_vcf_end_to_end_with_real_clinvar_alleles(refs, refdata_dir, tmp_path):
    brca1 = clinvar_record(refdata_dir, "BRCA1")
    ldlr = clinvar_record(refdata_dir, "LDLR")
    vcf = tmp_path / "germline.vcf"
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "PATIENT"])]
    for fields in sorted((brca1, ldlr), key=lambda f: (int(f[0]), int(f[1]))):
        lines.append("\t".join([*fields[:5], ".", "PASS", ".", "GT", "0/1"]))
    vcf.write_text("\n".join(lines) + "\n")
    result = interpret_germline_vcf(vcf, additional_findings=True, refdata=refdata_dir)
    assert [(f["gene"], f["classification"]) for f in result["predisposition"]] == [("BRCA1", "Pathogenic")]
    assert result["predisposition"][0]["clinvar"]["variation_id"] == brca1[2]
    assert [f["gene"] for f in result["additional_findings"]] == ["LDLR"]
    assert interpret_germline_vcf(vcf, additional_findings=False, refdata=refdata_dir)["additional_findings"] == []


def test_missing_file_is_a_clear_error(tmp_path, refdata_dir):
    with pytest.raises(GermlineInputError, match="does not exist"):
        interpret_germline_vcf(tmp_path / "nope.vcf", additional_findings=False, refdata=refdata_dir)


def test_a_ret_frameshift_is_not_called_likely_pathogenic_for_predisposition(refs):
    # RET predisposition (MEN2) is gain of function (CPSR panel 0); RET is also haploinsufficient for
    # Hirschsprung disease (ClinGen HI 3), which used to give a frameshift PVS1 and "Likely pathogenic".
    assert refs.predisposition["RET"].mechanism == "GoF"
    rows = [_row("RET", "frameshift_variant"), _row("KIT", "stop_gained", clinvar_significance="Pathogenic"),
            _row("BRCA2", "frameshift_variant")]
    result = classify_germline(rows, refs, additional_findings=False)
    assert [f["gene"] for f in result["predisposition"]] == ["BRCA2"]
    assert {f["gene"] for f in result["not_assessed"]} == {"RET", "KIT"}
    assert all("gain of function" in f["reason"] for f in result["not_assessed"])
    assert any("another disease" in f["reason"] for f in result["not_assessed"])  # KIT: ClinVar P, piebaldism
    assert result["counts"]["null_in_gain_of_function_genes"] == 2


def test_a_known_activating_ret_allele_is_still_reported(refs, refdata_dir):
    fields = clinvar_record(refdata_dir, "RET", consequence="missense_variant")  # an activating MEN2 allele
    row = {"chrom": fields[0], "pos": int(fields[1]), "ref": fields[3], "alt": fields[4], "gene": "RET",
           "consequence": "missense_variant", "hgvs_p": None, "nmd_escape": False, "gnomad_af": None,
           "af_source": None, "clinvar_significance": "Pathogenic", "clinvar_stars": 2}
    [finding] = classify_germline([row], refs, additional_findings=False)["predisposition"]
    assert finding["classification"] == "Pathogenic" and finding["classified_by"] == "ClinVar"
    assert "gain-of-function gene" in " ".join(finding["acmg"]["notes"])


def test_expert_panel_frequency_thresholds_replace_the_defaults(refs):
    # ENIGMA BRCA1 VCEP: BS1 above a filtering AF of 0.0001 (the default dominant threshold is 0.001).
    assert refs.vcep["BRCA1"].bs1 == 0.0001 and refs.vcep["BRCA1"].bs1_supporting == (0.00002, 0.0001)
    common = _row("BRCA1", "missense_variant", gnomad_af=0.0005, af_source="gnomAD")
    [finding] = classify_germline([common], refs, additional_findings=False)["predisposition"] or [None]
    call = finding or {}
    assert finding is None or "BS1" in call["acmg"]["criteria"]
    from gmc.interpretation.cancer.germline import _classification

    call = _classification(common, refs, "AD")
    assert "BS1" in call["acmg"]["criteria"] and any("VCEP BRCA1" in note for note in call["acmg"]["notes"])
    rarer = _classification({**common, "gnomad_af": 0.00005}, refs, "AD")
    assert "BS1_Supporting" in rarer["acmg"]["criteria"]
    default_gene = _classification({**common, "gene": "CHEK2"}, refs, "AD")
    assert "BS1" not in default_gene["acmg"]["criteria"]
