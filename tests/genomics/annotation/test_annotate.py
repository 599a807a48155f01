"""End-to-end annotation: the shared GRCh38 exome, and the annotate command's three output formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cyvcf2 import VCF
from typer.testing import CliRunner

from gmc.genomics.annotation.annotate import AnnotationSources, annotate_vcf
from gmc.genomics.annotation.consequence import SO_RANK
from gmc.genomics.commands import app
from gmc.genomics.vcf import open_vcf

REQUIRED_TSV_COLUMNS = (
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "hgnc_id",
    "transcript",
    "consequence",
    "hgvs_c",
    "hgvs_p",
    "clinvar",
    "gnomad_af",
)


@pytest.fixture(scope="module")
def exome(benchmarks_dir: Path, grch38_sources: AnnotationSources) -> pa.Table:
    path = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    return pa.concat_tables(table for _, table in annotate_vcf(path, grch38_sources))


def test_exome_annotates_end_to_end(exome: pa.Table):
    assert exome.num_rows == 36_793
    consequences = exome["consequence"].to_pylist()
    assert all(consequences)
    for value in consequences:
        ranks = [SO_RANK[term] for term in value.split("&")]
        assert ranks == sorted(ranks), value
    genes = exome["gene"].to_pylist()
    assert sum(g is not None for g in genes) / len(genes) > 0.8  # an exome is mostly genic


def test_planted_carriers_are_found_in_clinvar(exome: pa.Table, benchmarks_dir: Path):
    vcf = VCF(str(benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"))
    planted = {(v.CHROM.removeprefix("chr"), v.POS) for v in vcf if v.INFO.get("PlantedCarrier")}
    vcf.close()
    assert len(planted) == 6
    rows = [r for r in exome.to_pylist() if (r["chrom"], r["pos"]) in planted]
    assert {r["gene"] for r in rows} == {"ACADM", "MUTYH", "SBDS", "HBB", "GJB2", "PMM2"}
    assert all("athogenic" in (r["clinvar_significance"] or "") for r in rows)


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_tsv_parquet_and_vcf(benchmarks_dir: Path, tmp_path: Path):
    source = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    vcf = VCF(str(source))
    alleles = sum(len(v.ALT) for v in vcf)
    vcf.close()

    _run("annotate", str(source), "--out", str(tmp_path / "out.tsv"))
    lines = (tmp_path / "out.tsv").read_text().splitlines()
    provenance = [line for line in lines if line.startswith("##")]
    header = lines[len(provenance)].split("\t")
    assert set(REQUIRED_TSV_COLUMNS) <= set(header)
    assert any(line.startswith("##transcripts=mane") for line in provenance)
    assert len(lines) - len(provenance) - 1 == alleles

    _run("annotate", str(source), "--out", str(tmp_path / "out.parquet"))
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == alleles and table.schema.metadata[b"gmc.build"] == b"GRCh37"
    # the demo carries VEP CSQ: gmc keeps VEP's call beside its own
    assert table["existing_source"].to_pylist().count("CSQ") > 600

    _run("annotate", str(source), "--out", str(tmp_path / "out.vcf.gz"))
    out = VCF(str(tmp_path / "out.vcf.gz"))
    assert "##gmc_version=" in out.raw_header and "ID=GMC,Number=.,Type=String" in out.raw_header
    records = list(out)
    assert len(records) == 680 and all(r.INFO.get("GMC") for r in records)
    assert records[0].INFO["GMC"].split("|")[:2] == ["TC", "PER3"]


def test_cli_reports_a_bad_file(tmp_path: Path, benchmarks_dir: Path):
    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    truncated = tmp_path / "cut.vcf.gz"
    truncated.write_bytes(source.read_bytes()[:300_000])
    result = CliRunner().invoke(app, ["annotate", str(truncated), "--out", str(tmp_path / "x.tsv")])
    assert result.exit_code == 2 and "cut.vcf.gz line" in result.output
    with gzip.open(source, "rt") as handle:
        assert handle.readline().startswith("##fileformat=VCF")


def test_bulk_path_matches_the_per_allele_path(benchmarks_dir: Path, grch38_no_fasta: AnnotationSources):
    """The vectorised path for alleles away from exons must give exactly what the per-allele path gives."""
    from gmc.genomics.annotation.annotate import _CONSEQUENCE_COLUMNS, annotate_allele, annotate_alleles

    path = benchmarks_dir / "rare/background/PlatinumGenomes_NA12878_GRCh38_chr21.vcf.gz"
    batch = next(open_vcf(path, samples=[]).batches(15_000))
    table = annotate_alleles(batch.chrom, batch.pos, batch.ref, batch.alt, grch38_no_fasta).to_pylist()
    terms = {row["consequence"] for row in table}
    assert {"intron_variant", "intergenic_variant", "upstream_gene_variant"} <= terms
    for i, row in enumerate(table):
        single = annotate_allele(
            batch.chrom[i], int(batch.pos[i]), batch.ref[i], batch.alt[i], grch38_no_fasta, lookups=False
        )
        assert {c: single[c] for c in _CONSEQUENCE_COLUMNS} == {c: row[c] for c in _CONSEQUENCE_COLUMNS}


def test_cli_frequencies_from_info_and_a_sites_file(refdata_dir: Path, tmp_path: Path):
    sites = refdata_dir / "frequencies/vep84_testcache_chr21_popfreq_GRCh38.snv.vcf.gz"
    known = next(v for v in VCF(str(sites)) if (v.INFO.get("EUR") or 0) > 0.1)
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr21,length=46709983>\n"
        '##INFO=<ID=gnomAD_AF,Number=A,Type=Float,Description="gnomAD AF">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    records = [
        "chr21\t8522400\t.\tA\tG\t50\tPASS\tgnomAD_AF=0.0125",
        f"chr21\t{known.POS}\t.\t{known.REF}\t{known.ALT[0]}\t50\tPASS\t.",
        "chr21\t8522401\t.\tC\tT\t50\tPASS\t.",
    ]
    source = tmp_path / "small.vcf"
    source.write_text(header + "\n".join(records) + "\n")
    out = tmp_path / "small.tsv"
    _run("annotate", str(source), "--out", str(out), "--frequencies", str(sites), "--frequency-key", "EUR")
    lines = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("##")]
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert float(rows[0]["gnomad_af"]) == pytest.approx(0.0125) and rows[0]["af_source"] == "INFO/gnomAD_AF"
    assert float(rows[1]["gnomad_af"]) == pytest.approx(known.INFO["EUR"], rel=1e-5)
    assert rows[1]["af_source"] == sites.name
    assert rows[2]["gnomad_af"] == "" and rows[2]["af_source"] == ""


def test_cli_refuses_a_build_mismatch(benchmarks_dir: Path, tmp_path: Path):
    source = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    result = CliRunner().invoke(
        app, ["annotate", str(source), "--out", str(tmp_path / "o.tsv"), "--build", "GRCh38"]
    )
    assert result.exit_code == 2 and "GRCh37 but GRCh38 was expected" in result.output


def test_cli_adds_the_cohort_frequency_from_the_store(benchmarks_dir: Path, tmp_path: Path):
    from gmc.genomics.store.writer import ingest_vcf

    trio = benchmarks_dir / "annotated/GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    ingest_vcf(tmp_path / "store", trio)
    out = tmp_path / "trio.parquet"
    _run("annotate", str(trio), "--out", str(out), "--cohort-store", str(tmp_path / "store"))
    table = pq.read_table(out)
    # the store holds only this trio: each allele's cohort AF is its carriers' alleles over 6
    gt = np.concatenate([batch.gt for batch in open_vcf(trio).batches(20_000)])
    expected = [None if n == 0 else n / 6 for n in np.where(gt > 0, gt, 0).sum(axis=1).tolist()]

    got = table["cohort_af"].to_pylist()
    assert len(got) == len(expected)
    checked = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
    assert len(checked) > 9_000
    assert all(g == pytest.approx(e) for g, e in checked)


def test_vcf_output_keeps_one_entry_per_alt(tmp_path: Path, sparse_fasta: Path):
    source = tmp_path / "multi.vcf"
    source.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr17\t43124027\t.\tACT\tA,ACTCT\t50\tPASS\t.\n"
        "chr17\t43057062\t.\tT\t*,TG\t50\tPASS\t.\n"
    )
    out = tmp_path / "multi.out.vcf"
    _run("annotate", str(source), "--out", str(out), "--fasta", str(sparse_fasta))
    records = list(VCF(str(out)))
    first = [entry.split("|") for entry in records[0].INFO["GMC"].split(",")]
    # BRCA1 c.68_69del and c.68_69dup, in the order the ALTs are written
    assert [(e[0], e[6]) for e in first] == [("A", "c.68_69del"), ("ACTCT", "c.68_69dup")]
    second = [entry.split("|") for entry in records[1].INFO["GMC"].split(",")]
    assert [e[0] for e in second] == ["*", "TG"] and second[0][4] == "" and second[1][6] == "c.5266dup"
