"""Knowledge-base import: every source in one model, GRCh37 coordinates lifted, biomarkers at each level."""

from __future__ import annotations

import json
from pathlib import Path

from gmc.interpretation.cancer.knowledgebase import parse_alteration


def test_civic_accepted_evidence_items_are_all_imported(kb):
    civic = [item for item in kb.evidence if item.source == "CIViC"]
    assert len(civic) == 2525  # MANIFEST.tsv: 2,525 accepted EIDs
    assert {item.level for item in civic} == {"A", "B", "C", "D", "E"}
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
    assert parse_alteration("TP53", "LOSS-OF-FUNCTION").level == "truncating"
    assert parse_alteration("PIK3CA", "MUTATION").level == "gene"
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
