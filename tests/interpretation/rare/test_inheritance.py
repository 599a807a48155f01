"""Tests for segregation of variants with modes of inheritance, on hand-built and real pedigrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from cyvcf2 import VCF

from gmc.interpretation.rare.inheritance import (
    Call,
    Certainty,
    Individual,
    Mode,
    Pedigree,
    PedigreeError,
    Sex,
    VariantGenotypes,
    describe_mode,
    pedigree_from_rows,
    segregate,
    segregate_variant,
)

FATHER = Individual("F", Sex.MALE, False)
MOTHER = Individual("M", Sex.FEMALE, False)


def trio(
    child_sex: Sex = Sex.MALE, *, father_affected: bool = False, mother_affected: bool = False
) -> Pedigree:
    return Pedigree(
        "fam",
        (
            Individual("F", Sex.MALE, father_affected),
            Individual("M", Sex.FEMALE, mother_affected),
            Individual("P", child_sex, True, "F", "M"),
        ),
        "P",
    )


def variant(
    vid: str,
    p: int,
    f: int | None = None,
    m: int | None = None,
    *,
    chrom: str = "chr7",
    pos: int = 117_559_590,
    gene: str | None = "CFTR",
    extra: dict[str, int] | None = None,
) -> VariantGenotypes:
    calls = {"P": Call(p)}
    if f is not None:
        calls["F"] = Call(f)
    if m is not None:
        calls["M"] = Call(m)
    for member, gt in (extra or {}).items():
        calls[member] = Call(gt)
    return VariantGenotypes(vid, chrom, pos, calls, gene)


def modes(seg) -> dict[Mode, Certainty]:
    return {m.mode: m.certainty for m in seg.modes}


def test_de_novo_in_a_trio_is_consistent() -> None:
    seg = segregate_variant(trio(), variant("v", 1, 0, 0))
    found = modes(seg)
    assert found[Mode.DE_NOVO] == Certainty.CONSISTENT
    # A de novo heterozygote is also what a dominant disease looks like with unaffected parents.
    assert found[Mode.AD] == Certainty.CONSISTENT
    assert Mode.AR_HOM not in found


def test_inherited_from_unaffected_parent_is_neither_de_novo_nor_dominant() -> None:
    seg = segregate_variant(trio(), variant("v", 1, 1, 0))
    assert seg.mode_set() == frozenset()
    reasons = dict(seg.excluded)
    assert "father F carries it" in reasons[Mode.DE_NOVO]
    assert "unaffected F carries it" in reasons[Mode.AD]


def test_dominant_from_an_affected_father() -> None:
    seg = segregate_variant(trio(father_affected=True), variant("v", 1, 1, 0))
    assert modes(seg) == {Mode.AD: Certainty.CONSISTENT}


def test_dominant_excluded_when_an_affected_relative_lacks_it() -> None:
    seg = segregate_variant(trio(mother_affected=True), variant("v", 1, 0, 0))
    assert Mode.AD not in seg.mode_set()
    assert "affected M does not carry it" in dict(seg.excluded)[Mode.AD]


def test_recessive_homozygous_with_carrier_parents() -> None:
    seg = segregate_variant(trio(), variant("v", 2, 1, 1))
    assert modes(seg) == {Mode.AR_HOM: Certainty.CONSISTENT}
    # A hom-ref parent cannot have passed an allele on (uniparental disomy aside).
    seg = segregate_variant(trio(), variant("v", 2, 0, 1))
    assert Mode.AR_HOM not in seg.mode_set()
    assert "father F of P is hom-ref" in dict(seg.excluded)[Mode.AR_HOM]


def test_unaffected_sibling_homozygous_excludes_recessive() -> None:
    family = Pedigree("fam", (*trio().individuals, Individual("S", Sex.FEMALE, False, "F", "M")), "P")
    seg = segregate_variant(family, variant("v", 2, 1, 1, extra={"S": 2}))
    assert Mode.AR_HOM not in seg.mode_set()
    seg = segregate_variant(family, variant("v", 2, 1, 1, extra={"S": 1}))
    assert Mode.AR_HOM in seg.mode_set()


def test_compound_heterozygous_in_trans_is_consistent() -> None:
    result = segregate(trio(), [variant("a", 1, 1, 0, pos=100), variant("b", 1, 0, 1, pos=2_000)])
    comp = [m for m in result["a"].modes if m.mode == Mode.AR_COMP_HET]
    assert len(comp) == 1 and comp[0].certainty == Certainty.CONSISTENT and comp[0].partner_id == "b"
    assert any(m.mode == Mode.AR_COMP_HET and m.partner_id == "a" for m in result["b"].modes)


def test_compound_heterozygous_in_cis_is_excluded() -> None:
    result = segregate(trio(), [variant("a", 1, 1, 0, pos=100), variant("b", 1, 1, 0, pos=2_000)])
    assert all(Mode.AR_COMP_HET not in s.mode_set() for s in result.values())


def test_compound_heterozygous_needs_the_same_gene() -> None:
    result = segregate(trio(), [variant("a", 1, 1, 0, gene="CFTR"), variant("b", 1, 0, 1, gene="PAH")])
    assert all(Mode.AR_COMP_HET not in s.mode_set() for s in result.values())


def test_compound_heterozygous_with_one_parent_is_possible() -> None:
    family = Pedigree("fam", (FATHER, Individual("P", Sex.FEMALE, True, "F", None)), "P")
    result = segregate(family, [variant("a", 1, 1, pos=100), variant("b", 1, 0, pos=2_000)])
    assert {m.mode: m.certainty for m in result["a"].modes}[Mode.AR_COMP_HET] == Certainty.POSSIBLE
    # The one parent carrying both puts them in cis.
    result = segregate(family, [variant("a", 1, 1, pos=100), variant("b", 1, 1, pos=2_000)])
    assert Mode.AR_COMP_HET not in result["a"].mode_set()


def test_compound_heterozygous_excluded_when_unaffected_sibling_carries_both() -> None:
    family = Pedigree("fam", (*trio().individuals, Individual("S", Sex.MALE, False, "F", "M")), "P")
    result = segregate(
        family,
        [variant("a", 1, 1, 0, pos=100, extra={"S": 1}), variant("b", 1, 0, 1, pos=2_000, extra={"S": 1})],
    )
    assert Mode.AR_COMP_HET not in result["a"].mode_set()


def test_overlapping_alleles_are_not_a_compound_heterozygote() -> None:
    # The background exome's two CTU2 indels: a 6 bp deletion at 88714226 and an insertion anchored at 88714227.
    alone = Pedigree.singleton("P", Sex.FEMALE)
    deletion = VariantGenotypes("16:88714226:AGGTGTG:A", "chr16", 88_714_226, {"P": Call(1)}, "CTU2", 88_714_232)
    insertion = VariantGenotypes("16:88714227:G:GGTGT", "chr16", 88_714_227, {"P": Call(1)}, "CTU2", 88_714_227)
    result = segregate(alone, [deletion, insertion])
    assert Mode.AR_COMP_HET not in result[deletion.variant_id].mode_set()
    why = dict(result[deletion.variant_id].excluded)[Mode.AR_COMP_HET]
    assert "overlap" in why and insertion.variant_id in why


def test_alleles_within_a_read_length_are_likely_in_cis_unless_parents_phase_them() -> None:
    alone = Pedigree.singleton("P", Sex.FEMALE)
    result = segregate(alone, [variant("a", 1, pos=1_000), variant("b", 1, pos=1_100)])
    assert Mode.AR_COMP_HET not in result["a"].mode_set()
    assert "within a read length" in dict(result["a"].excluded)[Mode.AR_COMP_HET]
    # 150 bp and more apart: a possible pair.
    result = segregate(alone, [variant("a", 1, pos=1_000), variant("b", 1, pos=1_150)])
    assert Mode.AR_COMP_HET in result["a"].mode_set()
    # The parents put two close alleles in trans: kept, consistent.
    result = segregate(trio(), [variant("a", 1, 1, 0, pos=1_000), variant("b", 1, 0, 1, pos=1_020)])
    assert modes(result["a"])[Mode.AR_COMP_HET] == Certainty.CONSISTENT


def test_read_backed_phase_decides_the_pair() -> None:
    alone = Pedigree.singleton("P", Sex.FEMALE)

    def phased(vid: str, pos: int, haplotype: int) -> VariantGenotypes:
        return VariantGenotypes(vid, "chr7", pos, {"P": Call(1, 2, 900, haplotype)}, "CFTR")

    result = segregate(alone, [phased("a", 1_000, 0), phased("b", 1_040, 1)])
    assert modes(result["a"])[Mode.AR_COMP_HET] == Certainty.CONSISTENT
    result = segregate(alone, [phased("a", 1_000, 0), phased("b", 5_000, 0)])
    assert Mode.AR_COMP_HET not in result["a"].mode_set()
    assert "same haplotype" in dict(result["a"].excluded)[Mode.AR_COMP_HET]


def test_de_novo_is_only_said_with_both_parents_genotyped() -> None:
    alone = Pedigree.singleton("P", Sex.FEMALE)
    het = variant("v", 1)
    call = next(m for m in segregate_variant(alone, het).modes if m.mode == Mode.DE_NOVO)
    label, sentence = describe_mode(call, alone, het)
    assert label == "heterozygous_parents_not_tested" and "de novo" not in label
    assert sentence.startswith("heterozygous, parents not tested")
    one_parent = variant("v", 1, 0, -1)
    call = next(m for m in segregate_variant(trio(), one_parent).modes if m.mode == Mode.DE_NOVO)
    label, sentence = describe_mode(call, trio(), one_parent)
    assert label == "heterozygous_parents_not_tested"
    assert "father F is hom-ref" in sentence and "mother not tested" in sentence
    confirmed = variant("v", 1, 0, 0)
    call = next(m for m in segregate_variant(trio(), confirmed).modes if m.mode == Mode.DE_NOVO)
    assert describe_mode(call, trio(), confirmed) == ("de_novo", "de novo: father F is hom-ref; mother M is hom-ref")


def test_singleton_everything_is_possible() -> None:
    alone = Pedigree.singleton("P", Sex.FEMALE)
    result = segregate(alone, [variant("a", 1, pos=100), variant("b", 1, pos=2_000), variant("c", 2, pos=3_000)])
    assert modes(result["a"]) == {
        Mode.DE_NOVO: Certainty.POSSIBLE,
        Mode.AD: Certainty.POSSIBLE,
        Mode.AR_COMP_HET: Certainty.POSSIBLE,
    }
    assert modes(result["c"]) == {Mode.AR_HOM: Certainty.POSSIBLE}


def test_missing_parent_genotype_leaves_de_novo_possible() -> None:
    seg = segregate_variant(trio(), variant("v", 1, 0, -1))
    assert modes(seg)[Mode.DE_NOVO] == Certainty.POSSIBLE
    assert "mother not genotyped" in seg.modes[0].reasons


def test_x_linked_recessive_in_a_son_of_a_carrier_mother() -> None:
    seg = segregate_variant(trio(Sex.MALE), variant("v", 2, 0, 1, chrom="chrX", pos=31_000_000, gene="DMD"))
    found = modes(seg)
    assert found == {Mode.XLR: Certainty.CONSISTENT}
    assert "unaffected M carries it" in dict(seg.excluded)[Mode.XLD]
    assert Mode.AD not in dict(seg.excluded)


def test_x_linked_in_a_daughter() -> None:
    # A daughter needs two copies for XLR; her unaffected father has none, so XLR is out.
    seg = segregate_variant(trio(Sex.FEMALE), variant("v", 2, 0, 1, chrom="X", pos=31_000_000))
    assert Mode.XLR not in seg.mode_set()
    # XLD: affected mother and daughter heterozygous, unaffected father without it.
    seg = segregate_variant(
        trio(Sex.FEMALE, mother_affected=True), variant("v", 1, 0, 1, chrom="X", pos=31_000_000)
    )
    assert modes(seg) == {Mode.XLD: Certainty.CONSISTENT}


def test_x_de_novo_in_a_male_ignores_the_father() -> None:
    seg = segregate_variant(trio(Sex.MALE), variant("v", 2, -1, 0, chrom="chrX", pos=31_000_000))
    assert modes(seg)[Mode.DE_NOVO] == Certainty.CONSISTENT


def test_pseudoautosomal_region_segregates_like_an_autosome() -> None:
    seg = segregate_variant(trio(), variant("v", 2, 1, 1, chrom="chrX", pos=1_500_000, gene="SHOX"))
    assert Mode.AR_HOM in seg.mode_set()
    assert Mode.XLR not in seg.mode_set()


def test_mitochondrial_maternal_inheritance() -> None:
    seg = segregate_variant(trio(), variant("v", 1, 0, 1, chrom="chrM", pos=3243, gene="MT-TL1"))
    assert modes(seg) == {Mode.MT: Certainty.CONSISTENT}
    seg = segregate_variant(trio(), variant("v", 1, 0, 0, chrom="MT", pos=3243))
    assert modes(seg) == {Mode.DE_NOVO: Certainty.CONSISTENT}


def test_bad_input_names_the_culprit() -> None:
    with pytest.raises(PedigreeError, match="X9"):
        segregate_variant(trio(), VariantGenotypes("v", "1", 10, {"P": Call(1), "X9": Call(0)}))
    with pytest.raises(PedigreeError, match="genotype must be"):
        Call(3)
    with pytest.raises(PedigreeError, match="proband Q"):
        Pedigree("fam", (FATHER,), "Q")
    with pytest.raises(PedigreeError, match="listed twice"):
        Pedigree("fam", (FATHER, FATHER), "F")


@pytest.fixture(scope="module")
def giab(benchmarks_dir: Path) -> tuple[Pedigree, list[VariantGenotypes], list[tuple[int, int, int]]]:
    rows = []
    for line in (benchmarks_dir / "annotated" / "GIAB_AJ_trio.ped").read_text().splitlines():
        family, individual, father, mother, sex, phenotype = line.split()[:6]
        rows.append(
            {
                "family_id": family,
                "individual_id": individual,
                "father_id": father,
                "mother_id": mother,
                "sex": sex,
                "affected": phenotype,
            }
        )
    pedigree = pedigree_from_rows(rows)
    vcf = VCF(str(benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"))
    # cyvcf2 gt_types: 0 hom-ref, 1 het, 2 unknown, 3 hom-alt.
    convert = {0: 0, 1: 1, 2: -1, 3: 2}
    variants, raw = [], []
    for i, record in enumerate(vcf):
        types = tuple(int(t) for t in record.gt_types)
        raw.append(types)
        calls = {sample: Call(convert[t]) for sample, t in zip(vcf.samples, types, strict=True)}
        variants.append(VariantGenotypes(f"v{i}", record.CHROM, record.POS, calls, None))
    return pedigree, variants, raw


def test_real_giab_trio_pedigree(giab) -> None:
    pedigree, _, _ = giab
    assert pedigree.proband_id == "HG002"
    assert pedigree.proband.sex == Sex.MALE and pedigree.proband.affected is True
    assert (pedigree.proband.father_id, pedigree.proband.mother_id) == ("HG003", "HG004")
    # Phenotype 0 in the PED file means unknown, not unaffected.
    assert pedigree.get("HG003").affected is None


def test_real_giab_trio_de_novo_and_mendelian_errors(giab) -> None:
    pedigree, variants, raw = giab
    result = segregate(pedigree, variants, build="GRCh37")
    de_novo = {
        v.variant_id
        for v in variants
        if result[v.variant_id].mode_set() >= {Mode.DE_NOVO}
        and modes(result[v.variant_id])[Mode.DE_NOVO] == Certainty.CONSISTENT
    }
    expected = {v.variant_id for v, t in zip(variants, raw, strict=True) if t == (1, 0, 0)}
    assert len(expected) == 31
    assert de_novo == expected
    # A hom-alt son of a hom-ref parent is a Mendelian error, never autosomal recessive.
    for v, (son, father, mother) in zip(variants, raw, strict=True):
        if son == 3 and 0 in (father, mother):
            assert Mode.AR_HOM not in result[v.variant_id].mode_set()
        if son == 3 and father in (1, 3) and mother in (1, 3):
            assert Mode.AR_HOM in result[v.variant_id].mode_set()


def test_pedigree_from_the_ped_reader(benchmarks_dir: Path) -> None:
    from gmc.interpretation.rare.inheritance import pedigree_from_ped
    from gmc.phenotype.pedigree import read_ped

    ped = read_ped(benchmarks_dir / "annotated" / "scout_demo_643594_trio.ped")
    pedigree = pedigree_from_ped(ped)
    # The PED file: ADM1059A2 is the affected son of ADM1059A1 (unaffected father) and ADM1059A3.
    assert pedigree.proband_id == "ADM1059A2"
    assert pedigree.get("ADM1059A1").affected is False and pedigree.get("ADM1059A1").sex == Sex.MALE
    assert pedigree.get("ADM1059A3").sex == Sex.FEMALE
    calls = {"ADM1059A2": Call(1), "ADM1059A1": Call(0), "ADM1059A3": Call(0)}
    seg = segregate_variant(pedigree, VariantGenotypes("v", "1", 100, calls))
    assert {m.mode: m.certainty for m in seg.modes}[Mode.DE_NOVO] == Certainty.CONSISTENT
    with pytest.raises(PedigreeError, match="not in the PED file"):
        pedigree_from_ped(ped, proband_id="nobody")
