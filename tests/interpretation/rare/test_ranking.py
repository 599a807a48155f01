"""Tests for gene ranking from segregating variants and phenotype scores."""

from __future__ import annotations

import math

import pytest

from gmc.interpretation.rare.inheritance import Call, Individual, Mode, Pedigree, Sex
from gmc.interpretation.rare.panels import custom_panel
from gmc.interpretation.rare.ranking import (
    UNKNOWN_EFFECT_FLOOR,
    CandidateVariant,
    RankingInputError,
    codon_change_odds,
    combined_score,
    frequency_score,
    pathogenicity_score,
    rank_genes,
)


def cand(
    vid: str,
    gene: str,
    *terms: str,
    gt: int = 1,
    pos: int = 1000,
    af: float | None = None,
    revel: float | None = None,
    hgnc: str | None = None,
    calls: dict[str, int] | None = None,
) -> CandidateVariant:
    genotype = {"P": Call(gt)} if calls is None else {k: Call(v) for k, v in calls.items()}
    return CandidateVariant(
        vid, "chr1", pos, "A", "G", gene, genotype, frozenset(terms), hgnc, None, None, af, revel
    )


def test_frequency_score_matches_exomiser_formula() -> None:
    assert frequency_score(None) == 1.0
    assert frequency_score(0.0) == 1.0
    assert frequency_score(0.01) == pytest.approx(1.13533 - 0.13533 * math.e)
    assert frequency_score(0.02) == pytest.approx(1.13533 - 0.13533 * math.e**2)
    assert frequency_score(0.03) == 0.0


def test_pathogenicity_score_by_consequence() -> None:
    assert pathogenicity_score(cand("a", "G", "frameshift_variant")) == 1.0
    assert pathogenicity_score(cand("a", "G", "missense_variant")) == 0.6
    assert pathogenicity_score(cand("a", "G", "missense_variant", revel=0.93)) == 0.93
    assert pathogenicity_score(cand("a", "G", "synonymous_variant")) == 0.1
    assert pathogenicity_score(cand("a", "G", "intron_variant")) == 0.0
    with pytest.raises(RankingInputError, match="REVEL 7"):
        pathogenicity_score(cand("a", "G", "missense_variant", revel=7))


def test_combined_score_is_a_logistic() -> None:
    assert combined_score(1.0, 1.0) == pytest.approx(1 / (1 + math.exp(-7)))
    assert combined_score(0.0, 0.0) == pytest.approx(1 / (1 + math.exp(7)))
    # The order is that of variant + 2.5 * phenotype: 0.1 more phenotype outweighs 0.2 more variant.
    assert combined_score(0.5, 0.4) > combined_score(0.7, 0.3)


def test_codon_change_odds_follow_the_genetic_code() -> None:
    # A pyrimidine swap at a third position never changes the amino acid (NNC and NNT code alike).
    assert codon_change_odds("c.6C>T") == (1.0, 0.0, 0.0)
    # Any change at a second position changes it; A>G there never makes a stop (the only NGN stop, TGA, would
    # come from TAA, itself a stop).
    assert codon_change_odds("c.5A>G") == (0.0, 1.0, 0.0)
    # C>T at a first position: 2 of the 16 sense CNN codons stay synonymous (CTA->TTA, CTG->TTG, both Leu),
    # 3 become stops (CAA->TAA, CAG->TAG, CGA->TGA).
    assert codon_change_odds("c.4C>T") == pytest.approx((2 / 16, 11 / 16, 3 / 16))
    assert codon_change_odds("c.-5C>T") is None and codon_change_odds("c.10+1G>A") is None
    assert codon_change_odds(None) is None


def test_coding_snv_of_unknown_effect_scores_by_codon_position() -> None:
    from dataclasses import replace

    coding = cand("a", "G", "coding_sequence_variant")
    assert pathogenicity_score(coding) == 0.5
    # Never scored as if synonymous: a third-position transition is nearly always synonymous by the code, but
    # without the reference codon the effect is not known, so it keeps the floor above a synonymous change.
    synonymous = pathogenicity_score(cand("s", "G", "synonymous_variant"))
    assert pathogenicity_score(replace(coding, hgvs_c="c.6C>T")) == pytest.approx(UNKNOWN_EFFECT_FLOOR)
    assert UNKNOWN_EFFECT_FLOOR > synonymous
    assert pathogenicity_score(replace(coding, hgvs_c="c.5A>G")) == pytest.approx(0.6)
    assert pathogenicity_score(replace(coding, hgvs_c="c.4C>T")) == pytest.approx(
        0.1 * 2 / 16 + 0.6 * 11 / 16 + 1.0 * 3 / 16
    )


