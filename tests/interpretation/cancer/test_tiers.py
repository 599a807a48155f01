"""AMP/ASCO/CAP 2017 tiers as written, and one therapy line per regimen and direction, for well-known variants."""

from __future__ import annotations

from collections import Counter

from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.somatic import interpret_variant


def _braf_v600e() -> SomaticVariant:
    return SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                          hgvs_p="p.Val600Glu")


def _kras_g12c() -> SomaticVariant:
    return SomaticVariant("12", 25245351, "C", "A", gene="KRAS", consequences=("missense_variant",),
                          hgvs_p="p.Gly12Cys")


def _lines(finding, direction: str | None = None) -> list[dict]:
    return [line for line in finding.therapies if direction is None or line["direction"] == direction]


def test_every_therapy_appears_once_per_direction(kb):
    for variant, code in ((_kras_g12c(), "LUAD"), (_braf_v600e(), "COADREAD"), (_kras_g12c(), "MEL")):
        finding = interpret_variant(kb, variant, code)
        keys = Counter((line["direction"], line["combination"], frozenset(line["drugs"])) for line in finding.therapies)
        assert keys and max(keys.values()) == 1
        labels = Counter((line["direction"], line["therapy"]) for line in finding.therapies)
        assert max(labels.values()) == 1


def test_kras_g12c_in_lung_shows_sotorasib_and_adagrasib_at_the_top(kb):
    finding = interpret_variant(kb, _kras_g12c(), "LUAD")
    assert (finding.tier, finding.amp_level) == ("I", "IA")
    top = {line["therapy"] for line in finding.therapies[:2]}
    assert top == {"Sotorasib", "Adagrasib"}
    assert all(line["in_tumour_type"] and line["best_level"] == "A" and line["direction"] == "sensitivity"
               for line in finding.therapies[:2])
    # Docetaxel comes from the docetaxel + selumetinib trial: never a line of its own from that item.
    docetaxel_alone = [line for line in finding.therapies if line["therapy"] == "Docetaxel"]
    assert not any("CIViC:EID2998" in line["evidence_ids"] for line in docetaxel_alone)


def test_kras_g12c_in_melanoma_is_not_tier_one_and_the_pan_cancer_trial_does_not_count(kb):
    finding = interpret_variant(kb, _kras_g12c(), "MEL")
    assert finding.tier != "I"
    proton = next(row for row in finding.evidence if row["id"] == "MOAlmanac:375")
    assert not proton["counted_for_tier"] and "not a stated tumour-agnostic indication" in proton["not_counted_reason"]
    assert not any(line["therapy"] == "Proton-based SBRT" for line in finding.therapies)
    agnostic = interpret_variant(kb, _kras_g12c(), "TISSUE")
    assert agnostic.tier != "I"


def test_braf_v600e_in_colorectal_shows_encorafenib_plus_cetuximab_as_one_line(kb):
    finding = interpret_variant(kb, _braf_v600e(), "COADREAD")
    assert (finding.tier, finding.amp_level) == ("I", "IA")
    combination = [line for line in finding.therapies if set(line["drugs"]) == {"Cetuximab", "Encorafenib"}]
    assert len(combination) == 1 and combination[0]["therapy"] == "Cetuximab + Encorafenib"
    assert combination[0]["combination"] == "combination" and combination[0]["in_tumour_type"]
    # The lineage's own approval ranks above the tumour-agnostic dabrafenib + trametinib approval.
    sensitivity = _lines(finding, "sensitivity")
    order = [line["therapy"] for line in sensitivity]
    assert order.index("Cetuximab + Encorafenib") < order.index("Dabrafenib + Trametinib")
    cetuximab_resistance = [line for line in _lines(finding, "resistance") if line["therapy"] == "Cetuximab"]
    assert len(cetuximab_resistance) == 1 and len(cetuximab_resistance[0]["sources"]) >= 2


def test_prognostic_items_come_only_from_the_tumours_lineage(kb):
    finding = interpret_variant(kb, _braf_v600e(), "LUAD")
    assert all(line["diseases"] and "Myeloma" not in line["diseases"] for line in finding.prognostic)
    myeloma = [row for row in finding.evidence if row["disease"] == "Myeloma" and row["type"] == "prognostic"]
    assert myeloma and all(not row["counted_for_tier"] for row in myeloma)
    assert all("another lineage" in row["not_counted_reason"] for row in myeloma)


def test_gene_level_items_apply_only_to_the_class_they_name(kb):
    frameshift = SomaticVariant("12", 132661127, "AG", "A", gene="POLE", consequences=("frameshift_variant",),
                                hgvs_p="p.T1086fs")
    finding = interpret_variant(kb, frameshift, "COADREAD")
    assert not any("PD1" in line["therapy"] for line in finding.therapies)
    assert not any(row["biomarker"] in {"POLE:.", "POLE:268-471"} for row in finding.evidence)
    exonuclease = SomaticVariant("12", 132676598, "G", "C", gene="POLE", consequences=("missense_variant",),
                                 hgvs_p="p.P286R")
    assert any(row["biomarker"] == "POLE:268-471" for row in interpret_variant(kb, exonuclease, "UCEC").evidence)


