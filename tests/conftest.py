"""Shared test fixtures: where the shared data lives, and real databases on both engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("GMC_SHARED", REPO_ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared directory with reference and benchmark data (it must exist)."""
    assert SHARED_DIR.is_dir(), f"../shared not found at {SHARED_DIR}"
    return SHARED_DIR


@pytest.fixture(scope="session")
def refdata_dir(shared_dir: Path) -> Path:
    """The shared reference-data directory (GMC_REFDATA in production)."""
    return shared_dir / "refdata"


@pytest.fixture(scope="session")
def benchmarks_dir(shared_dir: Path) -> Path:
    """The shared benchmark cases (phenopackets, exomes, annotated trios, tumours)."""
    return shared_dir / "benchmarks"
