"""gmc without reference data: it starts, the demo loads what it can, and features name the set they need."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from tests.conftest import wait_until_serving

from gmc.refdata.manifest import missing_sets, provenance_versions, reference_versions, require

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_names_the_missing_set_and_its_command(tmp_path: Path, benchmarks_dir: Path, gmc_cli) -> None:
    env = {"GMC_REFDATA": str(tmp_path / "refdata"), "GMC_DATA_DIR": str(tmp_path / "var")}
    status = gmc_cli("refdata", "status", env=env)
    assert status.exit_code == 0, status.output
    assert "does not exist yet" in status.output
    assert "Install: gmc refdata fetch --only clinvar" in status.output
    listed = json.loads(gmc_cli("refdata", "status", "--json", env=env).output)
    assert {s["key"]: s["state"] for s in listed["sets"]}["transcripts/GRCh38"] == "not installed"

    verified = gmc_cli("refdata", "verify", env=env)
    assert verified.exit_code == 1 and "no reference data is installed" in verified.output

    vcf = benchmarks_dir / "rare" / "background" / "PlatinumGenomes_NA12878_GRCh38_chr21.vcf.gz"
    annotated = gmc_cli("annotate", str(vcf), "--out", str(tmp_path / "out.tsv"), env=env)
    assert annotated.exit_code == 2
    assert "(reference-data set clinvar, GRCh38) is not installed" in annotated.output
    assert "Install it with `gmc refdata fetch --only clinvar`" in annotated.output
    assert "Traceback" not in annotated.output and not (tmp_path / "out.tsv").exists()

    fetched = gmc_cli("refdata", "fetch", "--only", "nonsense", env=env)
    assert fetched.exit_code == 1 and "unknown reference-data set 'nonsense'" in fetched.output
    nowhere = gmc_cli("refdata", "fetch", "--from", str(tmp_path / "no-mirror"), env=env)
    assert nowhere.exit_code == 1 and "no-mirror: no such directory" in nowhere.output


def test_the_demo_names_the_demo_files_it_lacks(tmp_path: Path, refdata_dir: Path, gmc_cli) -> None:
    """Reference data installed but no benchmark files (GMC_DEMO_DATA elsewhere): the demo says what it left out."""
    env = {"GMC_REFDATA": str(refdata_dir), "GMC_DATA_DIR": str(tmp_path / "var"),
           "GMC_DEMO_DATA": str(tmp_path / "no-demo-data"), "GMC_ENVIRONMENT": "development"}
    demo = gmc_cli("demo", env=env)
    assert demo.exit_code == 0, demo.output
    assert "gene panels" in demo.output and "genome datasets" not in demo.output
    skipped = [line for line in demo.output.splitlines() if line.startswith("skipped ")]
    expected = {"genomics": "demo genome", "interpretation.rare": "demo case file",
                "interpretation.cancer": "demo tumours", "research": "demo epilepsy families"}
    for part, what in expected.items():
        line = next(line for line in skipped if line.startswith(f"skipped {part}:"))
        assert what in line and str(tmp_path / "no-demo-data") in line and "GMC_DEMO_DATA" in line


def test_fetch_will_not_write_into_a_folder_it_did_not_install(refdata_dir: Path, tmp_path: Path, gmc_cli) -> None:
    shared_like = tmp_path / "refdata"
    shutil.copytree(refdata_dir / "liftover", shared_like / "liftover")
    result = gmc_cli("refdata", "fetch", "--only", "clingen", "--from", str(refdata_dir),
                    env={"GMC_REFDATA": str(shared_like)})
    assert result.exit_code == 1 and "holds reference data gmc did not install" in result.output
    assert "add --adopt" in result.output and not (shared_like / "clingen").exists()
    adopted = gmc_cli("refdata", "fetch", "--only", "clingen", "--from", str(refdata_dir), "--adopt",
                     env={"GMC_REFDATA": str(shared_like)})
    assert adopted.exit_code == 0, adopted.output
    listed = {s["key"]: s for s in json.loads(gmc_cli("refdata", "status", "--json",
                                                     env={"GMC_REFDATA": str(shared_like)}).output)["sets"]}
    assert listed["clingen"]["origin"] == f"gmc folder {refdata_dir}"
    assert listed["liftover"]["origin"] == "not installed by gmc"


def test_pages_and_api_say_which_set_is_missing(refdata_env: Path, demo_client, login) -> None:
    login(demo_client, "scientist")
    genomes = demo_client.get("/genomes")
    assert genomes.status_code == 200
    assert "Reference data not installed" in genomes.text
    assert "gmc refdata fetch --only transcripts" in genomes.text and "gmc refdata fetch --only clinvar" in genomes.text
    assert demo_client.get("/participants").status_code == 200
    assert demo_client.get("/samples").status_code == 200

    search = demo_client.get("/cancer/knowledge", params={"gene": "BRAF"})
    assert search.status_code == 503
    assert "Reference data not installed" in search.text and "gmc refdata fetch --only cancer" in search.text
    page = demo_client.get("/refdata")
    assert page.status_code == 200 and "gmc refdata fetch --only panelapp" in page.text
    listed = {s["key"]: s for s in demo_client.get("/api/refdata").json()["sets"]}
    assert listed["clinvar/GRCh38"]["state"] == "not installed"
    assert listed["clinvar/GRCh38"]["command"] == "gmc refdata fetch --only clinvar"
    api = demo_client.get("/api/cancer/knowledge", params={"gene": "BRAF"})
    assert api.status_code == 503
    assert api.json()["set"] == "cancer" and api.json()["command"] == "gmc refdata fetch --only cancer"


def test_require_and_versions_read_the_folder(refdata_dir: Path, tmp_path: Path) -> None:
    assert require("cancer", "clinvar", root=refdata_dir) == refdata_dir
    assert missing_sets("genome", build="GRCh37", root=refdata_dir)[0].command == \
        "gmc refdata fetch --only genome --build GRCh37"
    versions = {v.set: v for v in reference_versions(root=refdata_dir)}
    assert versions["clinvar/GRCh38"].release == "2024-12-15"
    assert versions["clingen"].release == "2026-02-06"
    assert versions["clinvar/GRCh38"].origin == "not installed by gmc"
    assert provenance_versions(["clinvar", "hpo"], root=refdata_dir) == {"clinvar/GRCh38": "2024-12-15",
                                                                         "hpo": "2025-01-16; 2026-02-16"}
    assert reference_versions(root=tmp_path / "nowhere") == []
    notices = missing_sets("clinvar", root=tmp_path / "nowhere")
    assert [n.set_name for n in notices] == ["clinvar"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_clone_without_shared_starts_and_serves_the_demo(tmp_path: Path) -> None:
    """A checkout with no ../shared and GMC_REFDATA unset, as a new user has it: `gmc demo` and `gmc serve`."""
    clone = tmp_path / "checkout" / "gmc"
    shutil.copytree(REPO_ROOT / "src", clone / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMC_")}
    env.update({"PYTHONPATH": str(clone / "src"), "GMC_ENVIRONMENT": "development", "GMC_LOG_LEVEL": "WARNING"})
    command = [sys.executable, "-c", "from gmc.cli import app; app()"]
    demo = subprocess.run([*command, "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "demo centre loaded" in demo.stdout and "participants" in demo.stdout
    skipped = {line.partition(":")[0].removeprefix("skipped "): line
               for line in demo.stdout.splitlines() if line.startswith("skipped ")}
    cancer = next(line for parts, line in skipped.items() if "interpretation.cancer" in parts.split(", "))
    assert "gmc refdata fetch --only cancer" in cancer
    assert not any(part in parts.split(", ") for parts in skipped for part in ("registry", "samples", "phenotype"))
    assert "phenotype profiles" in demo.stdout  # hpo3's own HPO release, no reference data needed
    needs = {"genomics": "--only transcripts", "interpretation.rare": "--only panelapp"}
    for part, fetch in needs.items():  # every feature skipped says why, none quietly
        assert fetch in next(line for parts, line in skipped.items() if part in parts.split(", "))
    assert "Traceback" not in demo.stdout + demo.stderr
    check = subprocess.run([sys.executable, "-c", "import gmc; print(gmc.__file__)"], cwd=clone, env=env,
                           capture_output=True, text=True)
    assert check.stdout.strip().startswith(str(clone))  # the copy ran, not the worktree

    port = _free_port()
    server = subprocess.Popen([*command, "serve", "--port", str(port)], cwd=clone, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, seconds=90)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/login")
            client.post("/login", data={"username": "scientist", "password": "demo-scientist-2026",
                                        "csrf_token": client.cookies["gmc_csrf"], "next": "/"})
            participants = client.get("/participants")
            assert participants.status_code == 200 and re.search(r"P\d{8}", participants.text)
            assert client.get("/samples").status_code == 200
            assert client.get("/phenotype").status_code == 200
            search = client.get("/api/phenotype/hpo/search", params={"q": "seizure"})
            assert search.status_code == 200 and any(hit["id"] == "HP:0001250" for hit in search.json())
            genomes = client.get("/genomes")
            assert genomes.status_code == 200 and "Reference data not installed" in genomes.text
            assert "gmc refdata fetch --only transcripts" in genomes.text
            board = client.get("/cancer")
            assert board.status_code == 200 and "gmc refdata fetch --only cancer" in board.text
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert b"Traceback" not in out
