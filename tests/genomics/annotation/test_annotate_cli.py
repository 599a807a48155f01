"""`gmc annotate` as a user meets it: what it withholds and says so, and bad input refused with no output left."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cyvcf2 import VCF
from typer.testing import CliRunner

from gmc.genomics.commands import app

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n##contig=<ID=chr17,length=83257441>\n"
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
GOOD = "chr7\t117559590\t.\tATCT\tA\t50\tPASS\t.\tGT\t0/1\n"


def _annotate(*args: str):
    return CliRunner().invoke(app, ["annotate", *map(str, args)])


def _left_behind(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name == name or p.name.startswith(f".{name}.")]


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz", ".vcf.gz", ".parquet"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD + "chr7\t117559600\t.\tQZ\tA\t50\tPASS\t.\tGT\t0/1\n",
         r"bad\.vcf line 7: REF 'QZ' is not nucleotides"),
        (GOOD + "chr7\t117559600\t.\tC\tA\t50\tPASS\t.\tGT\t0/1\t1/1\n",
         r"bad\.vcf line 7: 11 columns where the #CHROM line names 10"),
        (GOOD + "chr17\t43000000\t.\tT\t<DEL>\t50\tPASS\tSVTYPE=DEL\tGT\t0/1\n",
         r"bad\.vcf line 7: symbolic allele <DEL> has no INFO/END"),
    ],
)
def test_bad_records_are_refused_by_line_and_leave_no_output(tmp_path: Path, body: str, message: str, suffix: str):
    source = tmp_path / "bad.vcf"
    source.write_text(HEADER + body)
    out = tmp_path / f"out{suffix}"
    result = _annotate(source, "--out", out)
    assert result.exit_code == 2, result.output
    assert pytest.importorskip("re").search(message, result.output), result.output
    assert _left_behind(tmp_path, out.name) == []


def test_a_truncated_file_leaves_no_output(tmp_path: Path, benchmarks_dir: Path):
    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    truncated = tmp_path / "cut.vcf.gz"
    truncated.write_bytes(source.read_bytes()[:1_000_000])
    for name in ("x.tsv", "x.vcf.gz"):
        result = _annotate(truncated, "--out", tmp_path / name)
        assert result.exit_code == 2 and "cut.vcf.gz line" in result.output, result.output
        assert _left_behind(tmp_path, name) == []


def test_a_fasta_of_the_wrong_build_or_without_index_is_refused(tmp_path: Path, sparse_fasta: Path,
                                                              benchmarks_dir: Path):
    grch37 = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    result = _annotate(grch37, "--out", tmp_path / "o.tsv", "--fasta", sparse_fasta)
    assert result.exit_code == 2 and "contig lengths do not match GRCh37" in result.output
    assert "GRCh38_sparse_Nmasked.fa.gz" in result.output
    copy = tmp_path / "genome.fa.gz"
    shutil.copy(sparse_fasta, copy)  # no .fai beside it
    source = tmp_path / "one.vcf"
    source.write_text(HEADER + GOOD)
    result = _annotate(source, "--out", tmp_path / "o.tsv", "--fasta", copy)
    assert result.exit_code == 2 and "genome.fa.gz: no .fai index" in result.output
    assert _left_behind(tmp_path, "o.tsv") == []


def test_withheld_descriptions_are_counted_in_the_header_and_on_the_command_line(tmp_path: Path):
    source = tmp_path / "two.vcf"
    # CFTR F508del (an indel: its place needs sequence) and KRAS G12D (a substitution: given; its codon is not)
    source.write_text(HEADER.replace("##contig=<ID=chr17", "##contig=<ID=chr12,length=133275309>\n##contig=<ID=chr17")
                      + GOOD + "chr12\t25245350\t.\tC\tT\t50\tPASS\t.\tGT\t0/1\n")
    out = tmp_path / "two.tsv"
    result = _annotate(source, "--out", out, "--no-fasta")
    assert result.exit_code == 0, result.output
    assert "warning: descriptions withheld" in result.output and "no reference FASTA" in result.output
    lines = out.read_text().splitlines()
    withheld = next(line for line in lines if line.startswith("##withheld="))
    # the indel's c. (its place), and the codons of both (the in-frame deletion may also make or lose a stop)
    assert "1 c. withheld" in withheld and "2 p. and codon change withheld" in withheld
    assert any(line.startswith("##fasta=none") for line in lines)
    header = next(line for line in lines if line.startswith("chrom\t")).split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines if line.startswith(("7\t", "12\t"))]
    assert [r["hgvs_c"] for r in rows] == ["", "c.35G>A"] and rows[1]["impact"] == ""
    assert rows[0]["hgvs_note"].startswith("c. withheld")

    # with the reference-data FASTA (the default) nothing is withheld for these two
    result = _annotate(source, "--out", tmp_path / "two.vcf.gz")
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    vcf = VCF(str(tmp_path / "two.vcf.gz"))
    assert "##gmc_withheld=none" in vcf.raw_header and "GRCh38_sparse_Nmasked.fa.gz" in vcf.raw_header
    entries = [record.INFO["GMC"].split("|") for record in vcf]
    assert [(e[6], e[7]) for e in entries] == [("c.1521_1523del", "p.Phe508del"), ("c.35G>A", "p.Gly12Asp")]
    result = _annotate(source, "--out", tmp_path / "two.parquet", "--no-fasta")
    metadata = pq.read_metadata(tmp_path / "two.parquet").metadata
    assert b"c. withheld" in metadata[b"gmc.withheld"]


def test_grch37_without_a_fasta_withholds_and_keeps_the_vcfs_own_call(tmp_path: Path, benchmarks_dir: Path):
    """No GRCh37 sequence offline: the Scout trio's stop-gains are coding changes of unknown impact, never
    MODIFIER, and VEP's own call stays beside them."""
    source = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    out = tmp_path / "trio.tsv.gz"
    result = _annotate(source, "--out", out)
    assert result.exit_code == 0 and "warning: descriptions withheld" in result.output
    with gzip.open(out, "rt") as handle:
        lines = handle.read().splitlines()
    header = next(line for line in lines if line.startswith("chrom\t")).split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines if not line.startswith(("#", "chrom"))]
    stop_gains = [r for r in rows if "stop_gained" in r["existing_consequence"]]
    assert stop_gains and all(r["impact"] != "MODIFIER" for r in stop_gains)
    coding = [r for r in rows if r["consequence"].startswith("coding_sequence_variant")]
    assert coding and all(r["impact"] == "" and "codon change withheld" in r["hgvs_note"] for r in coding)
