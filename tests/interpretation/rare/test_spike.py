"""Tests for spiking phenopacket causal variants into the real background exome."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from gmc.interpretation.rare.spike import Background, CausalVariant, SpikeError, load_background, spike_vcf

CASES = (
    "PMID_11047757_family_4_proband_III_1.json",  # hemizygous IKBKG insertion (chrX)
    "PMID_11381124_Family_B_proband.json",  # compound heterozygous COL6A2
    "PMID_11555793_sister_BA.json",  # homozygous
)


def causal_from_phenopacket(path: Path) -> list[CausalVariant]:
    data = json.loads(path.read_text())
    found = []
    for interpretation in data.get("interpretations", []):
        for genomic in interpretation["diagnosis"].get("genomicInterpretations", []):
            descriptor = genomic["variantInterpretation"]["variationDescriptor"]
            record = descriptor["vcfRecord"]
            found.append(
                CausalVariant(
                    record["chrom"],
                    int(record["pos"]),
                    record["ref"],
                    record["alt"],
                    descriptor["allelicState"]["label"],
                )
            )
    return found


def read_vcf(path: Path) -> tuple[list[str], list[list[str]]]:
    header, records = [], []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            line = line.rstrip("\n")
            (header if line.startswith("#") else records).append(
                line if line.startswith("#") else line.split("\t")
            )
    return header, records


@pytest.fixture(scope="module")
def background(benchmarks_dir: Path) -> Path:
    return benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"


@pytest.fixture(scope="module")
def loaded(background: Path) -> Background:
    return load_background(background)


@pytest.fixture(scope="module")
def causal(benchmarks_dir: Path) -> list[CausalVariant]:
    variants = []
    for name in CASES:
        variants += causal_from_phenopacket(benchmarks_dir / "rare" / "phenopackets" / name)
    return variants


@pytest.fixture(scope="module")
def spiked(background: Path, causal: list[CausalVariant], tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("spike") / "case.vcf.gz"
    report = spike_vcf(background, causal, out, seed=7)
    return out, report


def test_causal_variants_from_real_phenopackets(causal: list[CausalVariant]) -> None:
    assert [v.zygosity for v in causal] == ["hemizygous", "heterozygous", "heterozygous", "homozygous"]
    assert causal[0].chrom == "chrX"


def test_spiked_records_carry_the_stated_genotype(spiked, causal: list[CausalVariant]) -> None:
    out, report = spiked
    _, records = read_vcf(out)
    by_key = {(r[0], int(r[1]), r[3], r[4]): r for r in records}
    expected_gt = {"heterozygous": "0/1", "homozygous": "1/1", "hemizygous": "1/1"}
    for variant in causal:
        record = by_key[(variant.chrom, variant.pos, variant.ref, variant.alt)]
        assert record[9].split(":")[0] == expected_gt[variant.zygosity]
    assert report.spiked == 4
    # The background writes its own chrX hemizygous calls as diploid 1/1, so the hemizygote is too.
    hemizygous = by_key[(causal[0].chrom, causal[0].pos, causal[0].ref, causal[0].alt)]
    assert hemizygous[9].startswith("1/1:")


def test_nothing_but_allele_and_genotype_marks_a_spiked_record(spiked, background: Path, causal) -> None:
    out, report = spiked
    header, records = read_vcf(out)
    _, original = read_vcf(background)
    assert not any(line.startswith("##INFO") for line in header)
    assert any(line.startswith("##FORMAT=<ID=GT") for line in header)
    assert header[-1].startswith("#CHROM")
    assert all(r[2] == "." and r[7] == "." for r in records)
    assert len(records) == len(original) - report.replaced + report.spiked
    # Spiked QUAL/FILTER/FORMAT/sample values are copies of real background records.
    background_values = Counter((r[5], r[6], r[8], r[9]) for r in original)
    for variant in causal:
        record = next(
            r
            for r in records
            if (r[0], int(r[1]), r[3], r[4]) == (variant.chrom, variant.pos, variant.ref, variant.alt)
        )
        assert (record[5], record[6], record[8], record[9]) in background_values
        assert record[6] == "PASS"


def test_output_is_sorted_in_contig_order(spiked) -> None:
    out, _ = spiked
    header, records = read_vcf(out)
    contigs = [
        line.split("ID=")[1].split(",")[0].rstrip(">") for line in header if line.startswith("##contig")
    ]
    order = {c: i for i, c in enumerate(contigs)}
    keys = [(order[r[0]], int(r[1])) for r in records]
    assert keys == sorted(keys)


def test_same_seed_same_output_and_background_record_replaced(loaded: Background, tmp_path: Path) -> None:
    # chr1:943937 C>T is a heterozygous dbSNP record in the background; spike another allele there.
    variant = CausalVariant("1", 943937, "C", "G", "homozygous")
    first = spike_vcf(loaded, [variant], tmp_path / "a.vcf.gz", seed=1)
    spike_vcf(loaded, [variant], tmp_path / "b.vcf.gz", seed=1)
    assert gzip.open(tmp_path / "a.vcf.gz").read() == gzip.open(tmp_path / "b.vcf.gz").read()
    assert first.replaced == 1
    _, records = read_vcf(tmp_path / "a.vcf.gz")
    at_site = [r for r in records if r[0] == "chr1" and r[1] == "943937"]
    assert len(at_site) == 1 and at_site[0][4] == "G" and at_site[0][9].startswith("1/1:")


def test_bad_causal_variants_are_named(loaded: Background, tmp_path: Path) -> None:
    background = loaded
    with pytest.raises(SpikeError, match="zygosity 'mosaic'"):
        spike_vcf(background, [CausalVariant("chr1", 100, "A", "G", "mosaic")], tmp_path / "x.vcf.gz", seed=1)
    with pytest.raises(SpikeError, match="chr1:0"):
        spike_vcf(
            background, [CausalVariant("chr1", 0, "A", "G", "heterozygous")], tmp_path / "x.vcf.gz", seed=1
        )
    with pytest.raises(SpikeError, match="contig chrUn"):
        spike_vcf(
            background, [CausalVariant("chrUn", 5, "A", "G", "heterozygous")], tmp_path / "x.vcf.gz", seed=1
        )


def test_malformed_background_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vcf"
    bad.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\nchr1\t10\t.\tA\n"
    )
    with pytest.raises(SpikeError, match=r"bad.vcf:3: expected 10 columns"):
        spike_vcf(bad, [], tmp_path / "out.vcf.gz", seed=1)
    two = tmp_path / "two.vcf"
    two.write_text("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n")
    with pytest.raises(SpikeError, match="single-sample"):
        spike_vcf(two, [], tmp_path / "out.vcf.gz", seed=1)


def test_prepare_cases_blinds_the_phenopacket_and_keeps_the_answer_apart(
    benchmarks_dir: Path, background: Path, tmp_path: Path
) -> None:
    from gmc.interpretation.rare.spike import prepare_cases

    directory = tmp_path / "in"
    directory.mkdir()
    for name in CASES[:2]:
        (directory / name).write_text((benchmarks_dir / "rare" / "phenopackets" / name).read_text())
    prepared, skipped = prepare_cases(directory, background, tmp_path / "out", seed=3)
    assert skipped == []
    assert [c.case_id for c in prepared] == [name.removesuffix(".json") for name in CASES[:2]]
    for case, name in zip(prepared, CASES[:2], strict=True):
        blinded = json.loads(case.phenopacket_path.read_text())
        original = json.loads((directory / name).read_text())
        assert "interpretations" not in blinded and "diseases" not in blinded
        assert blinded["phenotypicFeatures"] == original["phenotypicFeatures"]
        assert blinded["subject"]["id"] == original["subject"]["id"]
        _, records = read_vcf(case.vcf_path)
        keys = {(r[0], int(r[1]), r[3], r[4]) for r in records}
        for variant in causal_from_phenopacket(directory / name):
            assert (variant.chrom, variant.pos, variant.ref, variant.alt) in keys
    truth = (tmp_path / "out" / "truth.tsv").read_text().splitlines()
    assert truth[0].startswith("case_id\tgene_symbol")
    assert {line.split("\t")[1] for line in truth[1:]} == {"IKBKG", "COL6A2"}
    assert len(truth) == 1 + 3
