"""Phenopacket import throughput through the `gmc phenotype phenopackets import` command.

Usage: .venv/bin/python bench/phenotype-web/phenopacket_import.py [--url DATABASE_URL] [--folder DIR]
Without --url a fresh SQLite file in a temporary directory is used. The database must be empty of these
phenopackets: the first run creates one participant per phenopacket, the second run times the re-import
(every subject already mapped, every term already recorded).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from gmc.db.migrate import upgrade
from gmc.phenotype.commands import app
from gmc.phenotype.ontology import get_ontology
from gmc.settings import reset_settings_cache

REPO = Path(__file__).resolve().parents[2]


def run(url: str, folder: Path) -> float:
    """Runs the import command once; returns the wall time in seconds."""
    reset_settings_cache()
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["phenopackets", "import", str(folder)],
                                env={"GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test"})
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(result.output)
    print(result.output.strip().splitlines()[0])
    return elapsed


def main() -> None:
    """Migrates the database, then imports the folder twice and prints the throughput."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="")
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "benchmarks" / "rare" / "phenopackets")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='gmc-bench-')}/bench.db"
    os.environ["GMC_DATABASE_URL"] = url
    upgrade(url)
    get_ontology()  # warm, as in a long-running process; a cold start adds well under a second
    files = len(list(args.folder.glob("*.json")))
    first = run(url, args.folder)
    second = run(url, args.folder)
    print(f"engine {url.split(':', 1)[0]}: {files} phenopackets, first import {first:.1f} s "
          f"({files / first:.0f} packets/s), re-import {second:.1f} s ({files / second:.0f} packets/s)")


if __name__ == "__main__":
    main()
