"""Tests for HPO disease and gene annotations and the NCBI/symbol to HGNC gene id map."""

from __future__ import annotations

import csv
import gzip
from functools import lru_cache
from pathlib import Path

import pytest

from gmc.phenotype.annotations import HpoAnnotations, get_annotations, parse_frequency, parse_hpoa
from gmc.phenotype.gene_ids import GeneIdMap, load_gene_id_map
from gmc.phenotype.ontology import HpoFormatError, get_ontology

HEADER = "database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration\n"


@pytest.fixture(scope="module")
def annotations() -> HpoAnnotations:
    return get_annotations()


@lru_cache(maxsize=1)
def _raw_lines(path: Path) -> tuple[str, ...]:
    with gzip.open(path, "rt") as handle:
        return tuple(line for line in handle if not line.startswith("#"))


def _raw_rows(refdata_dir: Path, disease_id: str) -> list[dict[str, str]]:
    """The release file's rows of one disease, read with the csv module independently of gmc's parser."""
    lines = _raw_lines(refdata_dir / "hpo" / "hpo_2025-01-16_phenotype.hpoa.gz")
    wanted = [lines[0], *(line for line in lines if line.startswith(disease_id + "\t"))]
    return list(csv.DictReader(wanted, delimiter="\t"))


def test_release_and_disease_counts_match_the_manifest(annotations: HpoAnnotations) -> None:
    # MANIFEST.md: 12,687 diseases (8,359 OMIM, 4,281 ORPHA, 47 DECIPHER).
    assert annotations.release == "2025-01-16"
    assert len(annotations.diseases) == 12687
    assert sum(d.startswith("OMIM:") for d in annotations.diseases) == 8359
    assert sum(d.startswith("DECIPHER:") for d in annotations.diseases) == 47


def test_disease_rows_keep_frequency_and_references(annotations: HpoAnnotations, refdata_dir: Path) -> None:
    raw = _raw_rows(refdata_dir, "OMIM:619340")
    disease = annotations.disease("OMIM:619340")
    assert disease.name == "Developmental and epileptic encephalopathy 96"
    assert len(disease.annotations) == len(raw)
    first = disease.annotations[0]
    assert (first.hpo_id, first.frequency, first.frequency_value) == ("HP:0011097", "1/2", 0.5)
    assert first.references == ("PMID:31675180",)
    # Rows citing several papers keep each one.
    multi = next(r for r in _raw_rows(refdata_dir, "OMIM:101600") if ";" in r["reference"])
    annotated = annotations.disease("OMIM:101600").annotations
    assert any(set(a.references) == set(multi["reference"].split(";")) for a in annotated)


def test_not_rows_become_excluded_terms(annotations: HpoAnnotations, refdata_dir: Path) -> None:
    raw_not = {r["hpo_id"] for r in _raw_rows(refdata_dir, "ORPHA:1401") if r["qualifier"] == "NOT"}
    disease = annotations.disease("ORPHA:1401")
    assert disease.name == "CHAND syndrome"
    assert {"HP:0001270", "HP:0200041"} <= raw_not
    assert raw_not <= disease.excluded_terms
    assert not disease.excluded_terms & disease.observed_terms


def test_unknown_disease_and_gene_name_the_id(annotations: HpoAnnotations) -> None:
    with pytest.raises(KeyError, match="OMIM:000000"):
        annotations.disease("OMIM:000000")
    with pytest.raises(KeyError, match="HGNC:0"):
        annotations.gene("HGNC:0")


def test_fgfr2_is_keyed_by_hgnc_with_its_diseases(annotations: HpoAnnotations) -> None:
    fgfr2 = annotations.gene("HGNC:3689")
    assert (fgfr2.symbol, fgfr2.ncbi_gene_id) == ("FGFR2", "2263")
    assert {"OMIM:101600", "OMIM:123500", "OMIM:101200"} <= set(fgfr2.disease_ids)  # Pfeiffer, Crouzon, Apert
    assert "HGNC:3689" in annotations.genes_by_disease["OMIM:101600"]
    assert "Pfeiffer syndrome" in {d.name for d in annotations.gene_diseases("HGNC:3689")}
    # Every gene of genes_to_phenotype is either keyed by HGNC or listed as unmapped.
    assert len(annotations.genes) > 5000
    assert all(key.startswith("HGNC:") for key in annotations.genes)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("", None), ("1/2", 0.5), ("0/7", 0.0), ("50%", 0.5), ("HP:0040283", 0.17), ("HP:0040280", 1.0)],
)
def test_frequencies(raw: str, value: float | None) -> None:
    assert parse_frequency(raw, "x") == value


@pytest.mark.parametrize("bad", ["often", "3/2", "1/0", "120%"])
def test_bad_frequency_is_rejected(bad: str) -> None:
    with pytest.raises(HpoFormatError, match="f.hpoa:9"):
        parse_frequency(bad, "f.hpoa:9")


def test_malformed_hpoa_rows_name_the_line() -> None:
    ontology = get_ontology()
    good = "OMIM:1\tX\t\tHP:0001250\tPMID:1\tPCS\t\t\t\t\tP\tHPO:x\n"
    release, diseases = parse_hpoa(["#version: 2099\n", HEADER, good], ontology, source="t.hpoa")
    assert release == "2099" and diseases["OMIM:1"].observed_terms == {"HP:0001250"}
    with pytest.raises(HpoFormatError, match="t.hpoa:3: .*'HP:9999999'"):
        parse_hpoa(["#x\n", HEADER, good.replace("HP:0001250", "HP:9999999")], ontology, source="t.hpoa")
    with pytest.raises(HpoFormatError, match="t.hpoa:2: expected 12 columns"):
        parse_hpoa([HEADER, "OMIM:1\tX\n"], ontology, source="t.hpoa")
    with pytest.raises(HpoFormatError, match="t.hpoa:1: unexpected header"):
        parse_hpoa(["id\tname\n"], ontology, source="t.hpoa")
    # An obsolete id in an annotation moves to its replacement (Clitoromegaly -> Clitoral hypertrophy).
    _, moved = parse_hpoa([HEADER, good.replace("HP:0001250", "HP:0000057")], ontology, source="t.hpoa")
    assert moved["OMIM:1"].observed_terms == {"HP:0008665"}


def test_gene_id_map_uses_mane_then_aliases(refdata_dir: Path) -> None:
    genes = load_gene_id_map(
        refdata_dir / "grch38" / "MANE.GRCh38.v1.5.summary.txt.gz",
        refdata_dir / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz",
    )
    assert genes.hgnc_for_ncbi("2263") == genes.hgnc_for_symbol("fgfr2") == "HGNC:3689"
    assert genes.hgnc_for_symbol("BEK") == "HGNC:3689"  # a former name of FGFR2
    assert genes.hgnc_for_ncbi("NCBIGene:7157") == "HGNC:11998"  # TP53
    assert genes.hgnc_for_ncbi("999999999") is None
    assert genes.hgnc_for_ncbi("999999999", symbol="TP53") == "HGNC:11998"
    assert isinstance(genes, GeneIdMap)
