"""Knowledge-base import: every source in one model, GRCh37 coordinates lifted, biomarkers at each level."""

from __future__ import annotations

import json
from pathlib import Path

from gmc.interpretation.cancer.knowledgebase import parse_alteration


def test_civic_accepted_evidence_items_are_all_imported(kb):
    civic = [item for item in kb.evidence if item.source == "CIViC"]
    assert len(civic) == 2525  # MANIFEST.tsv: 2,525 accepted EIDs
    assert {item.source_level for item in civic} == {"A", "B", "C", "D", "E"}
    # CIViC C (a case study) is AMP level D, "a few case reports without consensus" (levels.EVIDENCE_LEVELS).
    assert {item.level for item in civic if item.source_level == "C"} == {"D"}
    assert {item.evidence_type for item in civic} >= {"predictive", "diagnostic", "prognostic", "predisposing"}


def test_moalmanac_assertions_are_imported_or_counted_as_skipped(kb, refdata_dir: Path):
    content = json.loads((refdata_dir / "cancer/kb/moalmanac/molecular-oncology-almanac.json").read_text())["content"]
    live = [record for record in content if not record.get("_deprecated")]
    imported = [item for item in kb.evidence if item.source == "MOAlmanac"]
    skipped = sum(count for reason, count in kb.skipped.items() if reason.startswith("moalmanac"))
    assert len(imported) + skipped == len(live)


def test_civic_braf_v600e_is_lifted_to_its_grch38_position(kb):
    items = [item for item in kb.search(gene="BRAF", alteration="V600E") if item.source == "CIViC"
             and item.biomarker.alteration == "V600E"]
    assert items
    # rs113488022: GRCh37 7:140453136 A>T, GRCh38 7:140753336 A>T.
    assert {item.biomarker.genomic for item in items} == {("7", 140753336, "A", "T")}


def test_biomarker_levels_from_alteration_names():
    assert parse_alteration("EGFR", "EXON 19 DELETION").level == "exon"
    assert parse_alteration("EGFR", "EXON 19 DELETION").exon == 19
    assert parse_alteration("KRAS", "G12").level == "codon"
    assert parse_alteration("ERBB2", "AMPLIFICATION").level == "amplification"
    assert parse_alteration("CDKN2A", "DELETION").level == "deletion"
    lof = parse_alteration("TP53", "LOSS-OF-FUNCTION")
    assert (lof.level, lof.alteration_class) == ("gene", "inactivating")
    assert parse_alteration("TP53", "FRAMESHIFT TRUNCATION").level == "truncating"
    activating = parse_alteration("EGFR", "KINASE DOMAIN MUTATION")
    assert (activating.level, activating.alteration_class) == ("gene", "activating")
    bare = parse_alteration("PIK3CA", "MUTATION")
    assert (bare.level, bare.alteration_class) == ("gene", None)
    fusion = parse_alteration("ALK", "EML4-ALK")
    assert (fusion.level, fusion.partner) == ("fusion", "EML4")
    assert parse_alteration("EGFR", "T790M").protein.alt == "M"


def test_cgi_region_biomarker_for_egfr_exon_19_deletions(kb):
    regions = [item.biomarker for item in kb.by_gene["EGFR"] if item.biomarker.level == "region"]
    assert any((b.aa_start, b.aa_end, b.consequence) == (729, 761, "deletion") for b in regions)


def test_hotspots_and_gene_roles(kb):
    # cancerhotspots.org v2: PIK3CA H1047 seen in 647 samples, 537 of them H1047R.
    hotspot = kb.hotspots[("PIK3CA", 1047)]
    assert hotspot.position_count == 647
    assert dict(hotspot.alt_counts)["R"] == 537
    assert kb.genes["TP53"].tumour_suppressor
    assert kb.genes["KRAS"].oncogene
    assert (kb.genes["KRAS"].mechanism, kb.genes["TP53"].mechanism) == ("activating", "inactivating")
    # POLE is ambiguous in IntOGen and CGI; CPSR's gain-of-function mechanism decides.
    assert kb.genes["POLE"].roles["IntOGen"] == {"ambiguous"} and kb.genes["POLE"].mechanism == "activating"


def test_provenance_lists_every_source_with_a_checksum(kb, refdata_dir: Path):
    sources = {source["path"]: source for source in kb.provenance()}
    civic = sources["cancer/civic/nightly-ClinicalEvidenceSummaries.tsv"]
    assert civic["sha256"].startswith("bad01f00b49aea46")  # MANIFEST.tsv sha256_16
    assert civic["bytes"] == 2727299


def test_search_applies_parent_evidence_to_children(kb):
    # MOAlmanac records BRAF V600E + encorafenib/cetuximab for COADREAD; a COAD query must see it.
    coad = kb.search(gene="BRAF", alteration="V600E", tumour_type="COAD")
    assert any(item.source == "MOAlmanac" and item.tumour_type == "COADREAD" for item in coad)
    melanoma_only = kb.search(gene="BRAF", alteration="V600E", tumour_type="SKCM")
    assert not any(item.tumour_type == "COADREAD" for item in melanoma_only)


