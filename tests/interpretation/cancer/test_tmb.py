"""Tumour mutational burden on a hand-counted input."""

from __future__ import annotations

import pytest

from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.tmb import TmbConfigError, tumour_mutational_burden


def _variants() -> list[SomaticVariant]:
    kinds = ["missense_variant", "missense_variant", "synonymous_variant", "intron_variant", "frameshift_variant",
             "5_prime_UTR_variant"]
    return [SomaticVariant("1", 100 + i, "A", "G", consequences=(kind,)) for i, kind in enumerate(kinds)]


def test_hand_counted_tmb_per_mode():
    # 2 missense + 1 synonymous + 1 frameshift are coding; 2 Mb territory.
    assert tumour_mutational_burden(_variants(), territory_mb=2.0).per_mb == 2.0
    assert tumour_mutational_burden(_variants(), territory_mb=2.0, count_mode="coding_non_silent").per_mb == 1.5
    assert tumour_mutational_burden(_variants(), territory_mb=2.0, count_mode="missense_only").mutations == 2


def test_tmb_high_threshold_is_ten_per_megabase():
    variants = [SomaticVariant("1", i, "A", "G", consequences=("missense_variant",)) for i in range(10)]
    assert tumour_mutational_burden(variants, territory_mb=1.0).high
    assert not tumour_mutational_burden(variants[:9], territory_mb=1.0).high


def test_bad_settings_are_refused():
    with pytest.raises(TmbConfigError, match="territory"):
        tumour_mutational_burden([], territory_mb=0)
    with pytest.raises(TmbConfigError, match="count mode"):
        tumour_mutational_burden([], count_mode="everything")
