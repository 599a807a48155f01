"""Tumour mutational burden: hand-counted inputs, callable-region BEDs (right and wrong build), assay sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.tmb import (
    TmbConfigError,
    assay_size,
    parse_assay_sizes,
    read_callable_bed,
    tumour_mutational_burden,
)


def _variants() -> list[SomaticVariant]:
    kinds = ["missense_variant", "missense_variant", "synonymous_variant", "intron_variant", "frameshift_variant",
             "5_prime_UTR_variant"]
    return [SomaticVariant("1", 100 + i, "A", "G", consequences=(kind,)) for i, kind in enumerate(kinds)]


def test_hand_counted_tmb_per_mode_states_its_basis():
    # 2 missense + 1 synonymous + 1 frameshift are coding; 2 Mb territory.
    burden = tumour_mutational_burden(_variants(), territory_mb=2.0)
    assert burden.per_mb == 2.0 and "synonymous_variant" in burden.counted_classes
    assert burden.basis.startswith("4 somatic coding SNVs and indels, synonymous included")
    assert burden.territory_source == "size given for the run"
    non_silent = tumour_mutational_burden(_variants(), territory_mb=2.0, count_mode="coding_non_silent")
    assert non_silent.per_mb == 1.5 and "synonymous_variant" not in non_silent.counted_classes
    assert tumour_mutational_burden(_variants(), territory_mb=2.0, count_mode="missense_only").mutations == 2


def test_without_a_territory_the_exome_size_is_marked_assumed():
    burden = tumour_mutational_burden(_variants())
    assert burden.territory_mb == 34.0 and burden.territory_source.startswith("assumed default")
    assert "assumed" in burden.basis


def test_tmb_high_threshold_is_ten_per_megabase():
    variants = [SomaticVariant("1", i, "A", "G", consequences=("missense_variant",)) for i in range(10)]
    assert tumour_mutational_burden(variants, territory_mb=1.0).high
    assert not tumour_mutational_burden(variants[:9], territory_mb=1.0).high


def test_bad_settings_are_refused():
    with pytest.raises(TmbConfigError, match="territory"):
        tumour_mutational_burden([], territory_mb=0)
    with pytest.raises(TmbConfigError, match="count mode"):
        tumour_mutational_burden([], count_mode="everything")


def test_assay_sizes_come_from_the_setting():
    assert parse_assay_sizes("TSO500=1.33, WES-v7=35.8") == {"TSO500": 1.33, "WES-v7": 35.8}
    assert assay_size("TSO500", "TSO500=1.33") == 1.33
    with pytest.raises(TmbConfigError, match="configured: TSO500"):
        assay_size("F1CDx", "TSO500=1.33")
    with pytest.raises(TmbConfigError, match="'TSO500=big'"):
        parse_assay_sizes("TSO500=big")


def test_a_callable_bed_gives_the_territory_and_limits_the_count(refdata_dir: Path, tmp_path: Path, exome_bed):
    bed = exome_bed("GRCh38", tmp_path / "capture_grch38.bed")
    regions = read_callable_bed(bed, expected_build="GRCh38", refdata=refdata_dir)
    assert regions.build == "GRCh38" and "coding exons" in regions.build_evidence
    first = next(iter(regions.intervals.items()))
    inside = SomaticVariant(first[0], first[1][0][0] + 5, "A", "G", consequences=("missense_variant",))
    outside = SomaticVariant(first[0], first[1][0][0] - 500, "A", "G", consequences=("missense_variant",))
    burden = tumour_mutational_burden([inside, outside], callable_regions=regions)
    assert burden.mutations == 1 and burden.territory_mb == pytest.approx(regions.bases / 1e6)
    assert burden.territory_source.startswith("callable BED capture_grch38.bed")


def test_a_callable_bed_of_the_other_build_is_refused(refdata_dir: Path, tmp_path: Path, exome_bed):
    bed = exome_bed("GRCh37", tmp_path / "capture_hg19.bed")
    with pytest.raises(TmbConfigError, match=r"capture_hg19.bed is GRCh37 .*but the variants are GRCh38"):
        read_callable_bed(bed, expected_build="GRCh38", refdata=refdata_dir)
    assert read_callable_bed(bed, expected_build="GRCh37", refdata=refdata_dir).build == "GRCh37"


def test_a_malformed_bed_names_its_line(refdata_dir: Path, tmp_path: Path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t100\t200\nchr1\tstart\t300\n")
    with pytest.raises(TmbConfigError, match="bad.bed line 2"):
        read_callable_bed(bed, expected_build="GRCh38", refdata=refdata_dir)
