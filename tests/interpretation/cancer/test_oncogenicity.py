"""ClinGen/CGC/VICC 2022 oncogenicity points on hand-checkable variants."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.oncogenicity import POINTS, assess_oncogenicity, classify_points


def test_points_agree_with_the_published_table(refdata_dir: Path):
    # PCGR's oncogenicity.tsv transcribes Horak et al. 2022 Table 2.
    with (refdata_dir / "cancer/genes/pcgr_oncogenicity_criteria.tsv").open() as handle:
        published = {row["code"].removeprefix("ONCG_"): int(row["score"]) for row in csv.DictReader(handle, delimiter="\t")}
    for code, score in published.items():
        base = code.split("_")[0]
        if code == base:
            assert POINTS[base] == score, code


@pytest.mark.parametrize(
    ("points", "label"),
    [(10, "Oncogenic"), (9, "Likely Oncogenic"), (6, "Likely Oncogenic"), (5, "VUS"), (0, "VUS"),
     (-1, "Likely Benign"), (-6, "Likely Benign"), (-7, "Benign")],
)
def test_class_thresholds(points, label):
    assert classify_points(points) == label


def test_pik3ca_h1047r_is_a_strong_hotspot(kb):
    variant = SomaticVariant("3", 179234297, "A", "G", gene="PIK3CA", consequences=("missense_variant",),
                             hgvs_p="p.His1047Arg")
    result = assess_oncogenicity(kb, variant)
    # 647 samples at H1047 (>=50) and 537 with R (>=10): OS3, 4 points.
    assert "OS3" in result.criteria
    assert result.points >= 4


def test_null_variant_in_tumour_suppressor_is_ovs1(kb):
    variant = SomaticVariant("17", 7675088, "C", "CA", gene="TP53", consequences=("frameshift_variant",))
    result = assess_oncogenicity(kb, variant)
    assert result.criteria == ["OVS1"]
    assert (result.points, result.label) == (8, "Likely Oncogenic")


def test_population_frequency_makes_benign(kb):
    common = SomaticVariant("1", 1000, "A", "G", gene="OR4F5", consequences=("missense_variant",),
                            hgvs_p="p.Ala10Val", population_af=0.2)
    result = assess_oncogenicity(kb, common)
    assert result.criteria == ["SBVS1"]
    assert (result.points, result.label) == (-8, "Benign")


def test_silent_change_outside_splice_site_is_likely_benign(kb):
    silent = SomaticVariant("1", 1000, "A", "G", gene="OR4F5", consequences=("synonymous_variant",),
                            hgvs_p="p.Ala10=", population_af=0.0)
    result = assess_oncogenicity(kb, silent)
    # SBP2 (-1) and OP4 (+1, absent from controls) = 0 -> VUS; without the population lookup -> -1.
    assert sorted(result.criteria) == ["OP4", "SBP2"]
    assert result.points == 0
    silent.population_af = None
    assert assess_oncogenicity(kb, silent).label == "Likely Benign"


def test_braf_v600e_is_oncogenic_or_likely_so_from_one_record_and_its_hotspot(kb):
    variant = SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                             hgvs_p="p.V600E", population_af=0.0)
    result = assess_oncogenicity(kb, variant)
    # CGI validated from a functional source (DoCM/OncoKB) -> OS2, not also OS1 from the same record (SVOC and OncoVI
    # give one of the two, never both); 897 samples at V600 in cancerhotspots -> OS3; absent from controls -> OP4.
    assert sorted(result.criteria) == ["OP4", "OS2", "OS3"]
    assert (result.points, result.label) == (9, "Likely Oncogenic")
    other_codon = SomaticVariant("7", 140753335, "CA", "TT", gene="BRAF", consequences=("missense_variant",),
                                 hgvs_p="p.V600E", population_af=0.0)
    assert "OS1" in assess_oncogenicity(kb, other_codon).criteria  # same amino-acid change, other nucleotides


def test_hotspot_criteria_exclude_each_other(kb):
    # A rare change at a strong hotspot residue: OM3 (different change established), never OS3 with it.
    variant = SomaticVariant("7", 140753336, "A", "C", gene="BRAF", consequences=("missense_variant",),
                             hgvs_p="p.V600A")
    criteria = set(assess_oncogenicity(kb, variant).criteria)
    assert not ({"OS3", "OM4"} & criteria and "OM3" in criteria)
    assert not ({"OM1", "OM3"} & criteria and {"OM4", "OP3"} & criteria)


def test_a_coding_change_of_unknown_protein_effect_is_not_classified(kb):
    # Without a reference sequence the annotation says only "coding_sequence_variant": a nonsense change in a tumour
    # suppressor must not come out as a 0-point VUS that reads like a verdict.
    variant = SomaticVariant("17", 7675088, "C", "A", gene="TP53", consequences=("coding_sequence_variant",),
                             hgvs_c="c.524G>T")
    result = assess_oncogenicity(kb, variant)
    assert result.label == "Not classified" and result.points is None
    assert result.missing_inputs[0] == "protein effect"
    assert result.note.startswith("not classified: protein effect unknown")
    from gmc.interpretation.cancer.somatic import interpret_variant

    finding = interpret_variant(kb, variant, "BRCA")
    assert finding.oncogenicity["class"] == "Not classified" and finding.tier == "III"
    assert "unknown protein effect" in finding.tier_reason


def test_an_unknown_population_frequency_is_said_and_its_possible_classes_given(kb):
    nonsense = SomaticVariant("17", 7676030, "C", "T", gene="TP53", consequences=("stop_gained",),
                              hgvs_p="p.W91*")
    assert nonsense.key not in kb.oncogenic_alleles  # no catalogue record: OVS1 alone decides
    result = assess_oncogenicity(kb, nonsense)
    assert "OVS1" in result.criteria and "population frequency" in result.missing_inputs
    assert result.label == "Likely Oncogenic"
    assert result.possible_classes == ["VUS", "Likely Oncogenic"]  # SBVS1 (-8) would leave 0 points
    assert "could be VUS or Likely Oncogenic" in result.note
    known = SomaticVariant("17", 7676030, "C", "T", gene="TP53", consequences=("stop_gained",), hgvs_p="p.W91*",
                           population_af=0.0)
    settled = assess_oncogenicity(kb, known)
    assert settled.missing_inputs == [] and settled.possible_classes == [settled.label] and settled.note == ""
    assert "OP4" in settled.criteria


def test_revel_gives_op1_or_sbp1_only_when_the_input_carries_it(kb):
    base = dict(gene="PIK3CA", consequences=("missense_variant",), hgvs_p="p.E453K", population_af=0.0)
    damaging = assess_oncogenicity(kb, SomaticVariant("3", 179199158, "G", "A", revel=0.91, **base))
    benign = assess_oncogenicity(kb, SomaticVariant("3", 179199158, "G", "A", revel=0.12, **base))
    neither = assess_oncogenicity(kb, SomaticVariant("3", 179199158, "G", "A", **base))
    assert "OP1" in damaging.criteria and "SBP1" in benign.criteria
    assert not {"OP1", "SBP1"} & set(neither.criteria)


def test_one_catalogue_record_is_one_strong_criterion(kb):
    # PIK3CA H1047R is itself a functionally validated oncogenic allele (OncoKB/DoCM in the CGI catalogue): OS2,
    # not also OS1 from the same record.
    variant = SomaticVariant("3", 179234297, "A", "G", gene="PIK3CA", consequences=("missense_variant",),
                             hgvs_p="p.H1047R")
    result = assess_oncogenicity(kb, variant)
    assert "OS2" in result.criteria and "OS1" not in result.criteria


def test_silent_changes_in_a_splice_region_get_no_sbp2(kb):
    near = SomaticVariant("10", 87863000, "G", "A", gene="PTEN",
                          consequences=("splice_donor_5th_base_variant", "intron_variant"))
    far = SomaticVariant("10", 87863000, "G", "A", gene="PTEN", consequences=("intron_variant",))
    assert "SBP2" not in assess_oncogenicity(kb, near).criteria
    assert "SBP2" in assess_oncogenicity(kb, far).criteria
