"""Tests for automatic ACMG/AMP criteria, overrides and the Tavtigian 2020 points classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare.acmg import (
    AcmgInputError,
    Classification,
    ClinVarEntry,
    ClinVarIndex,
    NullVariantContext,
    Override,
    Strength,
    VariantEvidence,
    classify,
    classify_points,
    clinvar_null_counts,
    combine,
    criterion,
    evaluate_criteria,
    parse_protein_change,
    read_clinvar_index,
    read_gene_rules,
    read_lof_mechanisms,
)

CLINVAR = ("grch38", "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz")


@pytest.fixture(scope="module")
def null_counts(refdata_dir: Path) -> dict[str, int]:
    return clinvar_null_counts(refdata_dir.joinpath(*CLINVAR))


@pytest.fixture(scope="module")
def lof(refdata_dir: Path, null_counts: dict[str, int]):
    return read_lof_mechanisms(
        refdata_dir / "clingen" / "ClinGen_gene_curation_list_GRCh38_2026-02-06.tsv",
        refdata_dir / "constraint" / "gnomad_v4.1_constraint_mane_select.csv",
        refdata_dir / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz",
        null_counts,
    )


@pytest.fixture(scope="module")
def clinvar(refdata_dir: Path) -> ClinVarIndex:
    return read_clinvar_index(refdata_dir / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz")


def met(results, code: str):
    found = [r for r in results if r.code == code]
    assert len(found) == 1, code
    return found[0]


def ev(gene: str = "SCN1A", *terms: str, **kwargs) -> VariantEvidence:
    return VariantEvidence(gene, frozenset(terms or {"missense_variant"}), **kwargs)


# The combining rules of Richards et al. 2015 expressed in Tavtigian et al. 2020 points.
@pytest.mark.parametrize(
    ("codes", "points", "expected"),
    [
        (["PVS1", "PS1"], 12, Classification.PATHOGENIC),
        (["PVS1", "PM1", "PM4"], 12, Classification.PATHOGENIC),
        (["PVS1", "PM1", "PP1"], 11, Classification.PATHOGENIC),
        (["PVS1", "PP1", "PP3"], 10, Classification.PATHOGENIC),
        (["PS1", "PM1", "PM4", "PM5"], 10, Classification.PATHOGENIC),
        (["PS1", "PM1", "PM4", "PP1", "PP3"], 10, Classification.PATHOGENIC),
        (["PS1", "PM1", "PP1", "PP2", "PP3", "PP4"], 10, Classification.PATHOGENIC),
        # Richards' "1 very strong + 1 moderate = likely pathogenic" scores 10 points: pathogenic.
        (["PVS1", "PM1"], 10, Classification.PATHOGENIC),
        (["PS1", "PM1"], 6, Classification.LIKELY_PATHOGENIC),
        (["PS1", "PM1", "PM4"], 8, Classification.LIKELY_PATHOGENIC),
        (["PS1", "PP1", "PP3"], 6, Classification.LIKELY_PATHOGENIC),
        (["PM1", "PM4", "PM5"], 6, Classification.LIKELY_PATHOGENIC),
        (["PM1", "PM4", "PP1", "PP3"], 6, Classification.LIKELY_PATHOGENIC),
        (["PM1", "PP1", "PP2", "PP3", "PP4"], 6, Classification.LIKELY_PATHOGENIC),
        (["PS1", "PS2"], 8, Classification.LIKELY_PATHOGENIC),
        (["PM1", "PP3"], 3, Classification.UNCERTAIN),
        (["PVS1", "BS1"], 4, Classification.UNCERTAIN),
        ([], 0, Classification.UNCERTAIN),
        (["BS1", "BP4"], -5, Classification.LIKELY_BENIGN),
        (["BP4", "BP7"], -2, Classification.LIKELY_BENIGN),
        (["BS1", "BS2"], -8, Classification.BENIGN),
        (["BA1"], -8, Classification.BENIGN),
    ],
)
def test_points_scheme(codes: list[str], points: int, expected: Classification) -> None:
    result = combine([criterion(code) for code in codes])
    assert result.points == points
    assert result.classification == expected


def test_ba1_is_stand_alone_and_boundaries() -> None:
    assert (
        combine([criterion("PVS1"), criterion("PS1"), criterion("BA1")]).classification
        == Classification.BENIGN
    )
    assert [classify_points(p) for p in (10, 9, 6, 5, 0, -1, -6, -7)] == [
        Classification.PATHOGENIC,
        Classification.LIKELY_PATHOGENIC,
        Classification.LIKELY_PATHOGENIC,
        Classification.UNCERTAIN,
        Classification.UNCERTAIN,
        Classification.LIKELY_BENIGN,
        Classification.LIKELY_BENIGN,
        Classification.BENIGN,
    ]
    assert combine([criterion("PM2", strength=Strength.SUPPORTING), criterion("PVS1")]).points == 9


def test_lof_mechanism_from_clingen_and_constraint(lof) -> None:
    assert lof["SCN1A"].clingen_hi_score == 3 and lof["SCN1A"].is_mechanism
    assert lof["CFTR"].clingen_hi_score == 30 and lof["CFTR"].is_mechanism
    # Constraint alone is not a disease mechanism (ClinGen SVI): ABL1 is LoF-intolerant, but neither ClinGen
    # nor ClinVar's P/LP null variants make loss of function its mechanism.
    assert lof["ABL1"].clingen_hi_score is None and lof["ABL1"].loeuf < 0.6
    assert lof["ABL1"].clinvar_null_plp < 2 and not lof["ABL1"].is_mechanism
    assert not lof["OR4F5"].is_mechanism
    # A gene without a ClinGen curation whose ClinVar P/LP null variants establish the mechanism.
    by_clinvar = [g for g, m in lof.items() if m.clingen_hi_score is None and m.clinvar_null_plp >= 2]
    assert len(by_clinvar) > 500 and all(lof[g].is_mechanism for g in by_clinvar)


def test_clinvar_null_counts_read_the_molecular_consequence(null_counts: dict[str, int]) -> None:
    # ISG15's first record is a P/LP splice acceptor variant (MC=SO:0001574|splice_acceptor_variant).
    assert null_counts["ISG15"] >= 1
    assert null_counts["CFTR"] > 100 and sum(null_counts.values()) > 20_000


def test_pvs1_and_its_strength(lof) -> None:
    assert met(evaluate_criteria(ev("SCN1A", "stop_gained"), lof_mechanisms=lof), "PVS1").strength == (
        Strength.VERY_STRONG
    )
    escape = evaluate_criteria(ev("SCN1A", "stop_gained", nmd_escape=True), lof_mechanisms=lof)
    assert met(escape, "PVS1").met and met(escape, "PVS1").strength == Strength.STRONG
    start = evaluate_criteria(ev("SCN1A", "start_lost"), lof_mechanisms=lof)
    assert met(start, "PVS1").strength == Strength.MODERATE
    no_mechanism = met(evaluate_criteria(ev("OR4F5", "frameshift_variant"), lof_mechanisms=lof), "PVS1")
    assert not no_mechanism.met and "LOEUF 1.83" in no_mechanism.reason
    assert not met(evaluate_criteria(ev("SCN1A", "missense_variant"), lof_mechanisms=lof), "PVS1").met


def test_pvs1_decision_tree(lof) -> None:
    def pvs1(*terms: str, **context) -> object:
        evidence = ev("SCN1A", *terms, null_context=NullVariantContext("NM_001165963.4", **context))
        return met(evaluate_criteria(evidence, lof_mechanisms=lof), "PVS1")

    assert pvs1("stop_gained", nmd_predicted=True, exon=5, exon_count=27).strength == Strength.VERY_STRONG
    # Escaping NMD: strength by how much of the protein is lost.
    assert pvs1("frameshift_variant", nmd_predicted=False, protein_removed=0.3).strength == Strength.STRONG
    small = pvs1("stop_gained", nmd_predicted=False, protein_removed=0.02)
    assert small.strength == Strength.MODERATE and "2%" in small.reason
    # Canonical splice sites: frame kept -> by length; frame shifted with NMD -> very strong.
    assert pvs1("splice_donor_variant", exon=3, frame_preserved=True, protein_removed=0.05,
                nmd_predicted=True).strength == Strength.MODERATE
    assert pvs1("splice_acceptor_variant", exon=3, frame_preserved=False, protein_removed=0.05,
                nmd_predicted=True).strength == Strength.VERY_STRONG
    assert pvs1("splice_acceptor_variant").strength == Strength.STRONG
    # An exon some protein-coding transcripts skip lowers the strength one level.
    alternative = pvs1("stop_gained", nmd_predicted=True, alternative_exon="exon absent from 4 of 6")
    assert alternative.strength == Strength.STRONG and "one level lower" in alternative.reason
    minority = pvs1("stop_gained", nmd_predicted=True, isoform_note="exon absent from 1 of 5")
    assert minority.strength == Strength.VERY_STRONG and "strength kept" in minority.reason


def test_vcep_gene_rules_replace_the_general_frequency_thresholds(refdata_dir: Path) -> None:
    rules = read_gene_rules(refdata_dir / "cancer/germline/cpsr/cpsr_acmg_thresholds_vcep.tsv")
    assert {"BRCA1", "BRCA2", "ATM", "TP53"} <= set(rules)
    # BRCA1 VCEP: BA1 above 0.001 (the general rule would need 0.05), BS1 supporting between 0.00002 and 0.0001.
    common = evaluate_criteria(ev("BRCA1", population_af=0.002, frequency_source_covered=True), gene_rules=rules)
    assert met(common, "BA1").met and "VCEP" in met(common, "BA1").reason
    low = evaluate_criteria(ev("BRCA1", population_af=0.00005, frequency_source_covered=True), gene_rules=rules)
    assert met(low, "BS1").met and met(low, "BS1").strength == Strength.SUPPORTING
    general = evaluate_criteria(ev("SCN1A", population_af=0.002, frequency_source_covered=True), gene_rules=rules)
    assert not met(general, "BA1").met


def test_vcep_rules_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "rules.tsv"
    bad.write_text("symbol\tcriterion\tvcep_version\tevidence_level\tproperty\tthresholds\tcomparator\n"
                   "BRCA1\tBA1\t1.2.0\tstand_alone\tgnomAD\tnot-a-number\tgt\n")
    with pytest.raises(AcmgInputError, match="rules.tsv:2"):
        read_gene_rules(bad)


def test_pm2_needs_a_frequency_source() -> None:
    unknown = met(evaluate_criteria(ev(population_af=None)), "PM2")
    assert not unknown.met and "not evaluable" in unknown.reason
    absent = met(evaluate_criteria(ev(frequency_source_covered=True)), "PM2")
    assert absent.met and absent.strength == Strength.SUPPORTING
    rare_recessive = evaluate_criteria(
        ev(population_af=0.00005, frequency_source_covered=True, inheritance="recessive")
    )
    assert met(rare_recessive, "PM2").met
    rare_dominant = evaluate_criteria(
        ev(population_af=0.00005, frequency_source_covered=True, inheritance="dominant")
    )
    assert not met(rare_dominant, "PM2").met
    labels = combine(evaluate_criteria(ev(frequency_source_covered=True))).met()
    assert "PM2_Supporting" in labels


def test_ba1_and_bs1() -> None:
    common = evaluate_criteria(ev(population_af=0.08, frequency_source_covered=True))
    assert met(common, "BA1").met and not met(common, "BS1").met
    assert combine(common).classification == Classification.BENIGN
    dominant = evaluate_criteria(
        ev(population_af=0.002, frequency_source_covered=True, inheritance="dominant")
    )
    assert met(dominant, "BS1").met
    recessive = evaluate_criteria(
        ev(population_af=0.002, frequency_source_covered=True, inheritance="recessive")
    )
    assert not met(recessive, "BS1").met
    with pytest.raises(AcmgInputError, match="population_af"):
        evaluate_criteria(ev(population_af=2.0, frequency_source_covered=True))


def test_parse_protein_change() -> None:
    change = parse_protein_change("NP_001341533.1:p.(Asn317Lys)")
    assert (change.ref, change.position, change.alt, change.is_missense) == ("N", 317, "K", True)
    assert parse_protein_change("p.R97C").alt == "C"
    assert not parse_protein_change("p.Arg97Ter").is_missense
    assert not parse_protein_change("p.Arg97=").is_missense
    assert parse_protein_change("p.Arg97GlyfsTer3") is None


def test_ps1_and_pm5_from_a_clinvar_index() -> None:
    index = ClinVarIndex()
    index.add(
        ClinVarEntry("chr3", 69951882, "C", "G", "MITF", "Pathogenic", parse_protein_change("p.Asn317Lys"))
    )
    # Another nucleotide change giving the same Asn317Lys (AAC->AAA vs AAC->AAG): PS1.
    same = evaluate_criteria(
        ev("MITF", chrom="chr3", pos=69951882, ref="C", alt="A", hgvs_p="p.(Asn317Lys)"), clinvar_index=index
    )
    assert met(same, "PS1").met and not met(same, "PM5").met
    other = evaluate_criteria(ev("MITF", hgvs_p="p.Asn317Ser"), clinvar_index=index)
    assert met(other, "PM5").met and not met(other, "PS1").met
    # Only pathogenic entries give the full strength; likely pathogenic one level lower; others nothing.
    likely = ClinVarIndex()
    likely.add(ClinVarEntry("chr3", 1, "C", "G", "MITF", "Likely_pathogenic", parse_protein_change("p.Asn317Lys")))
    assert met(evaluate_criteria(ev("MITF", hgvs_p="p.Asn317Lys"), clinvar_index=likely), "PS1").strength == (
        Strength.MODERATE
    )
    uncertain = ClinVarIndex()
    uncertain.add(ClinVarEntry("chr3", 1, "C", "G", "MITF", "Uncertain_significance",
                               parse_protein_change("p.Asn317Lys")))
    assert not met(evaluate_criteria(ev("MITF", hgvs_p="p.Asn317Lys"), clinvar_index=uncertain), "PS1").met
    # The ClinVar variant itself is not its own PS1 evidence.
    itself = evaluate_criteria(
        ev("MITF", chrom="3", pos=69951882, ref="C", alt="G", hgvs_p="p.Asn317Lys"), clinvar_index=index
    )
    assert not met(itself, "PS1").met
    no_index = met(evaluate_criteria(ev("MITF", hgvs_p="p.Asn317Lys")), "PS1")
    assert "no ClinVar index" in no_index.reason


def test_real_clinvar_index(clinvar: ClinVarIndex) -> None:
    assert len(clinvar.by_variant) > 70_000
    isg15 = clinvar.lookup("chr1", 1013983, "G", "A")
    assert isg15.gene == "ISG15" and isg15.significance == "Pathogenic/Likely_pathogenic"
    # The NCBI file carries no protein change, so the residue index is empty until a caller supplies them.
    assert not clinvar.by_residue


def test_clinvar_index_with_caller_protein_changes(refdata_dir: Path) -> None:
    def protein_change_of(chrom: str, pos: int, ref: str, alt: str, gene: str) -> str | None:
        return "p.Arg12Cys" if gene == "ISG15" else None

    index = read_clinvar_index(
        refdata_dir / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz",
        protein_change_of=protein_change_of,
    )
    assert index.at_residue("ISG15", 12)


def test_pp3_bp4_calibrated_thresholds(lof) -> None:
    def pp3_bp4(**scores):
        results = evaluate_criteria(ev("SCN1A", **scores), lof_mechanisms=lof)
        pp3, bp4 = met(results, "PP3"), met(results, "BP4")
        return (pp3.strength if pp3.met else None, bp4.strength if bp4.met else None)

    assert pp3_bp4(revel=0.95) == (Strength.STRONG, None)
    assert pp3_bp4(revel=0.80) == (Strength.MODERATE, None)
    assert pp3_bp4(revel=0.644) == (Strength.SUPPORTING, None)
    assert pp3_bp4(revel=0.5) == (None, None)
    assert pp3_bp4(revel=0.25) == (None, Strength.SUPPORTING)
    assert pp3_bp4(revel=0.1) == (None, Strength.MODERATE)
    assert pp3_bp4(revel=0.01) == (None, Strength.STRONG)
    assert pp3_bp4(revel=0.002) == (None, Strength.VERY_STRONG)
    assert pp3_bp4(cadd_phred=30.0) == (Strength.MODERATE, None)
    assert pp3_bp4(cadd_phred=26.0) == (Strength.SUPPORTING, None)
    assert pp3_bp4(cadd_phred=20.0) == (None, Strength.SUPPORTING)
    # A predicted splice effect outweighs a benign missense score.
    assert pp3_bp4(revel=0.1, spliceai_max=0.5) == (Strength.SUPPORTING, None)
    # PVS1 already counts a predicted null effect.
    null = evaluate_criteria(ev("SCN1A", "stop_gained", cadd_phred=40.0), lof_mechanisms=lof)
    assert met(null, "PVS1").met and not met(null, "PP3").met
    synonymous = evaluate_criteria(ev("SCN1A", "synonymous_variant", spliceai_max=0.02))
    assert met(synonymous, "BP7").met


def test_family_criteria() -> None:
    assert met(evaluate_criteria(ev(de_novo="confirmed")), "PS2").met
    assumed = evaluate_criteria(ev(de_novo="assumed"))
    assert met(assumed, "PM6").met and not met(assumed, "PS2").met
    trans = evaluate_criteria(
        ev("CFTR", inheritance="recessive", in_trans_with="Pathogenic", in_trans_phase_confirmed=True)
    )
    assert met(trans, "PM3").met and met(trans, "PM3").strength == Strength.MODERATE
    unphased = met(
        evaluate_criteria(ev("CFTR", inheritance="recessive", in_trans_with="Likely pathogenic")), "PM3"
    )
    assert unphased.met and unphased.strength == Strength.SUPPORTING
    assert not met(
        evaluate_criteria(ev("CFTR", inheritance="dominant", in_trans_with="Pathogenic")), "PM3"
    ).met
    assert [met(evaluate_criteria(ev(segregation_meioses=n)), "PP1").met for n in (2, 3)] == [False, True]
    assert met(evaluate_criteria(ev(segregation_meioses=4)), "PP1").strength == Strength.MODERATE
    assert met(evaluate_criteria(ev(segregation_meioses=6)), "PP1").strength == Strength.STRONG


def test_overrides_keep_the_automatic_result(lof) -> None:
    evidence = ev("SCN1A", "stop_gained", frequency_source_covered=True)
    automatic = classify(evidence, lof_mechanisms=lof)
    assert automatic.points == 9 and automatic.classification == Classification.LIKELY_PATHOGENIC
    overridden = classify(
        evidence,
        lof_mechanisms=lof,
        overrides=[
            Override("PS3", True, "RNA study shows exon skipping", by="scientist1"),
            Override(
                "PVS1", True, "last exon, region not critical", strength=Strength.MODERATE, by="scientist1"
            ),
        ],
    )
    ps3 = met(overridden.criteria, "PS3")
    assert ps3.source == "override" and ps3.automatic is None and ps3.overridden_by == "scientist1"
    pvs1 = met(overridden.criteria, "PVS1")
    assert pvs1.source == "override" and pvs1.automatic.strength == Strength.VERY_STRONG
    assert overridden.points == 4 + 2 + 1
    assert overridden.classification == Classification.LIKELY_PATHOGENIC
    assert "PVS1_Moderate" in overridden.met()
    with pytest.raises(AcmgInputError, match="needs a reason"):
        classify(evidence, overrides=[Override("PS3", True, " ")])
    with pytest.raises(AcmgInputError, match="PX9"):
        classify(evidence, overrides=[Override("PX9", True, "typo")])


def test_malformed_reference_files_name_the_line(tmp_path: Path) -> None:
    clingen = tmp_path / "clingen.tsv"
    clingen.write_text("#Gene Symbol\tGene ID\tHaploinsufficiency Score\nABC\t1\tthree\n")
    with pytest.raises(AcmgInputError, match=r"clingen.tsv:2"):
        read_lof_mechanisms(clingen)
    vcf = tmp_path / "clinvar.vcf"
    vcf.write_text("#CHROM\tPOS\n1\tten\t.\tA\tG\t.\t.\tCLNSIG=Pathogenic\n")
    with pytest.raises(AcmgInputError, match=r"clinvar.vcf:2: POS"):
        read_clinvar_index(vcf)