def test_lone_clinvar_allele_in_a_recessive_gene_is_weighed_as_a_carrier() -> None:
    from dataclasses import replace

    from gmc.interpretation.rare.panels import ModeOfInheritance as Moi

    allele = replace(cand("a", "G", "missense_variant"), clinvar_significance="Pathogenic", loeuf=1.9)
    both = {"G": frozenset({Moi.AD, Moi.AR})}
    dominant = {"G": frozenset({Moi.AD})}
    ranked_both = rank_genes([allele], Pedigree.singleton("P"), {"G": 0.5}, gene_inheritance=both)
    ranked_dominant = rank_genes([allele], Pedigree.singleton("P"), {"G": 0.5}, gene_inheritance=dominant)
    # LOEUF 1.9 tolerates losing a copy: factor 0.3 when a recessive disease explains a lone allele as a carrier's.
    assert ranked_both[0].variant_score == pytest.approx(0.3)
    assert ranked_dominant[0].variant_score == pytest.approx(1.0)


def test_singleton_ranking_by_hand() -> None:
    variants = [
        cand("a", "GENEA", "stop_gained", pos=100),
        cand("b", "GENEB", "missense_variant", pos=200),
        cand("c1", "GENEC", "missense_variant", pos=300),
        cand("c2", "GENEC", "missense_variant", pos=310),
        cand("d", "GENED", "synonymous_variant", pos=400),
        cand("e", "GENEE", "stop_gained", pos=500, af=0.05),
    ]
    phenotype = {"GENEA": 0.9, "GENEB": 0.2, "GENEC": 0.9, "GENED": 1.0, "GENEE": 1.0}
    ranked = rank_genes(variants, Pedigree.singleton("P", Sex.FEMALE), phenotype)
    # Hand-computed: A sigmoid(-7+4+9), C sigmoid(-7+2.4+9), D sigmoid(-7+0.4+10), B sigmoid(-7+2.4+2).
    assert [r.gene_symbol for r in ranked] == ["GENEA", "GENEC", "GENED", "GENEB"]
    assert ranked[0].combined_score == pytest.approx(1 / (1 + math.exp(-6)), abs=1e-6)
    assert ranked[1].mode in {Mode.AR_COMP_HET, Mode.AD, Mode.DE_NOVO}
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    # 5 % is above every mode's frequency cap, so GENEE never ranks.
    assert "GENEE" not in {r.gene_symbol for r in ranked}


def test_compound_heterozygous_pair_is_scored_together() -> None:
    variants = [
        cand("x", "GENEX", "frameshift_variant", pos=10),
        cand("y", "GENEX", "missense_variant", pos=2_000),
    ]
    ranked = rank_genes(variants, Pedigree.singleton("P"), {"GENEX": 0.5})
    # Best option: the frameshift alone (1.0) beats the pair's mean (0.8).
    assert ranked[0].variant_score == 1.0
    # With only recessive modes left (AF too high for dominant ones), the pair counts.
    variants = [
        cand("x", "GENEX", "frameshift_variant", pos=10, af=0.005),
        cand("y", "GENEX", "missense_variant", pos=2_000, af=0.005),
    ]
    ranked = rank_genes(variants, Pedigree.singleton("P"), {"GENEX": 0.5})
    assert ranked[0].mode == Mode.AR_COMP_HET
    assert ranked[0].variant_ids == ("x", "y")
    expected = (1.0 + 0.6) / 2 * frequency_score(0.005)
    assert ranked[0].variant_score == pytest.approx(expected, abs=1e-6)


def test_trio_excludes_inherited_variants_and_uses_hgnc_scores() -> None:
    family = Pedigree(
        "fam",
        (
            Individual("F", Sex.MALE, False),
            Individual("M", Sex.FEMALE, False),
            Individual("P", Sex.MALE, True, "F", "M"),
        ),
        "P",
    )
    variants = [
        cand("inherited", "GENEA", "stop_gained", pos=100, calls={"P": 1, "F": 1, "M": 0}),
        cand("denovo", "GENEB", "missense_variant", pos=200, calls={"P": 1, "F": 0, "M": 0}, hgnc="HGNC:2"),
    ]
    panel = custom_panel("Request", [("GENEB", "AD")])
    ranked = rank_genes(variants, family, {"HGNC:2": 0.7, "GENEB": 0.0, "GENEA": 1.0}, panels=[panel])
    assert [r.gene_symbol for r in ranked] == ["GENEB"]
    assert ranked[0].phenotype_score == 0.7
    # A confirmed de novo in a green gene is tier 1.
    assert ranked[0].tier == 1


def test_duplicate_variant_ids_are_refused() -> None:
    with pytest.raises(RankingInputError, match="appears twice"):
        rank_genes(
            [cand("a", "G", "stop_gained"), cand("a", "G", "stop_gained")], Pedigree.singleton("P"), {}
        )


