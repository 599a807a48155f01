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


def test_store_compacts_once_enough_datasets_pile_up_and_on_demand(demo_database, gkit, giab_trio, tmp_path):
    import gzip
    import json

    url, data = demo_database.url, tmp_path / "data"
    store = data / "variant_store" / "GRCh37"
    # Three families sequenced at different times: three files (the trio file without 0, 1 or 2 of its last
    # records, so each is a file of its own), three datasets.
    lines = gzip.open(giab_trio, "rt").read().splitlines(keepends=True)
    answers = []
    for n in range(3):
        with demo_database.transaction() as session:
            case = gkit.make_trio_case(session)
        vcf = tmp_path / f"family{n}.vcf.gz"
        with gzip.open(vcf, "wt") as out:
            out.writelines(lines[:len(lines) - n])
        manifest = tmp_path / f"case{n}.yaml"
        manifest.write_text(yaml.safe_dump(gkit.trio_manifest(case, vcf)))
        reset_settings_cache()
        result = runner.invoke(genomes_app, ["ingest", str(manifest), "--no-annotate"], env={
            "GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test", "GMC_DATA_DIR": str(data), "GMC_COMPACT_AFTER": "2"})
        reset_settings_cache()
        assert result.exit_code == 0, result.output
        segments = json.loads((store / "manifest.json").read_text()).get("segments", [])
        # The second ingest brings two datasets outside a segment: compacted right after its commit.
        assert ("compacted 2 datasets" in result.output) == (n == 1) and len(segments) == (0 if n == 0 else 1)
        query = _run(variants_app, ["query", case.case_id, "--region", "1:1-249250621", "--genotype", "het",
                                    "--limit", "1000"], url, data)
        assert query.exit_code == 0, query.output
        answers.append((case.case_id, query.stdout))
    # The third stays outside until compacted on demand; every case's variants read the same after.
    pending = [d for d in json.loads((store / "manifest.json").read_text())["datasets"] if not d.get("segment")]
    assert len(pending) == 1
    nothing = _run(variants_app, ["compact", "--build", "GRCh37", "--min-datasets", "2"], url, data)
    assert nothing.exit_code == 0 and "nothing to do" in nothing.output
    done = _run(variants_app, ["compact", "--build", "hg19", "--min-datasets", "1"], url, data)
    assert done.exit_code == 0 and "compacted 1 datasets" in done.output, done.output
    # Two segments now (two datasets, one): one tier at fanout 2, merged on demand into one.
    merged = _run(variants_app, ["compact", "--build", "GRCh37", "--merge-segments", "--fanout", "2"], url, data)
    assert merged.exit_code == 0 and "nothing to do" in merged.output, merged.output
    assert "merged segments of 3 datasets" in merged.output, merged.output
    assert len(json.loads((store / "manifest.json").read_text())["segments"]) == 1
    again = _run(variants_app, ["compact", "--build", "GRCh37", "--merge-segments", "--fanout", "2"], url, data)
    assert again.exit_code == 0 and "no size tier holds enough segments" in again.output, again.output
    for case_id, before in answers:
        again = _run(variants_app, ["query", case_id, "--region", "1:1-249250621", "--genotype", "het",
                                    "--limit", "1000"], url, data)
        assert again.stdout == before and before.count("\n") > 100
    bad = _run(variants_app, ["compact", "--build", "hg42"], url, data)
    assert bad.exit_code == 1 and "unknown genome build" in bad.output
