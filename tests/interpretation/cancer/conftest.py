"""Fixtures for the cancer interpretation tests: the real knowledge base, built once per session."""

from __future__ import annotations

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