def test_end_to_end_spiked_case_ranks_the_causal_gene_first(benchmarks_dir, tmp_path) -> None:
    """A real phenopacket's MITF variant spiked into the real background exome comes out on top."""
    from pathlib import Path

    from gmc.interpretation.rare.files import analyse_case
    from gmc.interpretation.rare.spike import load_background, prepare_case

    background = load_background(
        benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    )
    case = prepare_case(
        benchmarks_dir / "rare" / "phenopackets" / "PMID_10851256_family_815.json",
        background,
        tmp_path,
        seed=11,
    )
    result = analyse_case(Path(case.phenopacket_path), case.vcf_path, limit=10)
    assert [v.gene_symbol for v in case.causal] == ["MITF"]
    assert result["genes"][0]["gene"] == "MITF"
    assert result["genes"][0]["hgnc_id"] == "HGNC:7105"
    assert result["case"]["variants_weighed"] > 1000


def test_gene_inheritance_restricts_modes() -> None:
    from gmc.interpretation.rare.panels import ModeOfInheritance
    from gmc.interpretation.rare.ranking import modes_from_hpo_inheritance

    # HP:0000007 is "Autosomal recessive inheritance", HP:0001419 "X-linked recessive inheritance".
    assert modes_from_hpo_inheritance(["HP:0000007", "HP:0003829"]) == {ModeOfInheritance.AR}
    assert modes_from_hpo_inheritance(["HP:0001419"]) == {ModeOfInheritance.XLR}
    carrier = [cand("het", "PMM2", "stop_gained")]
    recessive = {"PMM2": frozenset({ModeOfInheritance.AR})}
    # A lone heterozygous carrier in a recessive gene counts only at the mismatch weight (0 excludes it);
    # without the knowledge it counts fully.
    weighed = rank_genes(carrier, Pedigree.singleton("P"), {"PMM2": 1.0}, gene_inheritance=recessive)
    assert weighed[0].variant_score == pytest.approx(0.4)
    assert rank_genes(
        carrier, Pedigree.singleton("P"), {"PMM2": 1.0}, gene_inheritance=recessive, mode_mismatch_weight=0
    ) == []
    assert rank_genes(carrier, Pedigree.singleton("P"), {"PMM2": 1.0})[0].mode in {Mode.AD, Mode.DE_NOVO}
    assert rank_genes(carrier, Pedigree.singleton("P"), {"PMM2": 1.0})[0].variant_score == 1.0


def test_the_first_genes_are_those_of_the_full_ranking(benchmarks_dir, tmp_path) -> None:
    """rank_genes with a limit weighs genes by the most they could score and stops early; the genes it returns are
    exactly the head of the full ranking, on a real spiked exome, gene- and disease-level, with a panel."""
    from pathlib import Path

    from gmc.interpretation.rare.files import (
        PATIENT_WEIGHT,
        annotation_sources,
        gene_diseases,
        gene_phenotype_scores,
        load_panels,
        phenotype_evidence,
        read_candidates,
        read_case_phenotype,
    )
    from gmc.interpretation.rare.ranking import hpo_gene_inheritance
    from gmc.interpretation.rare.spike import load_background, prepare_case
    from gmc.phenotype.similarity import get_similarity_index

    background = load_background(benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
    case = prepare_case(benchmarks_dir / "rare" / "phenopackets" / "PMID_23364397_Patient_2.json", background,
                        tmp_path, seed=3)
    phenotype = read_case_phenotype(Path(case.phenopacket_path))
    candidates, samples, _ = read_candidates(case.vcf_path, annotation_sources("GRCh38"), build="GRCh38")
    pedigree = Pedigree.singleton(samples[0], phenotype.sex)
    _, phenotype_scores = gene_phenotype_scores(phenotype.observed, phenotype.excluded)
    diseases = get_similarity_index().score_diseases(phenotype.observed, phenotype.excluded, None, True,
                                                          PATIENT_WEIGHT)
    evidence = phenotype_evidence({d.disease_id: d.score for d in diseases})
    disease_phenotypes = {gene: [(evidence.get(did, 0.0), modes, did) for did, modes in found]
                          for gene, found in gene_diseases().items()}
    common = {"panels": load_panels(["112"]), "gene_inheritance": hpo_gene_inheritance()}
    for extra in ({}, {"disease_phenotypes": disease_phenotypes}):
        full = rank_genes(candidates, pedigree, phenotype_scores, **common, **extra)
        assert len(full) > 1000
        for limit in (1, 10, 100):
            assert rank_genes(candidates, pedigree, phenotype_scores, limit=limit, **common, **extra) == full[:limit]
