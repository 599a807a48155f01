"""Reference indexes the rare-disease analysis derives from refdata, built once and kept on disk.

Each index is a pickle under ``<GMC_DATA_DIR>/cache/rare-<kind>-<key>.pickle`` whose key is the SHA-256 of its
source files' bytes and the index format (``gmc.phenotype.ontology.cached``, which the HPO caches use too): a
changed source gives another key, so a stale index is never read, and is rebuilt once (older ones of the same
kind are deleted). A file's checksum is computed once per process. Writes go to a temporary file renamed into
place, so concurrent processes never read half an index; a read-only data directory only costs rebuilding in
memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gmc.phenotype.ontology import cached, hpo_cache_dir

T = TypeVar("T")


def cached_index(kind: str, sources: Sequence[Path], build: Callable[[], T], version: int = 1) -> T:
    """Loads the index of these sources from disk, or builds it and stores it (see the module docstring)."""
    return cached(hpo_cache_dir(), f"rare-{kind}", [Path(p) for p in sources], build, version=version)
