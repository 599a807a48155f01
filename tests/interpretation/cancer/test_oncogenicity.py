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


def test_braf_v600e_is_oncogenic(kb):
    variant = SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",),
                             hgvs_p="p.V600E")
    result = assess_oncogenicity(kb, variant)
    # CGI validated (ClinVar/DoCM/OncoKB) -> OS1 + OS2; 897 samples at V600 in cancerhotspots -> OS3: 12 points.
    assert {"OS1", "OS2", "OS3"} <= set(result.criteria)
    assert result.label == "Oncogenic"


def test_hotspot_criteria_exclude_each_other(kb):
    # A rare change at a strong hotspot residue: OM3 (different change established), never OS3 with it.
    variant = SomaticVariant("7", 140753336, "A", "C", gene="BRAF", consequences=("missense_variant",),
                             hgvs_p="p.V600A")
    criteria = set(assess_oncogenicity(kb, variant).criteria)
    assert not ({"OS3", "OM4"} & criteria and "OM3" in criteria)
    assert not ({"OM1", "OM3"} & criteria and {"OM4", "OP3"} & criteria)