def test_fbxw7_r658q_in_colorectal_rests_on_no_pan_cancer_item(kb):
    # TCGA-A6-2686 carries FBXW7 c.1973G>A p.R658Q at GRCh38 4:152323032 C>T.
    variant = SomaticVariant("4", 152323032, "C", "T", gene="FBXW7", consequences=("missense_variant",),
                             hgvs_p="p.R658Q")
    finding = interpret_variant(kb, variant, "COADREAD")
    pan_cancer = next(row for row in finding.evidence if row["id"] == "CIViC:EID1631")  # "FBXW7 mutation", "Cancer"
    assert not pan_cancer["counted_for_tier"] and "pan-cancer" in pan_cancer["not_counted_reason"]
    counted = [row for row in finding.evidence if row["counted_for_tier"]]
    assert all(row["tumour_type"] != "TISSUE" for row in counted)
    # Without a population frequency R658Q is a VUS (OS2 + OP3): the colorectal "FBXW7 mutation" item (EID718)
    # waits on a class OP4 could still give, and the reason says so.
    assert finding.tier == "III" and "CIViC:EID718" in finding.tier_reason
    absent = interpret_variant(kb, SomaticVariant("4", 152323032, "C", "T", gene="FBXW7", population_af=0.0,
                                                  consequences=("missense_variant",), hgvs_p="p.R658Q"), "COADREAD")
    assert absent.oncogenicity["class"] == "Likely Oncogenic" and (absent.tier, absent.amp_level) == ("I", "IB")
    assert all(row["tumour_type"] == "COADREAD" for row in absent.evidence if row["counted_for_tier"]
               and row["in_tumour_type"])


def test_pik3ca_h1047r_in_breast_is_tier_one(kb):
    variant = SomaticVariant("3", 179234297, "A", "G", gene="PIK3CA", consequences=("missense_variant",),
                             hgvs_p="p.H1047R")
    finding = interpret_variant(kb, variant, "BRCA")
    assert finding.tier == "I"
    assert any("Alpelisib" in line["drugs"] and line["in_tumour_type"] for line in finding.therapies)


def test_oncotree_child_inherits_parent_evidence(kb):
    # Evidence for BRAF V600E is recorded for colorectal adenocarcinoma (COADREAD), not colon (COAD).
    finding = interpret_variant(kb, _braf_v600e(), "COAD")
    inherited = [row for row in finding.evidence if row["in_tumour_type"] and row["tumour_type"] == "COADREAD"]
    assert inherited
    assert finding.tier == "I"


def test_tumour_agnostic_reading_counts_only_stated_indications_as_this_type(kb):
    finding = interpret_variant(kb, _braf_v600e(), "TISSUE")
    in_type = [row for row in finding.evidence if row["in_tumour_type"]]
    assert in_type and all(row["tumour_agnostic"] for row in in_type)
    # Dabrafenib + trametinib is FDA-approved for BRAF V600E solid tumours regardless of site (2022).
    assert finding.tier == "I"
    assert finding.therapies[0]["therapy"] == "Dabrafenib + Trametinib" and finding.therapies[0]["tumour_agnostic"]


def test_kras_g12d_in_colorectal_is_tier_one_for_anti_egfr_resistance(kb):
    variant = SomaticVariant("12", 25245350, "C", "T", gene="KRAS", consequences=("missense_variant",),
                             hgvs_p="p.Gly12Asp")
    finding = interpret_variant(kb, variant, "COADREAD")
    assert finding.tier == "I"
    resistance = {line["therapy"] for line in _lines(finding, "resistance") if line["in_tumour_type"]}
    assert {"Cetuximab", "Panitumumab"} <= resistance


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


def test_solid_tumour_indications_are_another_tumour_type_for_leukaemia(kb):
    finding = interpret_variant(kb, _braf_v600e(), "AML")
    solid = [row for row in finding.evidence if row["tumour_agnostic"]]
    assert solid and all(row["counted_for_tier"] and not row["in_tumour_type"] for row in solid)


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
    approved = {line["therapy"] for line in finding.therapies if line["in_tumour_type"] and line["best_level"] == "A"}
    assert approved & {"Capmatinib", "Tepotinib"}


def test_flt3_itd_in_aml_is_tier_one(kb):
    # TCGA LAML reports FLT3 internal tandem duplications as in-frame insertions in the juxtamembrane domain.
    variant = SomaticVariant("13", 28034120, "-", "ATCATA", gene="FLT3", consequences=("inframe_insertion",),
                             hgvs_p="p.599_600insDFREYEY")
    finding = interpret_variant(kb, variant, "AML")
    assert finding.tier == "I"
    assert any(row["biomarker"] == "ITD" and row["in_tumour_type"] for row in finding.evidence)
