"""The pure cores of research sharing: keyed pseudonyms, small-number suppression and cohort criteria."""

from __future__ import annotations

import re
from datetime import date

import pytest

from gmc.common.errors import ValidationFailed
from gmc.research.cohort import Criteria, age_band, criteria_from_dict, normalise_variant
from gmc.research.pseudonym import (
    age_in_years,
    family_pseudonym,
    key_fingerprint,
    research_id,
    sample_pseudonym,
)
from gmc.research.suppression import SECONDARY, SMALL, breakdown, show

KEY = "a-test-research-key-of-enough-length-1234"


def test_research_ids_are_keyed_per_deployment_and_project() -> None:
    rid = research_id(KEY, "RP0001", "P000123")
    assert re.fullmatch(r"R[A-Z2-7]{12}", rid)
    assert rid == research_id(KEY, "RP0001", "P000123")
    assert rid != research_id(KEY + "x", "RP0001", "P000123")  # another deployment's key
    assert rid != research_id(KEY, "RP0002", "P000123")  # another project
    assert rid != research_id(KEY, "RP0001", "P000124")
    assert "P000123" not in rid and family_pseudonym(KEY, "RP0001", "F0001").startswith("F")
    assert sample_pseudonym(KEY, "RP0001", "GD1").startswith("S")
    assert key_fingerprint(KEY) != key_fingerprint(KEY + "x") and KEY not in key_fingerprint(KEY)
    with pytest.raises(ValueError, match="GMC_RESEARCH_KEY"):
        research_id("", "RP0001", "P1")


def test_ages_not_dates() -> None:
    assert age_in_years(date(2010, 6, 15), date(2026, 6, 14)) == 15
    assert age_in_years(date(2010, 6, 15), date(2026, 6, 15)) == 16
    assert age_in_years(None, date(2026, 1, 1)) is None
    assert [age_band(a) for a in (0, 4, 5, 17, 18, 39, 40, 79, 80, None)] == [
        "0-4", "0-4", "5-17", "5-17", "18-39", "18-39", "40-59", "60-79", "80+", "unknown"]


def test_small_numbers_are_suppressed() -> None:
    assert [show(n) for n in (0, 1, 9, 10, 250)] == ["0", SMALL, SMALL, "10", "250"]


def test_secondary_suppression_stops_a_total_revealing_a_cell() -> None:
    # One small cell next to a shown total: the next smallest cell is hidden too.
    b = breakdown({"female": 4, "male": 30, "other": 0}, 34)
    assert b.total == "34" and b.cells == {"female": SMALL, "male": SECONDARY, "other": "0"}
    assert b.values == {"female": None, "male": None, "other": 0} and b.suppressed
    # Two small cells adding up to less than ten: a third is hidden as well.
    b = breakdown({"a": 2, "b": 3, "c": 12, "d": 40}, 57)
    assert b.cells == {"a": SMALL, "b": SMALL, "c": SECONDARY, "d": "40"}
    # Two small cells that add up to ten or more are enough on their own.
    b = breakdown({"a": 6, "b": 7, "c": 40}, 53)
    assert b.cells == {"a": SMALL, "b": SMALL, "c": "40"}
    # Nothing small: nothing hidden.
    assert breakdown({"a": 10, "b": 11}).cells == {"a": "10", "b": "11"}
    # A small total hides every non-zero cell of its split.
    b = breakdown({"a": 3, "b": 0}, 3)
    assert b.total == SMALL and b.cells == {"a": SMALL, "b": "0"}
    for cells in ({"x": 1, "y": 100, "z": 200}, {"x": 5, "y": 5, "z": 5, "w": 90}):
        b = breakdown(cells)
        hidden = [k for k, v in b.values.items() if v is None]
        assert len(hidden) >= 2 and sum(cells[k] for k in hidden) >= 10


def test_criteria_are_checked_for_form_and_identifiable_fields_refused() -> None:
    c = criteria_from_dict({"hpo_terms": ["hp:0001250"], "genes": "scn1a", "variants": ["chr2:166000000:g:a"],
                            "programme_arms": ["rare_disease"], "qualifying": {"impacts": ["high"], "min_gq": "20"}})
    assert c.hpo_terms == ("HP:0001250",) and c.genes == ("SCN1A",) and c.variants == ("2-166000000-G-A",)
    assert c.qualifying.impacts == ("HIGH",) and c.qualifying.min_gq == 20 and c.needs_genotypes
    assert criteria_from_dict(c.to_dict()) == c
    assert Criteria().describe() == ["every participant whose consent allows research"]
    for field, message in (("postcode", "postcodes never leave"), ("date_of_birth", "use age_bands"),
                           ("nhs_number", "NHS numbers"), ("family_name", "names never leave"),
                           ("note", "free text")):
        with pytest.raises(ValidationFailed, match=message) as err:
            criteria_from_dict({field: "x"})
        assert err.value.field == field and "identifiable field" in err.value.message
    bad = [({"favourite_colour": ["blue"]}, "cannot select on 'favourite_colour'"),
           ({"hpo_terms": ["seizure"]}, "not an HPO id"), ({"age_bands": ["10-20"]}, "not one of"),
           ({"variants": ["2:166000000"]}, "chrom-pos-ref-alt"), ({"qualifying": {"max_population_af": 2}}, "between 0 and 1"),
           ({"qualifying": {"clinvar": "maybe"}}, "or, only, no"), ({"disease_codes": ["Dravet"]}, "OMIM")]
    for raw, message in bad:
        with pytest.raises(ValidationFailed, match=message):
            criteria_from_dict(raw)
    assert normalise_variant("chrM-10-a-g") == "MT-10-A-G"