def test_curated_evidence_goes_live_and_retires(kb):
    from gmc.interpretation.cancer.knowledgebase import evidence_from_dict, evidence_to_dict
    from gmc.interpretation.cancer.model import SomaticVariant
    from gmc.interpretation.cancer.somatic import interpret_variant

    record = {"id": "GMC:1", "gene": "ERBB2", "alteration": "p.S310F", "evidence_type": "predictive", "level": "B",
              "significance": "Sensitivity/Response", "tumour_type": "BLCA", "therapies": "Neratinib",
              "citations": ["PMID:29420467"]}
    curated = evidence_from_dict(record, kb.oncotree)
    assert evidence_to_dict(curated)["tumour_type"] == "BLCA"
    variant = SomaticVariant("17", 39711955, "C", "T", gene="ERBB2", consequences=("missense_variant",),
                             hgvs_p="p.Ser310Phe")
    before = interpret_variant(kb, variant, "BLCA")
    live = kb.with_curation(live=[curated])
    after = interpret_variant(live, variant, "BLCA")
    assert "GMC:1" in after.evidence_ids and "GMC:1" not in before.evidence_ids
    assert after.tier == "I"
    retired = live.with_curation(retired_ids={"GMC:1"})
    assert "GMC:1" not in interpret_variant(retired, variant, "BLCA").evidence_ids
    assert len(kb.evidence) == len(retired.evidence)


def test_curated_evidence_errors_name_the_field(kb):
    import pytest

    from gmc.interpretation.cancer.knowledgebase import CuratedEvidenceError, evidence_from_dict

    good = {"id": "GMC:2", "gene": "KRAS", "alteration": "G12C", "evidence_type": "predictive", "level": "A",
            "significance": "Sensitivity/Response", "tumour_type": "NSCLC"}
    with pytest.raises(CuratedEvidenceError, match="'level'"):
        evidence_from_dict({**good, "level": "Z"}, kb.oncotree)
    with pytest.raises(CuratedEvidenceError, match="'evidence_type'"):
        evidence_from_dict({**good, "evidence_type": "anecdote"}, kb.oncotree)
    with pytest.raises(CuratedEvidenceError, match="'alteration'"):
        evidence_from_dict({**good, "alteration": "OVEREXPRESSION"}, kb.oncotree)
    with pytest.raises(CuratedEvidenceError, match="'significance'"):
        evidence_from_dict({k: v for k, v in good.items() if k != "significance"}, kb.oncotree)


def test_curated_therapies_are_regimens_and_a_comma_is_refused(kb):
    import pytest

    from gmc.interpretation.cancer.knowledgebase import (
        CuratedEvidenceError,
        evidence_from_dict,
        evidence_to_dict,
    )

    good = {"id": "GMC:3", "gene": "PIK3CA", "alteration": "H1047R", "evidence_type": "predictive", "level": "A",
            "significance": "Sensitivity/Response", "tumour_type": "BRCA",
            "therapies": "Fulvestrant + Alpelisib; Capivasertib + Fulvestrant"}
    item = evidence_from_dict(good, kb.oncotree)
    assert evidence_to_dict(item)["therapies"] == ["Alpelisib + Fulvestrant", "Capivasertib + Fulvestrant"]
    with pytest.raises(CuratedEvidenceError, match=r"field 'therapies'.*'Alpelisib, Fulvestrant'.*' \+ '"):
        evidence_from_dict({**good, "therapies": "Alpelisib, Fulvestrant"}, kb.oncotree)
    with pytest.raises(CuratedEvidenceError, match=r"field 'therapies'.*empty drug name"):
        evidence_from_dict({**good, "therapies": "Alpelisib + "}, kb.oncotree)
    with pytest.raises(CuratedEvidenceError, match="field 'tumour_agnostic'"):
        evidence_from_dict({**good, "tumour_agnostic": True}, kb.oncotree)  # BRCA is not every tumour type
    with pytest.raises(CuratedEvidenceError, match=r"field 'tumour_type'.*nearest: BRCA"):
        evidence_from_dict({**good, "tumour_type": "BRCAA"}, kb.oncotree)


def test_stated_tumour_agnostic_indications_are_approvals_only(kb):
    agnostic = [item for item in kb.evidence if item.tumour_agnostic and item.origin == "somatic"]
    assert {item.source_level for item in agnostic} == {"FDA-Approved"}
    genes = {item.biomarker.gene for item in agnostic}
    assert {"NTRK1", "NTRK2", "NTRK3", "RET", "BRAF"} <= genes
    # MOAlmanac:375, a single phase II trial "in liver metastases from solid tumours", is pan-cancer but no indication.
    trial = next(item for item in kb.evidence if item.id == "MOAlmanac:375")
    assert trial.tumour_type == "TISSUE" and not trial.tumour_agnostic


def test_a_stored_record_from_before_the_therapy_grammar_still_loads(kb):
    from gmc.interpretation.cancer.knowledgebase import evidence_from_dict

    old = {"id": "GMC:CUR000009", "gene": "KRAS", "alteration": "G12C", "evidence_type": "predictive", "level": "B",
           "significance": "Sensitivity/Response", "tumour_type": "NSCLC", "therapies": ["Sotorasib, Panitumumab"]}
    item = evidence_from_dict(old, kb.oncotree, stored=True)
    assert [t.kind for t in item.therapies] == ["unstated"] and item.therapies[0].drugs == ("Sotorasib", "Panitumumab")
