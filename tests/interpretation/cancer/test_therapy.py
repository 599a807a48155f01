"""Therapy strings of every source read into regimens; combinations kept whole; unreadable strings refused."""

from __future__ import annotations

import pytest

from gmc.interpretation.cancer.therapy import (
    COMBINATION,
    SINGLE,
    UNSTATED,
    DrugNames,
    Therapy,
    TherapyParseError,
    parse_cgi,
    parse_civic,
    parse_moalmanac,
    parse_regimens,
)


def test_moalmanac_and_curated_combinations_are_one_regimen():
    (therapy,) = parse_moalmanac("Encorafenib + Cetuximab")
    assert therapy == Therapy(("Cetuximab", "Encorafenib"), COMBINATION) and therapy.label == "Cetuximab + Encorafenib"
    assert [t.label for t in parse_regimens("Alpelisib + Fulvestrant; Capivasertib")] == [
        "Alpelisib + Fulvestrant", "Capivasertib"]
    (optional,) = parse_moalmanac("BRAF inhibitor + EGFR mAb inhibitor +/- PI3K inhibitor")
    assert optional.drugs == ("BRAF inhibitor", "EGFR mAb inhibitor ± PI3K inhibitor")


def test_cgi_semicolon_is_a_combination_and_brackets_list_alternatives():
    assert parse_cgi("Dabrafenib;Trametinib") == (Therapy(("Dabrafenib", "Trametinib"), COMBINATION),)
    assert parse_cgi("[Nilotinib,Dasatinib]") == (Therapy(("Nilotinib",)), Therapy(("Dasatinib",)))
    assert parse_cgi("[]", "[MEK inhibitor]") == (Therapy(("MEK inhibitor",)),)
    assert parse_cgi("[]", "[BRAF inhibitor;EGFR mAb inhibitor]")[0].kind == COMBINATION


def test_civic_lists_are_kept_whole_and_marked_unstated():
    (therapy,) = parse_civic("Docetaxel,Selumetinib (AZD6244)")
    assert therapy.kind == UNSTATED and therapy.drugs == ("Docetaxel", "Selumetinib (AZD6244)")
    assert "without saying whether they were given together" in therapy.note
    (chemical,) = parse_civic("Bis-2-[5-(phenylacetamide)-1,3,4-thiadiazol-2-yl]ethyl Sulfide")
    assert chemical.kind == SINGLE  # commas inside brackets belong to the name


@pytest.mark.parametrize(("text", "message"), [
    ("Alpelisib, Fulvestrant", r"' \+ '.*';'"),
    ("Alpelisib + ", "empty drug name"),
    ("Alpelisib + (Fulvestrant", "unbalanced brackets"),
    ("Alpelisib + Fulvestrant*2", "not part of a drug name"),
])
def test_an_unreadable_regimen_is_refused_with_the_string(text, message):
    with pytest.raises(TherapyParseError, match=message) as error:
        parse_regimens(text)
    assert repr(text.split(";")[0].strip()) in str(error.value) or "therapy" in str(error.value)


def test_cgi_refuses_a_half_open_alternatives_list():
    with pytest.raises(TherapyParseError, match="does not close"):
        parse_cgi("[Nilotinib,Dasatinib")


def test_drug_names_are_unified_by_alias_across_sources():
    names = DrugNames(["BYL719 (Alpelisib)", "Alpelisib", "Alpelisib", "Selumetinib (AZD6244)", "AZD6244"])
    assert names.display("BYL719 (Alpelisib)") == "Alpelisib" and names.key("BYL719") == names.key("alpelisib")
    assert names.key("AZD6244") == names.key("Selumetinib (AZD6244)")
    unstated = Therapy(("Docetaxel", "Selumetinib (AZD6244)"), UNSTATED)
    assert names.canonical(unstated).drugs == ("Docetaxel", names.display("AZD6244"))


def test_every_therapy_in_the_shared_sources_parses(kb):
    # build_knowledgebase refuses a source string it cannot read, naming file and line; the real files all read.
    kinds = {therapy.kind for item in kb.evidence for therapy in item.therapies}
    assert kinds == {SINGLE, COMBINATION, UNSTATED}
