"""Tests for HPO disease and gene annotations and the NCBI/symbol to HGNC gene id map."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.phenotype.annotations import HpoAnnotations, cover_gene_diseases, get_annotations
from gmc.phenotype.gene_ids import GeneIdMap, load_gene_id_map


@pytest.fixture(scope="module")
def annotations() -> HpoAnnotations:
    return get_annotations()


def test_release_and_disease_counts_of_the_hpo3_release(annotations: HpoAnnotations) -> None:
    # hpo3 1.5 ships HPO 2025-11-24: 8,487 OMIM and 4,314 ORPHA diseases (2025-01-16 had 8,359 and 4,281).
    assert annotations.release == "2025-11-24"
    assert sum(d.startswith("OMIM:") for d in annotations.diseases) == 8487
    assert sum(d.startswith("ORPHA:") for d in annotations.diseases) == 4314
    # Inheritance terms keep their aspect, so genes' modes of inheritance are known.
    pfeiffer = annotations.disease("OMIM:101600")
    assert "HP:0000006" in pfeiffer.inheritance_terms and "HP:0000006" not in pfeiffer.observed_terms


def test_gene_disease_cover_by_hand() -> None:
    # G1 shows a, b, c: D1 (a, b) and D2 (c) explain it; D3 (a) is a subset already explained, D4 (d) is not its.
    genes = {"G1": frozenset("abc"), "G2": frozenset("ad")}
    diseases = {"D1": frozenset("ab"), "D2": frozenset("c"), "D3": frozenset("a"), "D4": frozenset("d")}
    links = cover_gene_diseases(genes, diseases)
    assert links["G1"] == ("D1", "D2")
    assert links["G2"] == ("D3", "D4")


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
    # Every annotated gene is either keyed by HGNC or listed as unmapped (mitochondrial and microRNA genes).
    assert len(annotations.genes) > 5000
    assert all(key.startswith("HGNC:") for key in annotations.genes)


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
