"""Tests for 100,000 Genomes-style tiering on real PanelApp panels."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare.inheritance import Certainty, Mode, ModeCall
from gmc.interpretation.rare.panels import Confidence, custom_panel, read_panelapp
from gmc.interpretation.rare.tiering import (
    FrequencyCaps,
    TieringInputError,
    TieringVariant,
    tier_variant,
    tier_variants,
)


@pytest.fixture(scope="module")
def intellectual_disability(refdata_dir: Path):
    return read_panelapp(refdata_dir / "panelapp")["285"]


def call(mode: Mode, certainty: Certainty = Certainty.POSSIBLE, partner: str | None = None) -> ModeCall:
    return ModeCall(mode, certainty, ("hand-built",), partner)


def v(
    gene: str, *terms: str, clinvar: str | None = None, af: float | None = None, vid: str = "v"
) -> TieringVariant:
    return TieringVariant(vid, gene, frozenset(terms), clinvar, af)


def test_loss_of_function_in_green_dominant_gene_is_tier_1(intellectual_disability) -> None:
    assert intellectual_disability.gene("SCN2A").confidence == Confidence.GREEN
    result = tier_variant(v("SCN2A", "stop_gained"), [call(Mode.AD)], [intellectual_disability])
    assert result.tier == 1
    assert result.panel_id == "285"
    assert any("loss of function" in r for r in result.reasons)
    assert any("no population frequency known" in r for r in result.reasons)


def test_confirmed_de_novo_missense_is_tier_1_but_possible_de_novo_is_tier_2(intellectual_disability) -> None:
    confirmed = tier_variant(
        v("SCN2A", "missense_variant"), [call(Mode.DE_NOVO, Certainty.CONSISTENT)], [intellectual_disability]
    )
    assert confirmed.tier == 1
    possible = tier_variant(
        v("SCN2A", "missense_variant"), [call(Mode.DE_NOVO), call(Mode.AD)], [intellectual_disability]
    )
    assert possible.tier == 2


def test_clinvar_pathogenic_homozygote_in_recessive_gene_is_tier_1(intellectual_disability) -> None:
    result = tier_variant(
        v("ACADM", "missense_variant", clinvar="Pathogenic", af=0.004),
        [call(Mode.AR_HOM)],
        [intellectual_disability],
    )
    assert result.tier == 1
    assert result.modes == frozenset({Mode.AR_HOM})


def test_mode_mismatch_in_green_gene_drops_to_tier_3(intellectual_disability) -> None:
    # ACADM is recessive on the panel; a lone heterozygous (dominant) missense does not fit it.
    result = tier_variant(v("ACADM", "missense_variant"), [call(Mode.AD)], [intellectual_disability])
    assert result.tier == 3
    assert any("segregates only as" in r for r in result.reasons)


def test_amber_gene_and_off_panel_gene_are_tier_3(intellectual_disability) -> None:
    assert intellectual_disability.gene("ACADSB").confidence == Confidence.AMBER
    amber = tier_variant(v("ACADSB", "frameshift_variant"), [call(Mode.AR_HOM)], [intellectual_disability])
    assert amber.tier == 3
    off_panel = tier_variant(
        v("OR4F5", "splice_donor_5th_base_variant"), [call(Mode.AD)], [intellectual_disability]
    )
    assert off_panel.tier == 3
    assert "outside the applied panels" in off_panel.reasons


def test_frequency_caps_per_mode(intellectual_disability) -> None:
    # 0.5 %: too common for a dominant disorder (cap 0.1 %) but fine for a recessive one (cap 1 %).
    dominant = tier_variant(v("SCN2A", "stop_gained", af=0.005), [call(Mode.AD)], [intellectual_disability])
    assert dominant.tier is None
    assert any("above cap 0.001" in r for r in dominant.reasons)
    recessive = tier_variant(
        v("ACADM", "stop_gained", af=0.005), [call(Mode.AR_HOM)], [intellectual_disability]
    )
    assert recessive.tier == 1
    relaxed = tier_variant(
        v("SCN2A", "stop_gained", af=0.005),
        [call(Mode.AD)],
        [intellectual_disability],
        caps=FrequencyCaps(dominant=0.01),
    )
    assert relaxed.tier == 1


def test_not_protein_altering_or_not_segregating_is_untiered(intellectual_disability) -> None:
    assert (
        tier_variant(v("SCN2A", "synonymous_variant"), [call(Mode.AD)], [intellectual_disability]).tier
        is None
    )
    assert tier_variant(v("SCN2A", "stop_gained"), [], [intellectual_disability]).tier is None


def test_coding_change_of_unknown_effect_is_possibly_protein_altering(refdata_dir: Path) -> None:
    # Annotated without the reference codon (no FASTA): it may be missense or stop-gained, so the programme's
    # tier 2 rule applies in a green gene, and the reasons say the effect is unknown.
    mitochondrial = read_panelapp(refdata_dir / "panelapp")["112"]
    assert mitochondrial.gene("SCO2").is_green
    unknown = v("SCO2", "coding_sequence_variant", vid="a")
    pair = [call(Mode.AR_COMP_HET, partner="b")]
    result = tier_variant(unknown, pair, [mitochondrial])
    assert result.tier == 2
    assert any("unknown protein effect" in r for r in result.reasons)
    # ClinVar P/LP makes it tier 1, still saying the effect is unknown; off the panel it is tier 3.
    known = tier_variant(v("SCO2", "coding_sequence_variant", clinvar="Pathogenic"), pair, [mitochondrial])
    assert known.tier == 1 and any("unknown protein effect" in r for r in known.reasons)
    assert tier_variant(v("TTN", "coding_sequence_variant"), [call(Mode.AD)], [mitochondrial]).tier == 3
    # A compound heterozygous partner of unknown effect counts as a candidate.
    tiers = tier_variants(
        [unknown, v("SCO2", "coding_sequence_variant", vid="b")],
        {"a": pair, "b": [call(Mode.AR_COMP_HET, partner="a")]},
        [mitochondrial],
    )
    assert [t.tier for t in tiers] == [2, 2]


def test_best_tier_over_several_panels(intellectual_disability) -> None:
    custom = custom_panel("Family request", [("TTN", "AD")])
    result = tier_variant(v("TTN", "missense_variant"), [call(Mode.AD)], [intellectual_disability, custom])
    assert result.tier == 2
    assert result.panel_id == "custom:Family request"


def test_compound_heterozygous_partner_must_be_a_candidate(intellectual_disability) -> None:
    variants = [
        v("ACADM", "missense_variant", vid="a"),
        v("ACADM", "synonymous_variant", vid="b"),
        v("ACADM", "frameshift_variant", vid="c"),
    ]
    segregation = {
        "a": [call(Mode.AR_COMP_HET, partner="b")],
        "b": [call(Mode.AR_COMP_HET, partner="a")],
        "c": [call(Mode.AR_COMP_HET, partner="a")],
    }
    tiers = {t.variant_id: t.tier for t in tier_variants(variants, segregation, [intellectual_disability])}
    # a pairs only with a synonymous variant, so it is not a recessive candidate; c pairs with a.
    assert tiers == {"a": None, "b": None, "c": 1}


def test_bad_input_is_named() -> None:
    with pytest.raises(TieringInputError, match="gene is required"):
        tier_variant(v("", "stop_gained"), [call(Mode.AD)], [])
    with pytest.raises(TieringInputError, match="population_af 1.5"):
        tier_variant(v("SCN2A", "stop_gained", af=1.5), [call(Mode.AD)], [])
