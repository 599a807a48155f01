"""The somatic pipeline end to end on real TCGA tumours, straight from files and through the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmc.interpretation.cancer.commands import app
from gmc.interpretation.cancer.files import interpret_somatic_files
from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.oncotree import UnknownTumourTypeError
from gmc.interpretation.cancer.somatic import SomaticSettings, interpret_somatic


@pytest.fixture(scope="module")
def brca_result(somatic_dir: Path, refdata_dir: Path) -> dict:
    return interpret_somatic_files(
        tumour_type="BRCA", vcf=somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz",
        cna=somatic_dir / "pcgr_examples/T001-BRCA.grch38.cna.tsv",
        fusions=somatic_dir / "pcgr_examples/T001-BRCA.grch38.fusions.tsv", refdata=refdata_dir)


def _by_gene(result: dict, gene: str) -> list[dict]:
    return [finding for finding in result["findings"] if finding["gene"] == gene]


def test_pcgr_breast_tumour_pik3ca_h1047r_is_tier_one(brca_result):
    pik3ca = _by_gene(brca_result, "PIK3CA")
    # TCGA-A2-A04W carries PIK3CA c.3140A>G p.H1047R at GRCh38 3:179234297.
    assert [(f["chrom"], f["pos"], f["ref"], f["alt"], f["tier"]) for f in pik3ca] == [
        ("3", 179234297, "A", "G", "I")]
    assert pik3ca[0]["oncogenicity"]["class"] in {"Oncogenic", "Likely Oncogenic"}
    assert pik3ca[0]["evidence"] and pik3ca[0]["therapies"][0]["in_tumour_type"]


def test_result_document_has_the_agreed_shape(brca_result):
    finding = brca_result["findings"][0]
    for key in ("chrom", "pos", "ref", "alt", "gene", "hgvs_c", "hgvs_p", "tier", "oncogenicity", "evidence",
                "therapies"):
        assert key in finding
    assert set(finding["oncogenicity"]) >= {"class", "points", "criteria"}
    assert {"mutations", "territory_mb", "per_mb"} <= set(brca_result["tmb"])
    provenance = brca_result["provenance"]
    assert provenance["inputs"]["vcf"]["sha256"].startswith("2763b4a95dca4340")  # MANIFEST.tsv sha256_16
    assert any(source["path"].endswith("molecular-oncology-almanac.json") for source in provenance["knowledge_base"])


def test_erbb2_amplification_and_fusions_from_the_demo_files(brca_result):
    erbb2 = [f for f in brca_result["structural_findings"] if f["kind"] == "copy_number" and f["gene"] == "ERBB2"]
    assert erbb2 and erbb2[0]["tier"] == "I"
    assert any(line["therapy"] == "Trastuzumab" and line["in_tumour_type"] for line in erbb2[0]["therapies"])
    fusions = {f["gene"]: f["tier"] for f in brca_result["structural_findings"] if f["kind"] == "fusion"}
    assert all(f["kind"] == "snv_indel" for f in brca_result["findings"])
    assert fusions["NTRK1--TPM3"] == "I"  # larotrectinib/entrectinib: tumour-agnostic NTRK approval


def test_unknown_tumour_type_fails_before_reading(somatic_dir: Path, refdata_dir: Path):
    with pytest.raises(UnknownTumourTypeError, match="TISSUE"):
        interpret_somatic_files(tumour_type="BREST", vcf=somatic_dir / "no_such.vcf.gz", refdata=refdata_dir)


def test_filters_drop_low_vaf_and_low_depth(kb):
    variants = [
        SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                       hgvs_p="p.V600E", tumour_vaf=0.30, tumour_depth=80),
        SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                       hgvs_p="p.V600E", tumour_vaf=0.02, tumour_depth=80),
        SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                       hgvs_p="p.V600E", tumour_vaf=0.30, tumour_depth=5),
        SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                       hgvs_p="p.V600E", tumour_vaf=0.30, tumour_depth=80, normal_vaf=0.4),
    ]
    result = interpret_somatic(kb, variants, "SKCM", settings=SomaticSettings(tmb_territory_mb=1.0))
    assert result["counts"]["passed_filters"] == 1
    assert result["tmb"]["mutations"] == 1
    assert result["findings"][0]["tier"] == "I"


def test_somatic_command_writes_result_json(somatic_dir: Path, tmp_path: Path, monkeypatch, refdata_dir: Path):
    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    out = tmp_path / "RESULT.json"
    runner = CliRunner()
    result = runner.invoke(app, ["somatic", "--maf", str(somatic_dir / "maftools/tcga_laml.maf.gz"),
                                 "--maf-sample", "TCGA-AB-2802", "--tumour-type", "AML", "--min-tumour-vaf", "0",
                                 "--min-tumour-depth", "0",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    idh1 = [f for f in document["findings"] if f["gene"] == "IDH1"]
    # IDH1 R132H in AML: ivosidenib is FDA-approved for IDH1-mutated AML.
    assert idh1 and idh1[0]["tier"] == "I"
    assert idh1[0]["input_position"] == "GRCh37:2:209113112"


def test_somatic_command_reports_germline_input_clearly(benchmarks_dir: Path, tmp_path: Path, monkeypatch,
                                                       refdata_dir: Path):
    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    out = tmp_path / "RESULT.json"
    result = CliRunner().invoke(app, ["somatic", "--vcf",
                                      str(benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"),
                                      "--tumour-type", "BRCA", "--out", str(out)])
    assert result.exit_code == 2
    assert "germline VCF" in result.output
    assert not out.exists()


def test_untiered_variants_are_listed_with_their_oncogenicity(kb):
    silent = SomaticVariant("1", 69134, "A", "G", gene="OR4F5", consequences=("synonymous_variant",),
                            hgvs_p="p.Ala10=", tumour_vaf=0.3, tumour_depth=50)
    result = interpret_somatic(kb, [silent], "BRCA")
    assert result["findings"] == []
    unreported = result["unreported_variants"]
    assert [(u["gene"], u["tier"], u["oncogenicity"]["class"]) for u in unreported] == [
        ("OR4F5", None, "Likely Benign")]
    assert result["counts"]["not_reported_noncoding_or_silent"] == 1


def test_luad_and_its_parent_nsclc_resolve_through_the_real_tree_on_the_command_line(
        somatic_dir: Path, tmp_path: Path, monkeypatch, refdata_dir: Path):
    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    for code, lineage in (("LUAD", ["LUAD", "NSCLC", "LUNG", "TISSUE"]), ("NSCLC", ["NSCLC", "LUNG", "TISSUE"])):
        out = tmp_path / f"{code}.json"
        result = CliRunner().invoke(app, ["somatic", "--vcf", str(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz"),
                                          "--tumour-type", code, "--out", str(out)])
        assert result.exit_code == 0, result.output
        document = json.loads(out.read_text())
        assert document["tumour_type"]["lineage"] == lineage
        assert document["tumour_type"]["oncotree_release"] == "oncotree_2025_10_03"
        assert "assumed default" in result.output  # the TMB basis is printed beside the figure


def test_unknown_or_retired_tumour_type_on_the_command_line(somatic_dir: Path, tmp_path: Path, monkeypatch,
                                                           refdata_dir: Path):
    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    out = tmp_path / "RESULT.json"
    vcf = str(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz")
    result = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "LUADD", "--out", str(out)])
    assert result.exit_code == 2 and "nearest: LUAD (Lung Adenocarcinoma)" in result.output and not out.exists()
    result = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "GBM", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["tumour_type"]["code"] == "GB" and "retired" in document["tumour_type"]["note"]


def test_a_wrong_build_callable_bed_is_refused_and_nothing_is_written(somatic_dir: Path, tmp_path: Path,
                                                                     monkeypatch, refdata_dir: Path, exome_bed):
    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    out = tmp_path / "RESULT.json"
    vcf = str(somatic_dir / "pcgr_examples/T001-COAD.grch38.vcf.gz")
    hg19 = exome_bed("GRCh37", tmp_path / "panel_hg19.bed", genes=3000)
    result = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "COAD", "--callable", str(hg19),
                                      "--out", str(out)])
    assert result.exit_code == 2 and "panel_hg19.bed is GRCh37" in result.output and not out.exists()
    grch38 = exome_bed("GRCh38", tmp_path / "panel_grch38.bed", genes=3000)
    result = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "COAD", "--callable", str(grch38),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    tmb = json.loads(out.read_text())["tmb"]
    assert tmb["territory_source"].startswith("callable BED panel_grch38.bed")
    assert 0 < tmb["mutations"] < 3250 and "callable BED panel_grch38.bed" in result.output


def test_assay_size_from_the_setting_on_the_command_line(somatic_dir: Path, tmp_path: Path, monkeypatch,
                                                         refdata_dir: Path):
    from gmc.settings import reset_settings_cache

    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    monkeypatch.setenv("GMC_TMB_ASSAYS", "TSO500=1.33,WES=35.8")
    reset_settings_cache()
    try:
        out = tmp_path / "RESULT.json"
        vcf = str(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz")
        result = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "BRCA", "--assay", "WES",
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        tmb = json.loads(out.read_text())["tmb"]
        assert (tmb["territory_mb"], tmb["territory_source"]) == (35.8, "assay WES")
        unknown = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "BRCA", "--assay", "F1CDx",
                                           "--out", str(tmp_path / "other.json")])
        assert unknown.exit_code == 2 and "configured: TSO500, WES" in unknown.output
        both = CliRunner().invoke(app, ["somatic", "--vcf", vcf, "--tumour-type", "BRCA", "--assay", "WES",
                                        "--tmb-territory-mb", "30", "--out", str(tmp_path / "both.json")])
        assert both.exit_code == 2 and "one way" in both.output
    finally:
        reset_settings_cache()
