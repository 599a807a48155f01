"""Codes as people read them: labels, tones, summaries and timeline sentences."""

from __future__ import annotations

from gmc.common.labels import event_sentence, label, readable, tone
from gmc.common.links import (
    clinvar_id,
    clinvar_text,
    clinvar_variant,
    disease_record,
    gnomad_variant,
    hpo_term,
)


def test_labels_and_tones() -> None:
    assert [label(v) for v in ("rare_disease", "parent_guardian", True, None, "some_new_code")] == [
        "Rare disease", "a parent or guardian", "Yes", "", "some new code"]
    assert [tone(v) for v in ("withdrawn: no further use", "eligible", "anything")] == ["bad", "ok", ""]


def test_summaries_and_timelines_read_as_sentences() -> None:
    summary = {"form": "RD-CHILD v3.0", "given_by": "parent_guardian", "choices": {"taking_part": True},
               "assent": None}
    assert readable(summary) == "Form: RD-CHILD v3.0; Given by: a parent or guardian; Choices: Taking part: Yes"
    assert event_sentence("rita", "consent_record", summary).startswith("rita recorded consent: Form: RD-CHILD")
    assert event_sentence("leo", "unknown_verb", {}) == "leo unknown verb."


def test_links_out_for_a_variant() -> None:
    stored = "Pathogenic/Likely_pathogenic|criteria_provided,_multiple_submitters,_no_conflicts|265324"
    assert clinvar_id(stored) == "265324"
    assert clinvar_variant("16", 89282770, "GRCh38", "265324") == "https://www.ncbi.nlm.nih.gov/clinvar/variation/265324/"
    assert clinvar_text(stored) == "Pathogenic/Likely pathogenic (multiple submitters, no conflicts)"
    assert "chrpos37" in clinvar_variant("chr1", 100, "GRCh37")
    assert gnomad_variant("chr1", 11796321, "G", "A", "GRCh38") == (
        "https://gnomad.broadinstitute.org/variant/1-11796321-G-A?dataset=gnomad_r4")
    assert gnomad_variant("1", 5, "A", "<DEL>", "GRCh38") is None


def test_links_out_for_a_term_and_a_disease() -> None:
    assert hpo_term("HP:0001250") == "https://hpo.jax.org/browse/term/HP:0001250"
    assert disease_record("OMIM:613720") == "https://www.omim.org/entry/613720"
    assert disease_record("ORPHA:1899") == "https://www.orpha.net/en/disease/detail/1899"
    assert disease_record("MONDO:0007739") == "https://monarchinitiative.org/MONDO:0007739"
    assert [disease_record(x) for x in ("DECIPHER:1", "OMIM:", "", None)] == [None, None, None, None]
