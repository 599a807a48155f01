"""Tests for ClinVar lookup, gene constraint and ClinGen dosage, and population frequencies."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gmc.genomics.annotation.clinvar import load_clinvar
from gmc.genomics.annotation.frequencies import FrequencyFileError, SitesFrequencies, first_frequency
from gmc.genomics.annotation.genes import load_gene_knowledge


def test_clinvar_index(refdata_dir: Path):
    path = refdata_dir / "grch38/clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    index = load_clinvar(str(path))
    with gzip.open(path, "rt") as handle:
        records = sum(1 for line in handle if not line.startswith("#"))
    assert records == 72_582 and len(index) >= records - 50  # same-allele duplicates collapse
    assert index.release == "20241215"
    # CFTR F508del (VCV 7105), a practice-guideline assertion; another ALT at the same site is not it
    f508 = index.lookup("7", 117559590, "ATCT", "A")
    assert f508 is not None and f508.variation_id == "7105" and f508.stars == 4
    assert "inframe_indel" in f508.molecular_consequences or "inframe_deletion" in f508.molecular_consequences
    assert index.lookup("7", 117559590, "ATCT", "AT") is None


def test_constraint_and_dosage(refdata_dir: Path):
    knowledge = load_gene_knowledge()
    with (refdata_dir / "constraint/gnomad_v4.1_constraint_mane_select.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Ensembl_gene_id"] == "ENSG00000012048")  # BRCA1
    brca1 = knowledge.constraint_of("ENSG00000012048.23")
    assert brca1 is not None and brca1.loeuf == float(row["Gnomad_oe_ci_upper"])
    assert brca1.pli == float(row["Gnomad_pLI_score"])
    # BRCA1 is a curated haploinsufficient gene; the recessive CFTR scores 30
    assert knowledge.dosage_of("BRCA1").haploinsufficiency == "3"
    assert knowledge.dosage_of("CFTR").haploinsufficiency == "30"


def test_sites_vcf_frequencies(refdata_dir: Path):
    sites = SitesFrequencies(
        refdata_dir / "frequencies/1000G_chr20_503samples_sites_AF_GRCh38.liftover.vcf.gz"
    )
    assert len(sites) == 24_990 and sites.build == "GRCh38"
    # first record: chr20 1019583 A>T AF=0.00198807 (2 of 1006 alleles)
    assert sites.lookup("20", 1019583, "A", "T") == pytest.approx(2 / 1006, rel=1e-4)
    assert sites.lookup("20", 1019583, "A", "G") is None
    af, source = first_frequency(("20", 1019583, "A", "T"), {"gnomAD_AF": None}, ("gnomAD_AF",), [sites])
    assert af == pytest.approx(2 / 1006, rel=1e-4) and source.startswith("1000G_chr20")
    af, source = first_frequency(("20", 1019583, "A", "T"), {"gnomAD_AF": 0.25}, ("gnomAD_AF",), [sites])
    assert (af, source) == (0.25, "INFO/gnomAD_AF")


def test_gnomad_fixture_and_parquet_sites(refdata_dir: Path, tmp_path: Path):
    genomes_x = refdata_dir / "frequencies/gnomad_fixtures/annonars_GRCh38_v4.0_gnomad-genomes.X.slim.vcf.gz"
    sites = SitesFrequencies(genomes_x, build="GRCh38")
    assert len(sites) > 4_000
    key, af = next(iter(sites.frequencies.items()))
    table = pa.table(
        {
            "chrom": ["chr" + key[0]],
            "pos": [key[1]],
            "ref": [key[2]],
            "alt": [key[3]],
            "AF": [af],
        }
    )
    pq.write_table(table, tmp_path / "sites.parquet")
    from_parquet = SitesFrequencies(tmp_path / "sites.parquet")
    assert from_parquet.lookup(*key) == af
    pq.write_table(table.drop(["AF"]), tmp_path / "bad.parquet")
    with pytest.raises(FrequencyFileError, match="bad.parquet: missing column"):
        SitesFrequencies(tmp_path / "bad.parquet")


def test_clinvar_lookup_left_aligns_indels_with_a_reference(grch38_sources, grch38_no_fasta):
    from gmc.genomics.annotation.annotate import annotate_allele
    from gmc.genomics.annotation.sequence import left_align

    # CFTR F508del written one base to the right (TCTT>T deletes CTT, the same allele as ATCT>A)
    assert left_align(grch38_sources.genome, "7", 117559591, "TCTT", "T") == (117559590, "ATCT", "A")
    assert annotate_allele("7", 117559591, "TCTT", "T", grch38_sources)["clinvar_id"] == "7105"
    assert annotate_allele("7", 117559591, "TCTT", "T", grch38_no_fasta)["clinvar_id"] is None
    # substitutions are never moved
    assert left_align(grch38_sources.genome, "7", 117559591, "T", "C") == (117559591, "T", "C")
    from gmc.genomics.annotation.annotate import annotate_alleles

    def column(*values):
        return np.array(values, dtype=object)

    table = annotate_alleles(
        column("7", "7"),
        np.array([117559591, 117559590]),
        column("TCTT", "ATCT"),
        column("T", "A"),
        grch38_sources,
    )
    assert table["clinvar_id"].to_pylist() == ["7105", "7105"]
