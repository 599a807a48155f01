"""Reference-data versions in results and reports come from the manifest; `make demo`'s ensure; the docs page."""

from __future__ import annotations

import socket
from pathlib import Path

from gmc.refdata.docs import render_docs
from gmc.refdata.manifest import read_cancer_manifest, reference_versions
from gmc.refdata.service import FetchRequest, fetch
from gmc.refdata.transfer import Transfer

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_annotation_headers_carry_the_reference_data_releases(tmp_path: Path, benchmarks_dir: Path,
                                                               refdata_dir: Path, gmc_cli) -> None:
    source = benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    out = tmp_path / "out.tsv"
    result = gmc_cli("annotate", str(source), "--out", str(out), env={"GMC_REFDATA": str(refdata_dir)})
    assert result.exit_code == 0, result.output
    header = {line[2:].split("=", 1)[0]: line.split("=", 1)[1] for line in out.read_text().splitlines()
              if line.startswith("##")}
    # A GRCh37 input: the GRCh37 transcripts, no ClinVar (gmc has it for GRCh38 only), build-free gene sets.
    assert header["reference_data"] == ("transcripts/GRCh37=MANE v1.5, UCSC hg38ToHg19; constraint=v4.1; "
                                        "clingen=2026-02-06")


def test_the_knowledge_base_reads_file_provenance_from_the_manifest(tmp_path: Path, refdata_dir: Path) -> None:
    from gmc.interpretation.cancer.knowledgebase import build_knowledgebase

    # A folder gmc did not install: each file's source and licence as its cancer/MANIFEST.tsv states them.
    listed = read_cancer_manifest(refdata_dir / "cancer" / "MANIFEST.tsv")
    shared = {s["path"]: s for s in build_knowledgebase(refdata_dir).provenance()}
    civic = shared["cancer/civic/nightly-ClinicalEvidenceSummaries.tsv"]
    assert (civic["release"], civic["licence"]) == listed["civic/nightly-ClinicalEvidenceSummaries.tsv"]
    assert shared["liftover/hg19ToHg38.over.chain.gz"]["release"] == ""

    # The same files installed by gmc: the manifest it wrote gives where each came from and its release.
    root = tmp_path / "refdata"
    with Transfer() as transfer:
        results = fetch(root, FetchRequest(origin=str(refdata_dir), only=["cancer"]), transfer=transfer)
    assert {r.key: r.status for r in results} == {"liftover": "installed", "cancer": "installed"}
    fetched = {s["path"]: s for s in build_knowledgebase(root).provenance()}
    civic = fetched["cancer/civic/nightly-ClinicalEvidenceSummaries.tsv"]
    assert civic["release"].startswith("github:fakedrtom/crab@5385211") and civic["release"].endswith("(2018-05-18)")
    assert civic["licence"] == "CC0-1.0 (CIViC)" and civic["sha256"] == shared[
        "cancer/civic/nightly-ClinicalEvidenceSummaries.tsv"]["sha256"]
    chain = fetched["liftover/hg19ToHg38.over.chain.gz"]
    assert chain["release"].endswith("(UCSC hg19ToHg38)")

    versions = {v.set: v for v in reference_versions(root=root)}
    assert versions["cancer"].origin == f"gmc folder {refdata_dir}"
    assert versions["liftover"].label == ("UCSC liftOver chains between GRCh37 and GRCh38 "
                                          "(UCSC hg19ToHg38; UCSC hg38ToHg19)")


def test_somatic_results_record_the_releases_they_used(refdata_dir: Path, benchmarks_dir: Path) -> None:
    from gmc.interpretation.cancer.files import interpret_somatic_files

    vcf = benchmarks_dir / "cancer" / "somatic" / "pcgr_examples" / "T001-BRCA.grch38.vcf.gz"
    result = interpret_somatic_files(tumour_type="BRCA", vcf=vcf, refdata=refdata_dir)
    used = result["provenance"]["reference_data"]
    assert used["liftover"] == "UCSC hg19ToHg38; UCSC hg38ToHg19"
    assert used["transcripts/GRCh38"] == "MANE v1.5" and used["genome/GRCh38"] == "GRCh38_sparse_Nmasked"
    assert "2018-05-18" in used["cancer"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ensure_fetches_the_default_sets_when_their_sources_answer(tmp_path: Path, loopback, published,
                                                                    refdata_dir: Path, gmc_cli) -> None:
    env = {"GMC_REFDATA": str(tmp_path / "refdata"), "GMC_DATA_DIR": str(tmp_path / "var")}
    offline = gmc_cli("refdata", "ensure", "--from", f"http://127.0.0.1:{_closed_port()}", env=env)
    assert offline.exit_code == 0
    assert "the sources do not answer" in offline.output and "Later, run `gmc refdata fetch`" in offline.output
    assert not (tmp_path / "refdata" / "liftover").exists()

    published.liftover()
    published.transcripts()
    published.clingen()
    published.cancer()
    online = gmc_cli("refdata", "ensure", "--from", loopback.url, env=env)
    assert online.exit_code == 0, online.output
    assert "fetching the small default sets (liftover, transcripts/GRCh38, clingen, cancer)" in online.output
    for key in ("liftover", "transcripts/GRCh38", "clingen", "cancer"):
        assert f"{key}: installed" in online.output
    again = gmc_cli("refdata", "ensure", env=env)
    assert "(4 sets installed" in again.output
    assert "(12 sets installed" in gmc_cli("refdata", "ensure", env={"GMC_REFDATA": str(refdata_dir)}).output


def test_the_docs_page_lists_every_source_as_the_catalogue_has_it() -> None:
    text = (REPO_ROOT / "docs" / "refdata.md").read_text(encoding="utf-8")
    assert render_docs(text) == text, "run `gmc refdata sources --docs docs/refdata.md`"
    for needle in ("CIViC: CC0 1.0", "OncoTree (MSKCC): CC BY 4.0", "ClinVar: public domain",
                   "Genomics England PanelApp terms of use", "gnomAD data: CC0 1.0", "2,727,299 B"):
        assert needle in text
