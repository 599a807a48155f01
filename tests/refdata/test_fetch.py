"""gmc refdata fetch against a loopback server serving each source's published format, and from gmc folders."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pytest

from gmc.refdata.catalogue import CANCER, CLINGEN, CLINVAR, GENOME
from gmc.refdata.manifest import read_manifest, reference_versions
from gmc.refdata.service import FetchRequest, fetch, roll_forward, status, verify
from gmc.refdata.transfer import Transfer, mirror_path


def run(root: Path, **request: object) -> dict[str, object]:
    """Fetches into root; the results by set key."""
    notes: list[str] = []
    with Transfer(attempts=2) as transfer:
        results = fetch(root, FetchRequest(**request), transfer=transfer, note=notes.append)  # type: ignore[arg-type]
    return {r.key: r for r in results}


def test_every_default_set_from_an_http_mirror_of_the_published_files(
        tmp_path: Path, loopback: object, published: object, refdata_dir: Path) -> None:
    published.every_default()
    chosen = published.transcripts()
    root = tmp_path / "refdata"
    results = run(root, origin=loopback.url)
    assert {k: r.status for k, r in results.items()} == {
        "hpo": "installed", "liftover": "installed", "transcripts/GRCh38": "installed", "ensembl/GRCh38": "installed",
        "gene-names": "installed",
        "clinvar/GRCh38": "installed", "constraint": "installed", "clingen": "installed", "panelapp": "installed",
        "cancer": "installed"}, {k: r.message for k, r in results.items()}

    # Converters reproduce the shared files from the published forms, row for row.
    _, mine = published.read_rows(root / "grch38" / "mane_select.genepred.tsv.gz")
    assert {r["name"]: r for r in mine} == {r["name"]: r for r in chosen}
    _, names = published.read_rows(root / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz")
    with gzip.open(refdata_dir / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz", "rt") as handle:
        shared = [line.rstrip("\n").split("\t") for line in handle]
    assert [list(r.values()) for r in names] == [r for r in shared[1:] if r[1] in published.genes]
    with (root / "constraint" / "gnomad_v4.1_constraint_mane_select.csv").open() as handle:
        assert list(csv.reader(handle)) == published.constraint()
    for key, relative in CANCER.layout:  # the pinned commits' bytes; hotspots' CR line ends made LF again
        assert published.sha256(root / relative) == published.sha256(refdata_dir / relative), key
    clinvar = root / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    with gzip.open(clinvar, "rt") as handle:
        records = [line.rstrip("\n") for line in handle if not line.startswith("#")]
    assert len(records) == 38 and Path(f"{clinvar}.tbi").is_file()
    assert (root / "clingen" / "ClinGen_gene_curation_list_GRCh38_2026-02-06.tsv").is_file()

    from gmc.interpretation.rare.panels import read_panelapp

    fetched, shared_panels = read_panelapp(root / "panelapp"), read_panelapp(refdata_dir / "panelapp")
    assert set(fetched) == {"1", "3", "9"}
    for panel_id, panel in fetched.items():
        assert [(g.symbol, g.confidence, g.mode_of_inheritance) for g in panel.genes] == \
            [(g.symbol, g.confidence, g.mode_of_inheritance) for g in shared_panels[panel_id].genes]

    # The manifest says where each came from, which release, and how it was checked.
    manifest = read_manifest(root)
    checked = {s.key: s.checked_by for e in manifest.sets.values() for s in e.sources}
    assert checked["civic"] == "pinned sha256" and checked["vcf"] == "publisher md5"
    assert checked["gtf"] == "publisher md5" and checked["hg19ToHg38"] == "publisher md5"
    assert checked["orgdb"] == "recorded"
    assert manifest.sets["clingen"].release == "2026-02-06"
    assert manifest.sets["clinvar/GRCh38"].release == "2024-12-15"
    assert all(e.origin == f"mirror {loopback.url}" for e in manifest.sets.values())
    assert {v.set for v in reference_versions(root=root)} == set(results)
    assert verify(root).problems == [] and verify(root).checked == sum(len(e.files) for e in manifest.sets.values())

    # A second run finds the same releases installed and downloads nothing (it only asks whether the URL is a
    # gmc folder).
    before = len(loopback.state.requests)
    assert {r.status for r in run(root, origin=loopback.url).values()} == {"up to date"}
    assert [path for path, _ in loopback.state.requests[before:]] == ["gmc-refdata.json"]


def test_transcripts_for_grch37_and_ensembl_models(tmp_path: Path, loopback: object, published: object,
                                                   refdata_dir: Path) -> None:
    published.transcripts()
    chain = published.mirror / mirror_path("https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/hg38ToHg19.over.chain.gz")
    published.liftover()
    assert chain.is_file()
    root = tmp_path / "refdata"
    assert run(root, origin=loopback.url, only=["transcripts"], build="GRCh37")["transcripts/GRCh37"].status == \
        "installed"
    _, lifted = published.read_rows(root / "grch37" / "mane_select.genepred.tsv.gz")
    _, shared = published.read_rows(refdata_dir / "grch37" / "mane_select.genepred.tsv.gz")
    assert {r["name"]: r for r in lifted} == {r["name"]: r for r in shared if r["gene"] in published.genes}

    chosen = published.ensembl()
    assert run(root, origin=loopback.url, only=["ensembl"])["ensembl/GRCh38"].status == "installed"
    _, models = published.read_rows(root / "grch38" / "ensembl110_protein_coding.genepred.tsv.gz")
    assert {r["name"]: r for r in models} == {r["name"]: r for r in chosen}
    assert read_manifest(root).sets["ensembl/GRCh38"].sources[0].checked_by == "publisher sum"


def test_a_mirror_directory_and_file_url(tmp_path: Path, published: object) -> None:
    published.liftover()
    published.clingen()
    root = tmp_path / "refdata"
    assert run(root, origin=str(published.mirror), only=["liftover"])["liftover"].status == "installed"
    assert run(root, origin=published.mirror.as_uri(), only=["clingen"])["clingen"].status == "installed"
    entries = read_manifest(root).sets
    assert entries["liftover"].origin == f"mirror {published.mirror}"
    assert entries["liftover"].sources[0].fetched_from.startswith(str(published.mirror))
    # Files may also sit in the mirror under their names alone.
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in published.mirror.rglob("*.chain.gz"):
        shutil.copy(path, flat / path.name)
    other = tmp_path / "other"
    result = run(other, origin=str(flat), only=["liftover"])["liftover"]
    assert result.status == "installed", result.message
    assert read_manifest(other).sets["liftover"].sources[0].checked_by.startswith("recorded")


def test_a_checksum_mismatch_names_the_source_and_leaves_the_installed_set(
        tmp_path: Path, loopback: object, published: object) -> None:
    published.clinvar()
    root = tmp_path / "refdata"
    assert run(root, origin=loopback.url, only=["clinvar"])["clinvar/GRCh38"].status == "installed"
    installed = root / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    before = published.sha256(installed)

    published.clinvar(damaged=True)
    result = run(root, origin=loopback.url, only=["clinvar"], force=True)["clinvar/GRCh38"]
    assert result.status == "failed"
    assert "ClinVar VCF 2024-12-15 (GRCh38): MD5 mismatch" in result.message
    assert "nothing installed was changed" in result.message
    assert published.sha256(installed) == before
    assert not list((root / ".fetch").rglob("clinvar_20241215.vcf.gz*"))  # the bad download was discarded

    # A pinned SHA-256 is checked the same way (a cancer file whose bytes were changed on the mirror).
    published.cancer()
    published.liftover()
    civic = published.mirror / mirror_path(CANCER.source("civic").url)
    civic.write_bytes(civic.read_bytes().replace(b"BRAF", b"BRAX", 1))
    result = run(root, origin=loopback.url, only=["cancer"])["cancer"]
    assert result.status == "failed" and "SHA-256 mismatch" in result.message
    assert not (root / "cancer").exists()


def test_an_interrupted_download_is_resumed_by_the_next_run(tmp_path: Path, loopback: object,
                                                            published: object) -> None:
    published.clinvar()
    url_path = mirror_path(CLINVAR.source("vcf").url)
    size = (published.mirror / url_path).stat().st_size
    third = size // 3
    loopback.state.cut_after[url_path] = third  # every response breaks off after a third of the file
    root = tmp_path / "refdata"
    result = run(root, origin=loopback.url, only=["clinvar"])["clinvar/GRCh38"]  # two attempts
    assert result.status == "failed"
    assert f"interrupted after {2 * third:,} of {size:,} bytes" in result.message
    assert "Run the same command again to resume" in result.message
    assert loopback.ranges_for("clinvar_20241215.vcf.gz") == [None, f"bytes={third}-"]
    assert not (root / "grch38").exists()
    assert [p.stat().st_size for p in (root / ".fetch").rglob("*.part")] == [2 * third]

    loopback.state.cut_after.clear()
    assert run(root, origin=loopback.url, only=["clinvar"])["clinvar/GRCh38"].status == "installed"
    assert loopback.ranges_for("clinvar_20241215.vcf.gz")[-1] == f"bytes={2 * third}-"
    assert read_manifest(root).sets["clinvar/GRCh38"].sources[0].checked_by == "publisher md5"


def test_a_wrong_build_or_format_is_refused(tmp_path: Path, loopback: object, published: object) -> None:
    published.clinvar(reference="GRCh37")
    root = tmp_path / "refdata"
    result = run(root, origin=loopback.url, only=["clinvar"])["clinvar/GRCh38"]
    assert result.status == "failed"
    assert "it is the GRCh37 ClinVar VCF (##reference=GRCh37), not GRCh38" in result.message
    assert not (root / "grch38").exists()

    genome = run(root, origin=loopback.url, only=["clinvar"], build="GRCh37")
    assert genome["clinvar"].status == "skipped" and "no GRCh37 files for set clinvar" in genome["clinvar"].message

    (published.mirror / mirror_path("https://storage.googleapis.com/gcp-public-data--gnomad/release/4.1/constraint/"
                                    "gnomad.v4.1.constraint_metrics.tsv")).parent.mkdir(parents=True, exist_ok=True)
    published.put("https://storage.googleapis.com/gcp-public-data--gnomad/release/4.1/constraint/"
                  "gnomad.v4.1.constraint_metrics.tsv", b"gene\tscore\nBRCA1\t1\n")
    result = run(root, origin=loopback.url, only=["constraint"])["constraint"]
    assert result.status == "failed" and "not the gnomAD v4 constraint_metrics.tsv" in result.message

    published.panelapp()
    published.put("https://panelapp.genomicsengland.co.uk/api/v1/panels/3/", b"<html>maintenance</html>")
    result = run(root, origin=loopback.url, only=["panelapp"])["panelapp"]
    assert result.status == "failed" and "(panel 3): not JSON" in result.message
    assert not (root / "panelapp").exists()


def test_an_unreachable_source_and_a_full_disk(tmp_path: Path, loopback: object, published: object) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"clingen:\n  tsv:\n    url: http://127.0.0.1:{closed}/ClinGen_gene_curation_list_GRCh38.tsv\n")
    root = tmp_path / "refdata"
    result = run(root, only=["clingen"], sources_file=sources)["clingen"]
    assert result.status == "failed"
    assert f"ClinGen gene curation list (GRCh38): cannot get it from http://127.0.0.1:{closed}/" in result.message
    assert "Check the network (and HTTPS_PROXY), or fetch from a mirror with --from" in result.message

    # The same file named in a sources file is fetched from there (configurable URLs, no mirror).
    published.clingen()
    sources.write_text(f"clingen:\n  tsv:\n    url: {loopback.url}/{mirror_path(CLINGEN.source('tsv').url)}\n")
    assert run(root, only=["clingen"], sources_file=sources)["clingen"].status == "installed"

    # A server announcing more bytes than the disk holds: refused before anything is written.
    published.clinvar()
    loopback.state.claim_length[mirror_path(CLINVAR.source("vcf").url)] = 10 ** 16
    result = run(root, origin=loopback.url, only=["clinvar"])["clinvar/GRCh38"]
    assert result.status == "failed" and "not enough disk space" in result.message
    assert "nothing installed was changed" in result.message


def test_a_gmc_folder_is_verified_and_copied(tmp_path: Path, refdata_dir: Path, published: object) -> None:
    root = tmp_path / "refdata"
    results = run(root, origin=str(refdata_dir), only=["clinvar", "cancer"])
    assert {k: r.status for k, r in results.items()} == {"liftover": "installed", "clinvar/GRCh38": "installed",
                                                        "cancer": "installed"}, results
    assert published.sha256(root / "cancer" / "genes" / "oncotree_2025_10_03.json") == \
        published.sha256(refdata_dir / "cancer" / "genes" / "oncotree_2025_10_03.json")
    cancer = read_manifest(root).sets["cancer"]
    civic = next(s for s in cancer.sources if s.key == "civic")
    assert civic.fetched_from.startswith("github:fakedrtom/crab@5385211")  # the folder's own record, kept

    # A copy of that installed folder carries its manifest: files are checked against it.
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".fetch"))
    tampered = copy / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz.tbi"
    data = bytearray(tampered.read_bytes())
    data[100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    again = tmp_path / "again"
    result = run(again, origin=str(copy), only=["clinvar"])["clinvar/GRCh38"]
    assert result.status == "failed" and "does not match the source folder's manifest" in result.message

    # A folder without a gmc manifest is checked against its cancer/MANIFEST.tsv.
    bare = tmp_path / "bare"
    shutil.copytree(refdata_dir / "cancer", bare / "cancer")
    shutil.copytree(refdata_dir / "liftover", bare / "liftover")
    moalmanac = bare / "cancer" / "kb" / "moalmanac" / "molecular-oncology-almanac.json"
    moalmanac.write_bytes(moalmanac.read_bytes().replace(b"BRAF", b"BRAX", 1))
    result = run(tmp_path / "third", origin=str(bare), only=["cancer"])["cancer"]
    assert result.status == "failed" and "does not match its row in the folder's cancer/MANIFEST.tsv" in result.message

    with pytest.raises(Exception, match="is GMC_REFDATA itself"):
        run(root, origin=str(root), only=["clinvar"])


def test_an_interrupted_install_is_finished_by_the_next_run(tmp_path: Path, published: object) -> None:
    published.liftover()
    root = tmp_path / "refdata"
    assert run(root, origin=str(published.mirror), only=["liftover"])["liftover"].status == "installed"
    entry = json.loads((root / "gmc-refdata.json").read_text())["sets"]["liftover"]
    # A crash after the journal was written and one file moved: the next run replays the rest.
    stage = root / ".fetch" / "liftover"
    (stage / "build" / "liftover").mkdir(parents=True)
    moved, pending = (root / "liftover" / name for name in ("hg19ToHg38.over.chain.gz", "hg38ToHg19.over.chain.gz"))
    shutil.copy(pending, stage / "build" / "liftover" / pending.name)
    pending.unlink()
    journal = {"set": "liftover", "moves": [[str(stage / "build" / "liftover" / moved.name), str(moved)],
                                            [str(stage / "build" / "liftover" / pending.name), str(pending)]],
               "remove": [], "entry": entry}
    (stage / "install.json").write_text(json.dumps(journal))
    roll_forward(root)
    assert pending.is_file() and not stage.exists()
    assert verify(root).problems == []


def test_status_and_verify(tmp_path: Path, published: object) -> None:
    published.liftover()
    root = tmp_path / "refdata"
    found = {s.key: s for s in status(root)}
    assert found["clinvar/GRCh38"].state == "not installed"
    assert found["clinvar/GRCh38"].command == "gmc refdata fetch --only clinvar"
    assert found["genome/GRCh37"].command == "gmc refdata fetch --only genome --build GRCh37"
    run(root, origin=str(published.mirror), only=["liftover"])
    found = {s.key: s for s in status(root)}
    assert found["liftover"].state == "installed" and found["liftover"].release == "UCSC hg19ToHg38; UCSC hg38ToHg19"
    chain = root / "liftover" / "hg19ToHg38.over.chain.gz"
    chain.write_bytes(chain.read_bytes() + b"\n")
    report = verify(root)
    assert len(report.problems) == 1 and "liftover/hg19ToHg38.over.chain.gz has changed" in report.problems[0]
    chain.unlink()
    assert {s.key: s for s in status(root)}["liftover"].state == "incomplete"


def test_the_genome_is_bgzipped_and_indexed(tmp_path: Path, loopback: object, published: object) -> None:
    import pysam

    sequence = published.genome()
    root = tmp_path / "refdata"
    result = run(root, origin=loopback.url, only=["genome"])["genome/GRCh38"]
    assert result.status == "installed", result.message
    fasta = root / "grch38" / "sequence" / "GCA_000001405.15_GRCh38_no_alt_analysis_set.fa.gz"
    with pysam.FastaFile(str(fasta)) as reader:
        assert reader.fetch("chrM").encode() == sequence
    assert {Path(f.path).name for f in read_manifest(root).sets[GENOME.key].files} >= {fasta.name + ".fai",
                                                                                    fasta.name + ".gzi"}


def test_a_gmc_folder_served_over_http(tmp_path: Path, loopback: object, published: object) -> None:
    published.liftover()
    first = tmp_path / "first"
    assert run(first, origin=str(published.mirror), only=["liftover"])["liftover"].status == "installed"
    shutil.copytree(first, loopback.state.root / "refdata", ignore=shutil.ignore_patterns(".fetch"))
    second = tmp_path / "second"
    result = run(second, origin=f"{loopback.url}/refdata", only=["liftover"])["liftover"]
    assert result.status == "installed", result.message
    assert read_manifest(second).sets["liftover"].origin == f"gmc folder {loopback.url}/refdata"
    assert published.sha256(second / "liftover" / "hg38ToHg19.over.chain.gz") == \
        published.sha256(first / "liftover" / "hg38ToHg19.over.chain.gz")


def test_a_disk_that_fills_up_while_downloading(tmp_path: Path, published: object) -> None:
    """The file-size limit makes writes fail as a full disk does (EFBIG/ENOSPC): a clear error, nothing installed."""
    import resource
    import signal
    import subprocess
    import sys

    published.liftover()
    root = tmp_path / "refdata"
    code = ("from pathlib import Path; from gmc.refdata.service import FetchRequest, fetch; "
            "from gmc.refdata.transfer import Transfer\n"
            f"results = fetch(Path({str(root)!r}), FetchRequest(origin={str(published.mirror)!r}, only=['liftover']),"
            " transfer=Transfer())\n"
            "print(results[0].status); print(results[0].message)")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    status, message = done.stdout.splitlines()[:2]
    assert status == "failed"
    assert "UCSC hg38ToHg19 liftOver chain: the disk holding" in message and "is full" in message
    assert "run the command again to resume; nothing installed was changed" in message
    assert not (root / "liftover").exists()


def test_a_full_copy_of_the_shared_folder_makes_every_feature_work(tmp_path: Path, refdata_dir: Path,
                                                                     benchmarks_dir: Path, gmc_cli) -> None:
    root = tmp_path / "refdata"
    env = {"GMC_REFDATA": str(root), "GMC_DATA_DIR": str(tmp_path / "var")}

    def gmc(*args: str):
        return gmc_cli(*args, env=env)

    fetched = gmc("refdata", "fetch", "--from", str(refdata_dir))
    assert fetched.exit_code == 0, fetched.output
    listed = json.loads(gmc("refdata", "status", "--json").output)
    installed = {s["key"] for s in listed["sets"] if s["state"] == "installed"}
    assert installed == {s.key for s in status(refdata_dir) if s.state == "installed"} | {"local"}
    assert gmc("refdata", "verify").exit_code == 0

    vcf = benchmarks_dir / "rare" / "background" / "PlatinumGenomes_NA12878_GRCh38_chr21.vcf.gz"
    annotated = gmc("annotate", str(vcf), "--out", str(tmp_path / "annotated.tsv"))
    assert annotated.exit_code == 0, annotated.output
    header = [line for line in (tmp_path / "annotated.tsv").read_text().splitlines()[:40] if line.startswith("##")]
    assert "##reference_data=transcripts/GRCh38=MANE v1.5; clinvar/GRCh38=2024-12-15; constraint=v4.1; " \
           "clingen=2026-02-06; genome/GRCh38=GRCh38_sparse_Nmasked" in header
    tumour = benchmarks_dir / "cancer" / "somatic" / "pcgr_examples" / "T001-BRCA.grch38.vcf.gz"
    somatic = gmc("interpret", "somatic", "--vcf", str(tumour), "--tumour-type", "BRCA", "--out",
                  str(tmp_path / "RESULT.json"))
    assert somatic.exit_code == 0, somatic.output
    result = json.loads((tmp_path / "RESULT.json").read_text())
    assert result["findings"] and result["provenance"]["reference_data"]["cancer"].startswith("2018-05-18")
