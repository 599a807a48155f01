"""`gmc genomes ingest|qc` and `gmc variants query` on a real trio, both engines."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from gmc.genomics.cli_genomes import genomes_app, variants_app
from gmc.settings import reset_settings_cache

runner = CliRunner()


def _run(app, args, url, data_dir):
    reset_settings_cache()
    try:
        return runner.invoke(app, [str(a) for a in args], env={
            "GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test", "GMC_DATA_DIR": str(data_dir)})
    finally:
        reset_settings_cache()


def test_ingest_qc_query_and_rerun(demo_database, gkit, giab_trio, tmp_path):
    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session)
    manifest = tmp_path / "case.yaml"
    manifest.write_text(yaml.safe_dump(gkit.trio_manifest(case, giab_trio)))
    url, data = demo_database.url, tmp_path / "data"

    first = _run(genomes_app, ["ingest", manifest, "--no-annotate"], url, data)
    assert first.exit_code == 0, first.output
    assert "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz: stored; GRCh37; samples HG002, HG003, HG004" in first.output
    assert f"case {case.case_id} is now interpretation" in first.output
    assert (data / "variant_store" / "GRCh37" / "manifest.json").exists()

    again = _run(genomes_app, ["ingest", manifest, "--no-annotate"], url, data)
    assert again.exit_code == 0 and "already stored (nothing new)" in again.output

    qc = _run(genomes_app, ["qc", case.case_id], url, data)
    assert qc.exit_code == 0, qc.output
    assert "father consistent; mother consistent" in qc.output

    hom = _run(variants_app, ["query", case.case_id, "--region", "2:1-243199373", "--genotype", "hom",
                              "--limit", "5"], url, data)
    assert hom.exit_code == 0, hom.output
    rows = [line.split("\t") for line in hom.stdout.strip().split("\n")[1:]]
    assert len(rows) == 5 and all(r[0] == "2" and r[4] == "2" for r in rows)

    out = tmp_path / "proband.vcf"
    export = _run(variants_app, ["query", case.case_id, "--region", "1:1-2000000", "--out", out], url, data)
    assert export.exit_code == 0, export.output
    assert out.read_text().startswith("##fileformat=VCF")


def test_bad_manifest_and_bad_build_store_nothing(demo_database, gkit, giab_trio, tmp_path):
    with demo_database.transaction() as session:
        case = gkit.make_trio_case(session)
    url, data = demo_database.url, tmp_path / "data"
    bad = tmp_path / "bad.yaml"
    broken = gkit.trio_manifest(case, giab_trio)
    broken["files"][0]["kind"] = "exome"
    bad.write_text(yaml.safe_dump(broken))
    result = _run(genomes_app, ["ingest", bad], url, data)
    assert result.exit_code == 1 and "files[0].kind" in result.output and "Nothing was stored" in result.output
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(gkit.trio_manifest(case, giab_trio, build="GRCh38")))
    result = _run(genomes_app, ["ingest", wrong], url, data)
    assert result.exit_code == 1 and "GRCh38 was expected" in result.output
    assert not (data / "variant_store" / "GRCh37" / "manifest.json").exists()
