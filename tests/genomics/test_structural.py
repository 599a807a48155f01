"""Structural variants and copy number: read with END/SVLEN/SVTYPE/CN, annotated by interval, stored, and found by
gene and region queries (service, API, CLI and the genome page), on real gnomAD-SV calls and a BRCA1 deletion."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmc.genomics import service
from gmc.genomics.annotation.annotate import annotate_vcf
from gmc.genomics.cli_genomes import variants_app
from gmc.genomics.manifest import parse_manifest
from gmc.genomics.vcf import VcfFormatError, open_vcf
from gmc.settings import reset_settings_cache

GNOMAD_SV = "frequencies/gnomad_fixtures/annonars_gnomad-sv_v4.0_chr1_first262.vcf.gz"


@pytest.fixture(scope="module")
def grch38_sources():
    """GRCh38 annotation sources with the reference-data FASTA (the default)."""
    from gmc.genomics.annotation.annotate import load_sources

    return load_sources("GRCh38")


def _columns(batches) -> list[tuple]:
    out = []
    for batch in batches:
        sites, _ = batch.to_arrow()
        out += list(zip(*(sites.column(c).to_pylist() for c in ("pos", "alt", "sv_end", "sv_length", "sv_type",
                                                                   "copy_number")), strict=True))
    return out


def test_real_structural_calls_keep_end_length_type_on_both_read_paths(refdata_dir: Path):
    path = refdata_dir / GNOMAD_SV
    with open_vcf(path, samples=[]) as reader:
        text = _columns(reader.batches(100))
    with open_vcf(path, samples=[]) as reader:
        htslib = _columns(reader.htslib_batches(100))
    assert text == htslib and len(text) == 262
    with gzip.open(path, "rt") as handle:
        records = [line.split("\t") for line in handle if not line.startswith("#")]
    for (pos, alt, end, _, svtype, _), record in zip(text, records, strict=True):
        info = dict(kv.split("=", 1) for kv in record[7].split(";") if "=" in kv)
        assert (pos, alt, end, svtype) == (int(record[1]), record[4], int(info["END"]), info["SVTYPE"])


def _sv_vcf(path: Path, records: list[str], *, sample: str = "S1", declare: bool = True) -> Path:
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr13,length=114364328>",
        "##contig=<ID=chr17,length=83257441>",
        *(['##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
           '##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Length">',
           '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type">',
           '##INFO=<ID=CN,Number=1,Type=Integer,Description="Copy number">'] if declare else []),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}",
    ]
    path.write_text("\n".join(header + records) + "\n")
    return path


#: A deletion over the whole of BRCA1 (and its neighbours), a copy gain inside BRCA2, and SNVs around them.
BRCA_RECORDS = [
    "chr13\t32330000\t.\tA\t<CNV>\t60\tPASS\tEND=32340000;SVTYPE=CNV;CN=3\tGT\t0/1",
    "chr13\t32340300\t.\tG\tA\t60\tPASS\t.\tGT\t0/1",
    "chr17\t43000000\t.\tT\t<DEL>\t60\tPASS\tEND=43200000;SVLEN=-200000;SVTYPE=DEL\tGT\t0/1",
    "chr17\t43057063\t.\tG\tA\t60\tPASS\t.\tGT\t0/1",
    "chr17\t43300000\t.\tC\tT\t60\tPASS\t.\tGT\t0/1",
]


@pytest.mark.parametrize("declare", [True, False])
def test_a_symbolic_allele_without_end_is_refused_naming_the_line(tmp_path: Path, declare: bool):
    path = _sv_vcf(tmp_path / "bad.vcf", [BRCA_RECORDS[1], "chr17\t43000000\t.\tT\t<DEL>\t60\tPASS\tSVTYPE=DEL\tGT\t0/1"],
                   declare=declare)
    with pytest.raises(VcfFormatError, match=r"bad\.vcf line \d+: symbolic allele <DEL> has no INFO/END"), \
            open_vcf(path) as reader:
        list(reader.batches(100))


def test_structural_consequences_by_interval(tmp_path: Path, grch38_sources):
    path = _sv_vcf(tmp_path / "brca.vcf", BRCA_RECORDS)
    rows = [r for _, table in annotate_vcf(path, grch38_sources) for r in table.to_pylist()]
    deletion = next(r for r in rows if r["alt"] == "<DEL>")
    affected = {e.split(":")[0]: e.split(":")[2] for e in deletion["other_transcripts"].split(",")}
    affected[deletion["gene"]] = deletion["consequence"]
    assert affected["BRCA1"] == "transcript_ablation" and deletion["impact"] == "HIGH"
    assert (deletion["sv_end"], deletion["sv_length"], deletion["sv_type"]) == (43200000, -200000, "DEL")
    gain = next(r for r in rows if r["alt"] == "<CNV>")
    assert gain["gene"] == "BRCA2" and gain["copy_number"] == 3.0
    assert set(gain["consequence"].split("&")) == {"feature_elongation", "copy_number_gain"}
    assert gain["exon"].endswith("/27") and "-" in gain["exon"]  # the exons the gain reaches


#: gnomAD-SV's own gene predictions -> the consequences gmc must give those genes.
_PREDICTED = {
    "PREDICTED_LOF": {"transcript_ablation", "feature_truncation", "exon_loss_variant"},
    "PREDICTED_COPY_GAIN": {"transcript_amplification"},
    "PREDICTED_INTRAGENIC_EXON_DUP": {"feature_elongation"},
    "PREDICTED_PARTIAL_EXON_DUP": {"feature_elongation"},
    "PREDICTED_INTRONIC": {"intron_variant"},
}


def test_gnomad_sv_gene_predictions_agree(refdata_dir: Path, grch38_sources):
    """gnomAD-SV annotates each call's genes itself (GENCODE): gmc's interval overlap names the same genes with
    the matching kind of consequence (breakends' partner genes lie on other chromosomes: not compared)."""
    predicted: dict[tuple[int, str], dict[str, str]] = {}
    with gzip.open(refdata_dir / GNOMAD_SV, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                fields = line.split("\t")
                info = dict(kv.split("=", 1) for kv in fields[7].split(";") if "=" in kv)
                if info.get("SVTYPE") != "BND":
                    predicted[int(fields[1]), fields[4]] = {k: v for k, v in info.items() if k in _PREDICTED}
    compared = 0
    for _, table in annotate_vcf(refdata_dir / GNOMAD_SV, grch38_sources):
        for row in table.to_pylist():
            ours: dict[str, set[str]] = {}
            if row["gene"]:
                ours[row["gene"]] = set(row["consequence"].split("&"))
            for entry in filter(None, (row["other_transcripts"] or "").split(",")):
                gene, _, terms = entry.split(":")[:3]
                ours.setdefault(gene, set(terms.split("&")))
            for key, genes in predicted.get((row["pos"], row["alt"]), {}).items():
                for gene in genes.split(","):
                    if gene in ours:  # genes outside MANE (lncRNAs, pseudogenes) are not in gmc's models
                        assert ours[gene] & _PREDICTED[key], (row["pos"], row["alt"], gene, key, ours[gene])
                        compared += 1
    assert compared >= 80


@pytest.fixture
def sv_case(demo_app, demo_database, gkit, tmp_path):
    """A case whose proband's structural and small variants are ingested into the app's variant store."""
    store = Path(demo_app.state.settings.data_dir) / "variant_store"
    vcf = _sv_vcf(tmp_path / "proband_sv.vcf", BRCA_RECORDS)
    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session, trust="RRK")
        manifest = {"case_id": case.case_id, "build": "GRCh38", "files": [
            {"path": str(vcf), "kind": "germline", "samples": [{"vcf_sample": "S1", "participant_id": case.proband}]}]}
        service.ingest_manifest(session, principal=gkit.principal(session, "scientist"),
                                manifest=parse_manifest(manifest), base_dir=Path("."), store_base=store)
    return case, store, manifest


def test_a_brca1_spanning_deletion_is_found_by_a_brca1_query(sv_case, demo_database, demo_client, bearer, gkit,
                                                              tmp_path):
    case, store, manifest = sv_case
    with demo_database.session() as session:
        scientist = gkit.principal(session, "scientist")
        page = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                     query=service.VariantQuery(genes=("BRCA1",)), store_base=store)
        session.commit()
    found = {(r["pos"], r["alt"]): r for r in page["rows"]}
    deletion = found[(43000000, "<DEL>")]
    assert (deletion["sv_end"], deletion["sv_type"], deletion["impact"]) == (43200000, "DEL", "HIGH"), {k: v for k, v in deletion.items() if v is not None}
    assert (43057063, "A") in found and (43300000, "T") not in found  # the SNV inside BRCA1, not the one past it
    # a region inside BRCA1 finds the deletion too; a region before it does not
    with demo_database.session() as session:
        scientist = gkit.principal(session, "scientist")
        inside = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                       query=service.VariantQuery(region="chr17:43100000-43100100"), store_base=store)
        before = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                       query=service.VariantQuery(region="chr17:42000000-42999999"), store_base=store)
        session.commit()
    assert [(r["pos"], r["alt"]) for r in inside["rows"]] == [(43000000, "<DEL>")] and before["total"] == 0

    headers = bearer(demo_client, "scientist")
    api = demo_client.get(f"/api/genomes/cases/{case.case_id}/variants", params={"gene": "BRCA1"}, headers=headers)
    assert api.status_code == 200, api.text
    assert any(r["alt"] == "<DEL>" and r["sv_end"] == 43200000 for r in api.json()["rows"])
    page = demo_client.get(f"/genomes/cases/{case.case_id}/variants", params={"gene": "BRCA1"}, headers=headers)
    assert page.status_code == 200 and "&lt;DEL&gt;" in page.text and "DEL to 43,200,000" in page.text

    reset_settings_cache()
    try:
        cli = CliRunner().invoke(variants_app, ["query", case.case_id, "--gene", "BRCA1"], env={
            "GMC_DATABASE_URL": demo_database.url, "GMC_ENVIRONMENT": "test",
            "GMC_DATA_DIR": str(store.parent)})
    finally:
        reset_settings_cache()
    assert cli.exit_code == 0, cli.output
    assert any(line.split("\t")[:4] == ["17", "43000000", "T", "<DEL>"] for line in cli.stdout.splitlines())
