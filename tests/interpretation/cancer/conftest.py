"""Fixtures for the cancer interpretation tests: the real knowledge base, built once per session."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase, load_knowledgebase


@pytest.fixture(scope="session")
def kb(refdata_dir: Path) -> KnowledgeBase:
    """The cancer knowledge base imported from ../shared/refdata."""
    return load_knowledgebase(str(refdata_dir))


@pytest.fixture(scope="session")
def somatic_dir(benchmarks_dir: Path) -> Path:
    """The real TCGA tumour files."""
    return benchmarks_dir / "cancer" / "somatic"


@pytest.fixture(scope="session")
def exome_bed(refdata_dir: Path) -> Callable[..., Path]:
    """Writes the MANE coding exons (+-10 bp) of a build's first genes as a capture-like BED."""

    def write(build: str, path: Path, genes: int = 400) -> Path:
        lines = []
        with gzip.open(refdata_dir / build.lower() / "mane_select.genepred.tsv.gz", "rt") as handle:
            next(handle)
            for number, row in enumerate(handle):
                if number >= genes:
                    break
                fields = row.split("\t")
                cds_start, cds_end = int(fields[5]), int(fields[6])
                for start, end in zip(fields[8].strip(",").split(","), fields[9].strip(",").split(","), strict=True):
                    low, high = max(int(start), cds_start), min(int(end), cds_end)
                    if low < high:
                        lines.append(f"{fields[1]}\t{low - 10}\t{high + 10}\n")
        path.write_text("".join(lines))
        return path

    return write
