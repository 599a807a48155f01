"""Tests for reading, validating and writing GA4GH phenopackets v2 on the 500 phenopacket-store cases."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from phenopackets import Phenopacket

from gmc.phenotype.phenopackets import (
    MetaData,
    OntologyTerm,
    PhenopacketData,
    PhenopacketError,
    PhenotypicFeature,
    Subject,
    TimeElement,
    causal_variants,
    excluded_term_ids,
    hpo_resource,
    observed_term_ids,
    phenopacket_to_json,
    read_phenopacket,
    subject_and_features_only,
    write_phenopacket,
)

MITF_CASE = "PMID_10851256_family_815.json"
ADA2_COMPOUND_HET_CASE = "PMID_28830446_Patient_2.json"


@pytest.fixture(scope="module")
def phenopacket_dir(benchmarks_dir: Path) -> Path:
    return benchmarks_dir / "rare" / "phenopackets"


@pytest.fixture(scope="module")
def manifest(benchmarks_dir: Path) -> dict[str, dict[str, str]]:
    with open(benchmarks_dir / "rare" / "phenopackets_manifest.tsv", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def all_cases(phenopacket_dir: Path) -> dict[str, PhenopacketData]:
    return {path.name: read_phenopacket(path) for path in sorted(phenopacket_dir.glob("*.json"))}


@pytest.fixture
def mitf_document(phenopacket_dir: Path) -> dict:
    return json.loads((phenopacket_dir / MITF_CASE).read_text())


def test_all_500_cases_parse_and_match_the_manifest_counts(all_cases, manifest) -> None:
    assert len(all_cases) == 500
    assert set(all_cases) == set(manifest)
    for name, data in all_cases.items():
        row = manifest[name]
        observed = sum(not f.excluded for f in data.phenotypic_features)
        excluded = sum(f.excluded for f in data.phenotypic_features)
        assert (observed, excluded) == (int(row["n_observed_hpo"]), int(row["n_excluded_hpo"])), name


def test_causal_variants_match_the_manifest(all_cases, manifest) -> None:
    for name, data in all_cases.items():
        expected = sorted(manifest[name]["variants(chrom:pos:ref:alt:zygosity)"].split(";"))
        got = sorted(f"{v.chrom}:{v.pos}:{v.ref}:{v.alt}:{v.zygosity}" for v in causal_variants(data))
        assert got == expected, name
        assert {v.gene_symbol for v in causal_variants(data)} == {manifest[name]["genes"]}, name


def test_reexport_reads_back_equal_and_equals_the_original_protobuf(all_cases, phenopacket_dir: Path) -> None:
    for name, data in all_cases.items():
        written = write_phenopacket(data)
        assert read_phenopacket(written) == data, name
        original = json_format.Parse((phenopacket_dir / name).read_text(), Phenopacket())
        assert json_format.ParseDict(written, Phenopacket()) == original, name


def test_mitf_case_fields(all_cases) -> None:
    data = all_cases[MITF_CASE]
    assert data.id == "PMID_10851256_family_815"
    assert data.subject is not None and data.subject.sex == "UNKNOWN_SEX"
    features = {f.type.id: f for f in data.phenotypic_features}
    assert features["HP:0000407"].onset == TimeElement(
        ontology_class=OntologyTerm("HP:0003577", "Congenital onset")
    )
    assert features["HP:0000639"].excluded and features["HP:0000639"].type.label == "Nystagmus"
    assert data.diseases[0].term.id == "OMIM:103500"
    assert data.interpretations[0].progress_status == "SOLVED"
    (variant,) = causal_variants(data)
    # MITF c.951C>G (p.Asn317Lys), NC_000003.12:g.69951882C>G in the source publication's HGVS.
    assert (variant.gene_symbol, variant.hgnc_id) == ("MITF", "HGNC:7105")
    assert (variant.genome_assembly, variant.chrom, variant.pos, variant.ref, variant.alt) == (
        "hg38",
        "chr3",
        69951882,
        "C",
        "G",
    )
    assert variant.zygosity == "heterozygous" and not variant.compound_heterozygous
    assert variant.interpretation_status == "CAUSATIVE"
    assert "NC_000003.12:g.69951882C>G" in variant.hgvs
    assert data.meta_data is not None
    assert {r.namespace_prefix: r.version for r in data.meta_data.resources}["HP"] == "2025-10-22"


def test_two_heterozygous_variants_in_one_gene_are_compound_heterozygous(all_cases) -> None:
    variants = causal_variants(all_cases[ADA2_COMPOUND_HET_CASE])
    assert len(variants) == 2
    assert all(v.gene_symbol == "ADA2" and v.zygosity == "heterozygous" for v in variants)
    assert all(v.compound_heterozygous for v in variants)


def test_homozygous_and_hemizygous_are_never_compound(all_cases) -> None:
    for data in all_cases.values():
        for variant in causal_variants(data):
            if variant.zygosity in ("homozygous", "hemizygous"):
                assert not variant.compound_heterozygous


def test_invalid_hpo_id_names_file_and_element_path(tmp_path: Path, mitf_document: dict) -> None:
    mitf_document["phenotypicFeatures"][2]["type"]["id"] = "HP:12"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mitf_document))
    with pytest.raises(PhenopacketError) as caught:
        read_phenopacket(path)
    assert str(path) in str(caught.value)
    assert "phenotypicFeatures[2].type.id: 'HP:12' is not a valid HPO id" in str(caught.value)


def test_unknown_field_fails_the_schema(mitf_document: dict) -> None:
    mitf_document["phenotypicFeatures"][1]["type"]["identifier"] = "HP:0002227"
    with pytest.raises(PhenopacketError, match=r"phenotypicFeatures\[1\]\.type: unknown field 'identifier'"):
        read_phenopacket(mitf_document)
    top = {"id": "x", "colour": "blue"}
    with pytest.raises(PhenopacketError, match="unknown field 'colour'"):
        read_phenopacket(top)


def test_bad_enum_and_bad_alleles_are_reported(mitf_document: dict) -> None:
    bad_sex = copy.deepcopy(mitf_document)
    bad_sex["subject"]["sex"] = "M"
    with pytest.raises(PhenopacketError, match="subject.sex: Invalid enum value M"):
        read_phenopacket(bad_sex)
    vcf = mitf_document["interpretations"][0]["diagnosis"]["genomicInterpretations"][0][
        "variantInterpretation"
    ]["variationDescriptor"]["vcfRecord"]
    vcf["ref"] = "Q"
    vcf["pos"] = 0
    with pytest.raises(PhenopacketError) as caught:
        read_phenopacket(mitf_document)
    paths = [path for path, _ in caught.value.problems]
    prefix = (
        "interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation.variationDescriptor"
    )
    assert f"{prefix}.vcfRecord.ref" in paths and f"{prefix}.vcfRecord.pos" in paths


def test_bad_age_and_missing_metadata(mitf_document: dict) -> None:
    mitf_document["phenotypicFeatures"][0]["onset"] = {"age": {"iso8601duration": "3 years"}}
    del mitf_document["metaData"]
    with pytest.raises(PhenopacketError) as caught:
        read_phenopacket(mitf_document)
    assert (
        "phenotypicFeatures[0].onset.age.iso8601duration",
        "'3 years' is not an ISO 8601 duration such as P3Y6M",
    ) in (caught.value.problems)
    assert any(path == "metaData" for path, _ in caught.value.problems)


def test_invalid_json_names_line() -> None:
    with pytest.raises(PhenopacketError, match="line 2 column"):
        read_phenopacket('{\n  "id": "x",,\n}')


def test_known_term_callable_rejects_terms_outside_the_release(phenopacket_dir: Path) -> None:
    with pytest.raises(
        PhenopacketError, match=r"phenotypicFeatures\[3\]\.type\.id: 'HP:0000635' is not a term"
    ):
        read_phenopacket(phenopacket_dir / MITF_CASE, known_term=lambda term_id: term_id != "HP:0000635")
    assert read_phenopacket(phenopacket_dir / MITF_CASE, known_term=lambda term_id: True).id


def test_write_new_phenopacket_with_caller_resources() -> None:
    data = PhenopacketData(
        id="gmc-case-1",
        subject=Subject(id="P1", sex="FEMALE", time_at_last_encounter=TimeElement(age="P4Y2M")),
        phenotypic_features=(
            PhenotypicFeature(
                type=OntologyTerm("HP:0001250", "Seizure"), onset=TimeElement(gestational_age=(33, 0))
            ),
            PhenotypicFeature(type=OntologyTerm("HP:0001263", "Global developmental delay"), excluded=True),
        ),
    )
    text = phenopacket_to_json(data, resources=[hpo_resource("2025-01-16")], created="2026-01-02T03:04:05Z")
    message = json_format.Parse(text, Phenopacket())  # the official parser accepts it
    assert message.meta_data.resources[0].version == "2025-01-16"
    assert message.meta_data.phenopacket_schema_version == "2.0.2"
    assert [f.excluded for f in message.phenotypic_features] == [False, True]
    back = read_phenopacket(text)
    assert back.phenotypic_features == data.phenotypic_features
    assert back.subject == data.subject


def test_caller_resources_replace_same_id(all_cases) -> None:
    written = write_phenopacket(all_cases[MITF_CASE], resources=[hpo_resource("2025-01-16")])
    versions = {r["id"]: r["version"] for r in written["metaData"]["resources"]}
    assert versions["hp"] == "2025-01-16"
    assert "geno" in versions


def test_write_refuses_invalid_data() -> None:
    data = PhenopacketData(
        id="x",
        phenotypic_features=(PhenotypicFeature(type=OntologyTerm("HP:123", "bad")),),
        meta_data=MetaData(created="2026-01-01T00:00:00Z", created_by="gmc"),
    )
    with pytest.raises(PhenopacketError, match=r"phenotypicFeatures\[0\]\.type\.id"):
        write_phenopacket(data)


def test_subject_and_features_only(all_cases) -> None:
    data = all_cases[ADA2_COMPOUND_HET_CASE]
    blinded = subject_and_features_only(data)
    assert blinded.subject == data.subject
    assert blinded.phenotypic_features == data.phenotypic_features
    assert not blinded.interpretations and not blinded.diseases and not blinded.measurements
    assert causal_variants(blinded) == []
    written = write_phenopacket(blinded)
    assert "interpretations" not in written and "PMID" not in json.dumps(written["metaData"])


def test_biosamples_and_medical_actions_survive_reexport(mitf_document: dict) -> None:
    mitf_document["biosamples"] = [
        {
            "id": "b1",
            "individualId": "family 815",
            "sampledTissue": {"id": "UBERON:0000178", "label": "blood"},
        }
    ]
    mitf_document["medicalActions"] = [
        {"procedure": {"code": {"id": "NCIT:C28743", "label": "Punch Biopsy"}}}
    ]
    data = read_phenopacket(mitf_document)
    assert data.biosamples[0]["sampledTissue"]["id"] == "UBERON:0000178"
    written = write_phenopacket(data)
    assert read_phenopacket(written) == data
    assert json_format.ParseDict(written, Phenopacket()) == json_format.ParseDict(
        mitf_document, Phenopacket()
    )


def test_observed_and_excluded_term_ids(all_cases) -> None:
    data = all_cases[MITF_CASE]
    assert excluded_term_ids(data) == ["HP:0001100", "HP:0000639"]
    assert observed_term_ids(data) == [
        "HP:0000407",
        "HP:0002227",
        "HP:0002226",
        "HP:0000635",
        "HP:0007894",
        "HP:0007513",
    ]
