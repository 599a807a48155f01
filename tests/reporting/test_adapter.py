"""The adapter reads interpretation results defensively: HGVS on MANE Select, g. only where the allele gives it,
withheld fields with their reason, therapies grouped per drug whichever shape the cancer result has."""

from __future__ import annotations

import pytest

from gmc.reporting import adapter
from gmc.reporting.mane import load_mane, read_mane


@pytest.fixture(scope="module")
def mane(refdata_dir):
    return load_mane(str(refdata_dir))


def test_mane_select_and_chromosome_accessions_come_from_the_summary(mane) -> None:
    ankrd11 = mane.for_gene("ANKRD11")
    assert (ankrd11.refseq, ankrd11.refseq_protein, ankrd11.chromosome) == ("NM_013275.6", "NP_037407.4", "NC_000016.10")
    assert mane.for_gene(None, "ENST00000301030") is ankrd11 and mane.for_gene(None, "NM_013275.6") is ankrd11
    assert mane.chromosomes["X"] == "NC_000023.11" and len(mane.chromosomes) == 24


def test_genomic_hgvs_is_given_only_when_the_alleles_fix_it(mane) -> None:
    assert adapter.hgvs_g("3", 179234297, "A", "G", "GRCh38", mane) == ("NC_000003.12:g.179234297A>G", None)
    assert adapter.hgvs_g("chr7", 100, "AC", "GT", "GRCh38", mane) == ("NC_000007.14:g.100_101delinsGT", None)
    assert adapter.hgvs_g("7", 100, "ACG", "ATG", "GRCh38", mane) == ("NC_000007.14:g.101C>T", None)
    g, why = adapter.hgvs_g("16", 89282770, "CTT", "C", "GRCh38", mane)
    assert g is None and "3'" in why
    assert adapter.hgvs_g("16", 1, "A", "G", "GRCh37", mane)[0] is None


def test_protein_changes_are_written_in_three_letters_and_clinvar_as_a_vcv_accession() -> None:
    assert adapter.three_letter_protein("p.H1047R") == "p.(His1047Arg)"
    assert adapter.three_letter_protein("p.(Arg417Cys)") == "p.(Arg417Cys)"
    assert adapter.three_letter_protein("p.R273*") == "p.(Arg273Ter)"
    clinvar = adapter.clinvar_evidence("Pathogenic/Likely_pathogenic|criteria_provided,_multiple_submitters|265324")
    assert clinvar == {"accession": "VCV000265324", "variation_id": "265324",
                       "significance": "Pathogenic/Likely pathogenic",
                       "review": "criteria provided, multiple submitters"}
    assert adapter.clinvar_evidence(None) is None


def _rare_result(variant: dict) -> dict:
    return {"provenance": {"fasta": "none", "build": "GRCh38"}, "genes": [{
        "rank": 1, "gene": "ANKRD11", "hgnc_id": "HGNC:21316", "score": 0.9, "tier": 1, "mode": "de_novo",
        "variants": [variant], "explanation": {"phenotype": {"disease_id": "OMIM:148050", "disease": "KBG syndrome",
                                                             "matched_terms": []}}}]}


