"""Tests for the rare-disease benchmark harness (`gmc bench rare`) on real shared cases."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmc.interpretation.rare.bench import _shuffled_features, summarise, variant_class

CASES = ("PMID_10851256_family_815", "PMID_11179005_Family_6")


def test_summarise_by_hand() -> None:
    # ranks 1, 2, 7, none: top-1 1/4, top-3 2/4, top-10 3/4; MRR (1 + 1/2 + 1/7 + 0) / 4.
    figures = summarise([1, 2, 7, None], [1.0, 3.0, 2.0])
    assert figures["top1"] == 0.25 and figures["top3"] == 0.5 and figures["top5"] == 0.5
    assert figures["top10"] == 0.75 and figures["not_ranked"] == 1
    assert figures["mrr"] == pytest.approx((1 + 0.5 + 1 / 7) / 4, abs=1e-4)
    assert figures["median_seconds"] == 2.0 and figures["max_seconds"] == 3.0


def test_variant_classes() -> None:
    assert variant_class("frameshift_variant") == "loss_of_function"
    assert variant_class("splice_region_variant&missense_variant") == "missense_inframe"
    assert variant_class("synonymous_variant") == "synonymous"
    assert variant_class("intron_variant") == "intronic_intergenic"


def test_shuffle_leaves_no_case_with_its_own_terms(tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"c{i}.json"
        path.write_text(json.dumps({"phenotypicFeatures": [{"type": {"id": f"HP:000000{i}"}}]}))
        paths.append(path)
    shuffled = _shuffled_features(paths, seed=3)
    assert all(shuffled[p] != json.loads(p.read_text())["phenotypicFeatures"] for p in paths)
    assert sorted(json.dumps(v) for v in shuffled.values()) == sorted(
        json.dumps(json.loads(p.read_text())["phenotypicFeatures"]) for p in paths
    )


def _publication_in_hpoa(refdata_dir: Path, disease_id: str, pmid: str) -> bool:
    """Reads phenotype.hpoa as text: is the PMID a reference of any row of the disease?"""
    with gzip.open(refdata_dir / "hpo/hpo_2025-01-16_phenotype.hpoa.gz", "rt") as handle:
        for line in handle:
            columns = line.split("\t")
            if columns[0] == disease_id and pmid in columns[4].split(";"):
                return True
    return False


def test_benchmark_end_to_end(benchmarks_dir: Path, refdata_dir: Path, tmp_path: Path) -> None:
    from gmc.cli import app

    cases = tmp_path / "cases"
    cases.mkdir()
    for name in CASES:
        (cases / f"{name}.json").symlink_to(benchmarks_dir / "rare/phenopackets" / f"{name}.json")
    out = tmp_path / "out.json"
    outcome = CliRunner().invoke(
        app,
        ["bench", "rare", "--cases", str(cases), "--background",
         str(benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"), "--json", str(out),
         "--work", str(tmp_path / "work"), "--fresh-processes", "1"],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "fresh processes (1 cases)" in outcome.output
    document = json.loads(out.read_text())
    for key in ("top1", "top3", "top5", "top10", "mrr", "n_cases", "median_seconds", "peak_rss_mb"):
        assert key in document
    assert document["n_cases"] == 2 and 0 < document["peak_rss_mb"] < 2048
    # One case run as users run it: its own `gmc interpret rare` process, measured from outside.
    fresh = document["fresh_process"]
    assert fresh["n_cases"] == 1 and fresh["median_wall_seconds"] > 0 and 0 < fresh["max_rss_mb"] < 2048
    assert 0 < fresh["median_cpu_seconds"]
    records = {r["case_id"]: r for r in document["cases"]}
    assert set(records) == set(CASES)
    mitf = records["PMID_10851256_family_815"]
    assert mitf["hgnc_ids"] == ["HGNC:7105"] and mitf["zygosity"] == "heterozygous"
    assert records["PMID_11179005_Family_6"]["zygosity"] == "hemizygous"
    for record in records.values():
        assert {"rank_clinvar", "rank_no_clinvar", "rank_shuffled_hpo"} <= set(record)
        disease = record["disease_id"]
        pmid = "PMID:" + record["case_id"].split("_")[1]
        assert record["publication_is_annotation_source"] == _publication_in_hpoa(refdata_dir, disease, pmid)
    ranks = [r["rank_clinvar"] for r in records.values()]
    assert document["top10"] == summarise(ranks)["top10"]
    breakdown = document["breakdown"]
    assert {"without_clinvar", "shuffled_hpo_control", "by_zygosity", "by_variant_class",
            "by_publication_is_annotation_source"} <= set(breakdown)
    # The prepared VCFs are removed; the blinded phenopackets hold only subject and features.
    blinded = json.loads((tmp_path / "work" / f"{CASES[0]}.phenopacket.json").read_text())
    assert "interpretations" not in blinded and "diseases" not in blinded
    assert not list((tmp_path / "work").glob("*.vcf.gz"))
