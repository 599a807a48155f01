"""Fixtures for the annotation tests: reference data loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.genomics.annotation.annotate import AnnotationSources, load_sources


@pytest.fixture(scope="session")
def sparse_fasta(refdata_dir: Path) -> Path:
    """The sparse real GRCh38 FASTA (about 70 genes, N elsewhere)."""
    return refdata_dir / "grch38/sequence/GRCh38_sparse_Nmasked.fa.gz"


@pytest.fixture(scope="session")
def covered_transcripts(refdata_dir: Path) -> set[str]:
    """MANE Select transcripts whose CDS the sparse FASTA covers completely."""
    lines = (refdata_dir / "grch38/sequence/mane_select_covered.tsv").read_text().splitlines()[1:]
    return {line.split("\t")[2] for line in lines}


@pytest.fixture(scope="session")
def grch38_sources(sparse_fasta: Path) -> AnnotationSources:
    """GRCh38 MANE transcripts, ClinVar, gene knowledge and the sparse FASTA."""
    return load_sources("GRCh38", fasta=sparse_fasta)


@pytest.fixture(scope="session")
def grch38_no_fasta() -> AnnotationSources:
    """GRCh38 sources without a reference sequence."""
    return load_sources("GRCh38", fasta=False)
