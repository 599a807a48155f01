"""QC rules: hand-computed yields and verdicts, impossible values refused naming the field."""

from __future__ import annotations

import pytest

from gmc.samples.qc import DEFAULT_THRESHOLDS, QcThreshold, QcValueError, evaluate


def test_yield_is_concentration_times_volume_and_passes_germline_rules() -> None:
    # 25 ng/ul x 80 ul = 2000 ng, over the 1000 ng germline minimum.
    out = evaluate({"concentration_ng_ul": 25, "volume_ul": 80, "a260_280": 1.8, "din": 7.5},
                   DEFAULT_THRESHOLDS["blood_edta"])
    assert out.passed and out.reasons == [] and out.total_yield_ng == 2000


def test_each_broken_rule_gives_a_reason() -> None:
    # 10 ng/ul x 50 ul = 500 ng: low concentration AND low yield; A260/280 2.3 is protein-free but RNA-rich.
    out = evaluate({"concentration_ng_ul": 10, "volume_ul": 50, "a260_280": 2.3}, DEFAULT_THRESHOLDS["blood_edta"])
    assert not out.passed
    assert out.reasons == ["Concentration 10 ng/µl is below the minimum 15", "Total yield 500 ng is below the minimum 1000",
                           "A260/280 2.3 ratio is above the maximum 2.1", "DIN was not measured"]


def test_ffpe_is_judged_on_dv200_and_tumour_purity() -> None:
    out = evaluate({"total_yield_ng": 400, "a260_280": 1.9, "dv200": 25, "tumour_purity": 20},
                   DEFAULT_THRESHOLDS["ffpe_block"])
    assert [r.split()[0] for r in out.reasons] == ["DV200", "Tumour"]


@pytest.mark.parametrize(("metric", "value"), [("a260_280", 7.5), ("din", 0), ("concentration_ng_ul", -1),
                                                ("tumour_purity", 140), ("dv200", "lots")])
def test_impossible_values_are_refused_naming_the_field(metric: str, value: object) -> None:
    with pytest.raises(QcValueError) as err:
        evaluate({metric: value}, [QcThreshold(metric, 0)])
    assert err.value.field == metric and err.value.status_code == 422
