"""AMP/ASCO/CAP 2017 tiers for well-known somatic variants."""

from __future__ import annotations

from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.somatic import interpret_variant


def _braf_v600e() -> SomaticVariant:
    return SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                          hgvs_p="p.Val600Glu")


def test_braf_v600e_in_colorectal_is_actionable_with_civic_or_cgi_therapy(kb):
    finding = interpret_variant(kb, _braf_v600e(), "COADREAD")
    assert finding.tier in {"I", "II"}
    therapy_sources = {row["source"] for row in finding.evidence if row["therapies"] and row["counted_for_tier"]}
    assert therapy_sources & {"CIViC", "CGI"}
    assert finding.therapies["in_tumour_type"]


def test_pik3ca_h1047r_in_breast_is_tier_one(kb):
    variant = SomaticVariant("3", 179234297, "A", "G", gene="PIK3CA", consequences=("missense_variant",),
                             hgvs_p="p.H1047R")
    finding = interpret_variant(kb, variant, "BRCA")
    assert finding.tier == "I"
    assert any("Alpelisib" in therapy for therapy in finding.therapies["in_tumour_type"])


def test_oncotree_child_inherits_parent_evidence(kb):
    # Evidence for BRAF V600E is recorded for colorectal adenocarcinoma (COADREAD), not colon (COAD).
    finding = interpret_variant(kb, _braf_v600e(), "COAD")
    inherited = [row for row in finding.evidence if row["in_tumour_type"] and row["tumour_type"] == "COADREAD"]
    assert inherited
    assert finding.tier == "I"


def test_tumour_agnostic_reading_counts_only_pan_cancer_evidence_as_this_type(kb):
    finding = interpret_variant(kb, _braf_v600e(), "TISSUE")
    in_type = {row["tumour_type"] for row in finding.evidence if row["in_tumour_type"]}
    assert in_type == {"TISSUE"}
    # Dabrafenib + trametinib is FDA-approved for BRAF V600E solid tumours regardless of site (2022).
    assert finding.tier == "I"


def test_kras_g12d_in_colorectal_is_tier_one_for_anti_egfr_resistance(kb):
    variant = SomaticVariant("12", 25245350, "C", "T", gene="KRAS", consequences=("missense_variant",),
                             hgvs_p="p.Gly12Asp")
    finding = interpret_variant(kb, variant, "COADREAD")
    assert finding.tier == "I"
    therapies = " ".join(finding.therapies["in_tumour_type"]).lower()
    assert "cetuximab" in therapies or "panitumumab" in therapies
    assert "resistance" in therapies


def test_synonymous_variant_in_a_non_cancer_gene_is_not_reported(kb):
    variant = SomaticVariant("1", 69134, "A", "G", gene="OR4F5", consequences=("synonymous_variant",),
                             hgvs_p="p.Ala10=")
    finding = interpret_variant(kb, variant, "BRCA")
    assert finding.tier in {None, "IV"}
    assert finding.evidence == []


def test_missense_vus_in_a_cancer_gene_is_tier_three(kb):
    variant = SomaticVariant("17", 7676000, "G", "A", gene="TP53", consequences=("missense_variant",),
                             hgvs_p="p.Pro10Leu")
    finding = interpret_variant(kb, variant, "BRCA")
    assert finding.tier == "III"


def test_solid_tumour_approvals_do_not_count_as_this_type_for_leukaemia(kb):
    finding = interpret_variant(kb, _braf_v600e(), "AML")
    assert not any(row["in_tumour_type"] and "solid" in row["disease"].lower() for row in finding.evidence)
    solid = [row for row in finding.evidence if "solid" in row["disease"].lower()]
    assert solid and all(not row["in_tumour_type"] for row in solid)


def test_exon_level_biomarkers_need_the_right_exon_and_kind_of_change(kb):
    exon19 = SomaticVariant("7", 55174772, "GGAATTAAGAGAAGCA", "G", gene="EGFR", consequences=("inframe_deletion",),
                            hgvs_p="p.Glu746_Ala750del", exon=19)
    finding = interpret_variant(kb, exon19, "LUAD")
    assert finding.tier == "I"
    assert any(row["match_level"] in {"exon", "region"} and row["level"] == "A" for row in finding.evidence)
    l858r = SomaticVariant("7", 55191822, "T", "G", gene="EGFR", consequences=("missense_variant",),
                           hgvs_p="p.Leu858Arg", exon=21)
    rows = interpret_variant(kb, l858r, "LUAD").evidence
    assert not any("exon 19" in str(row["biomarker"]).lower() or "EXON 19" in str(row["biomarker"]) for row in rows)


def test_met_exon_14_skipping_splice_variant(kb):
    # A splice-donor change in MET intron 14 (exon 14 skipping): capmatinib/tepotinib are FDA-approved in NSCLC.
    variant = SomaticVariant("7", 116771990, "G", "A", gene="MET", consequences=("splice_donor_variant",),
                             intron=14)
    finding = interpret_variant(kb, variant, "NSCLC")
    assert finding.tier == "I"
    therapies = " ".join(finding.therapies["in_tumour_type"])
    assert "Capmatinib" in therapies or "Tepotinib" in therapies


def test_flt3_itd_in_aml_is_tier_one(kb):
    # TCGA LAML reports FLT3 internal tandem duplications as in-frame insertions in the juxtamembrane domain.
    variant = SomaticVariant("13", 28034120, "-", "ATCATA", gene="FLT3", consequences=("inframe_insertion",),
                             hgvs_p="p.599_600insDFREYEY")
    finding = interpret_variant(kb, variant, "AML")
    assert finding.tier == "I"
    assert any(row["biomarker"] == "ITD" and row["in_tumour_type"] for row in finding.evidence)
