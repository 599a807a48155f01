"""Tests for in-silico score files (PP3/BP4): setting, build check, look-ups and the ACMG criteria they feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare.acmg import Strength, VariantEvidence, evaluate_criteria
from gmc.interpretation.rare.scores import ScoreFileError, parse_score_setting

HEADER = (
    "##fileformat=VCFv4.2\n##reference=GRCh38\n"
    '##INFO=<ID=REVEL,Number=A,Type=Float,Description="REVEL">\n'
    '##INFO=<ID=CADD_PHRED,Number=A,Type=Float,Description="CADD PHRED">\n'
    '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def sites(tmp_path: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def test_scores_are_looked_up_per_allele(tmp_path: Path) -> None:
    # SCO2's two alleles of the compound heterozygous benchmark case, with scores written for this test.
    revel = sites(tmp_path, "revel.vcf", ["22\t50523715\t.\tG\tT,C\t.\t.\tREVEL=0.91,0.2",
                                          "22\t50523933\t.\tA\tG\t.\t.\tREVEL=0.35"])
    splice = sites(tmp_path, "sai.vcf", ["chr22\t50523933\t.\tA\tG\t.\t.\tSpliceAI=G|SCO2|0.01|0.30|0.00|0.02|1|2|3|4"])
    files = parse_score_setting(f"revel:{revel}, spliceai:{splice}", "GRCh38")
    found = files.lookup([("chr22", 50523715, "G", "T"), ("22", 50523933, "A", "G"), ("1", 5, "A", "C")])
    assert found[("22", 50523715, "G", "T")].revel == pytest.approx(0.91)
    second = found[("22", 50523933, "A", "G")]
    assert second.revel == pytest.approx(0.35) and second.spliceai_max == pytest.approx(0.30)
    assert ("1", 5, "A", "C") not in found
    assert "revel: revel.vcf" in files.describe()
    # What PP3 makes of them (Pejaver 2022 REVEL thresholds; SpliceAI >= 0.2).
    pp3 = next(c for c in evaluate_criteria(VariantEvidence("SCO2", frozenset({"missense_variant"}), revel=0.91))
               if c.code == "PP3")
    assert pp3.met and pp3.strength == Strength.MODERATE


def test_a_score_file_for_another_build_is_refused(tmp_path: Path, benchmarks_dir: Path) -> None:
    grch37 = sites(tmp_path, "revel37.vcf", ["22\t50523715\t.\tG\tT\t.\t.\tREVEL=0.9"],
                   HEADER.replace("##reference=GRCh38", "##reference=file:///refs/hs37d5.fa (GRCh37)"))
    with pytest.raises(ScoreFileError, match="revel37.vcf:2.*GRCh37"):
        parse_score_setting(f"revel:{grch37}", "GRCh38")
    # A VCF whose contig lengths are GRCh37's is refused the same way.
    exome37 = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh37.nospike.vcf.gz"
    with pytest.raises(ScoreFileError, match="GRCh37"):
        parse_score_setting(f"cadd:{exome37}", "GRCh38")


def test_setting_errors_name_the_item(tmp_path: Path) -> None:
    with pytest.raises(ScoreFileError, match="polyphen"):
        parse_score_setting(f"polyphen:{tmp_path}", "GRCh38")
    with pytest.raises(ScoreFileError, match="does not exist"):
        parse_score_setting(f"revel:{tmp_path / 'missing.vcf.gz'}", "GRCh38")
    bad = sites(tmp_path, "bad.vcf", ["22\t100\t.\tG\tT\t.\t.\tREVEL=1.7"])
    with pytest.raises(ScoreFileError, match="22:100.*not within 0-1"):
        parse_score_setting(f"revel:{bad}", "GRCh38").lookup([("22", 100, "G", "T")])
    assert parse_score_setting("", "GRCh38").files == {}