def test_withheld_fields_say_why_and_a_withheld_reason_from_the_run_is_kept(mane) -> None:
    base = {"variant": "16:89282770:CTT:C", "chrom": "16", "pos": 89282770, "ref": "CTT", "alt": "C",
            "genotype": "het", "transcript": "ENST00000301030.10", "consequence": "frameshift_variant",
            "hgvs_c": "c.3770_3771del", "hgvs_p": None, "evidence": {}}
    candidate = adapter.rare_candidates(_rare_result(base), mane=mane, parents_sequenced=False)[0]
    assert candidate.hgvs_p is None and "reference genome sequence" in candidate.withheld["hgvs_p"]
    assert candidate.inheritance == "de novo not confirmed (parents not sequenced)"
    assert candidate.classification is None and "no ACMG evaluation" in candidate.withheld["classification"]
    # The hgvs lane's withheld shapes: a <field>_withheld reason, or a withheld mapping.
    for shape in ({"hgvs_c": None, "hgvs_c_withheld": "sequence unknown at the site"},
                  {"hgvs_c": None, "withheld": {"hgvs_c": "sequence unknown at the site"}}):
        got = adapter.rare_candidates(_rare_result({**base, **shape}), mane=mane)[0]
        assert got.hgvs_c is None and got.withheld["hgvs_c"] == "sequence unknown at the site"
    # Annotation's hgvs_note names each withheld description.
    noted = adapter.rare_candidates(_rare_result({**base, "hgvs_c": None, "hgvs_note": (
        "c. withheld, consequence taken where the VCF wrote the indel: its 3' position needs the flanking sequence; "
        "p. and codon change withheld: they need the transcript's reference sequence")}), mane=mane)[0]
    # The report already says which description is withheld: the reason alone is kept.
    assert noted.withheld["hgvs_c"].startswith("consequence taken where the VCF wrote the indel: its 3' position")
    assert noted.withheld["hgvs_p"] == "they need the transcript's reference sequence"
    # A genotype the run did not call is not turned into a zygosity.
    missing = adapter.rare_candidates(_rare_result({**base, "genotype": "missing"}), mane=mane)[0]
    assert missing.zygosity is None and "missing" in missing.withheld["zygosity"]


def test_therapies_are_grouped_per_drug_from_either_result_shape() -> None:
    flat = {"evidence": [
        {"id": "A1", "type": "predictive", "level": "B", "significance": "Sensitivity", "therapies": ["Alpelisib"],
         "in_tumour_type": True, "counted_for_tier": True},
        {"id": "A2", "type": "predictive", "level": "A", "significance": "Sensitivity/Response",
         "therapies": ["Alpelisib"], "in_tumour_type": True, "counted_for_tier": True},
        {"id": "C1", "type": "predictive", "level": "B", "significance": "Resistant", "therapies": ["Cetuximab"],
         "in_tumour_type": False, "counted_for_tier": True},
        {"id": "P1", "type": "prognostic", "level": "A", "significance": "Poor", "therapies": [],
         "counted_for_tier": True}]}
    grouped = adapter.group_therapies(flat)
    assert grouped == [{"drug": "Alpelisib", "response": "sensitivity", "level": "A", "in_tumour_type": True,
                        "items": ["A1", "A2"], "note": ""},
                       {"drug": "Cetuximab", "response": "resistance", "level": "B", "in_tumour_type": False,
                        "items": ["C1"], "note": ""}]
    # Cancer interpretation's therapy lines: one per regimen and direction, level here preferred.
    lines = {"therapies": [{"therapy": "Alpelisib + Fulvestrant", "drugs": ["Alpelisib", "Fulvestrant"],
                            "combination": "combination", "note": "", "direction": "sensitivity", "best_level": "A",
                            "in_tumour_type": True, "level_here": "A", "level_elsewhere": None,
                            "evidence_ids": ["MOA:1", "CIViC:EID1"]},
                           {"therapy": "Cetuximab", "drugs": ["Cetuximab"], "combination": "single", "note": "",
                            "direction": "resistance", "best_level": "B", "in_tumour_type": False, "level_here": None,
                            "level_elsewhere": "B", "evidence_ids": ["CGI:904"]}]}
    assert adapter.group_therapies(lines) == [
        {"drug": "Alpelisib + Fulvestrant", "response": "sensitivity", "level": "A", "in_tumour_type": True,
         "items": ["MOA:1", "CIViC:EID1"], "note": ""},
        {"drug": "Cetuximab", "response": "resistance", "level": "B", "in_tumour_type": False, "items": ["CGI:904"],
         "note": ""}]


def test_a_malformed_mane_summary_is_refused_naming_the_line(tmp_path) -> None:
    import gzip

    path = tmp_path / "mane.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("#HGNC_ID\tsymbol\tRefSeq_nuc\tRefSeq_prot\tEnsembl_nuc\tEnsembl_prot\tMANE_status\tGRCh38_chr\n")
        handle.write("HGNC:5\tA1BG\n")
    with pytest.raises(ValueError, match="line 2"):
        read_mane(path)
