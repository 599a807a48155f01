"""Reference indexes the rare-disease analysis derives from refdata, built once and kept on disk.

Each index is a pickle under ``<GMC_DATA_DIR>/cache/rare-<kind>-<key>.pickle`` whose key is the SHA-256 of its
source files' bytes (and the index format): a changed source gives another key, so a stale index is never
read, and is rebuilt once (older ones of the same kind are deleted). The checksum of a file is itself
remembered per (path, size, mtime) in the process, so a process hashes each source at most once. Writes go to
a temporary file renamed into place, so concurrent processes never read half an index; a read-only data
directory only costs rebuilding in memory.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    found = _CHECKSUMS.get(key)
    if found is None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        found = _CHECKSUMS[key] = digest.hexdigest()
    return found


def sources_key(paths: Sequence[Path], kind: str, version: int) -> str:
    """The cache key of an index: its kind, format version and its sources' checksums."""
    digest = hashlib.sha256(f"{kind}:{version}".encode())
    for path in paths:
        digest.update(f"|{Path(path).name}:{file_checksum(Path(path))}".encode())
    return digest.hexdigest()[:20]


def cache_dir() -> Path:
    """Where the indexes live: GMC data_dir/cache."""
    from gmc.settings import get_settings

    return Path(get_settings().data_dir) / "cache"


def cached_index(kind: str, sources: Sequence[Path], build: Callable[[], T], version: int = 1) -> T:
    """Loads the index of these sources from disk, or builds it and stores it (see the module docstring)."""
    directory = cache_dir()
    path = directory / f"rare-{kind}-{sources_key(sources, kind, version)}.pickle"
    if path.exists():
        collecting = gc.isenabled()
        gc.disable()  # loading many small objects: the collector would walk them again and again
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # truncated or from older code: rebuilt below
        finally:
            if collecting:
                gc.enable()
    value = build()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        for stale in directory.glob(f"rare-{kind}-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass
    return value
