"""The reference-data manifest: what is installed in GMC_REFDATA, from where, which release, with checksums.

`gmc refdata fetch` writes ``gmc-refdata.json`` beside the data. It is the one place reference-data versions
are read from: by `gmc refdata status` and `verify`, by result provenance (``provenance_versions``) and by
reports (``reference_versions``). A folder gmc did not install (such as ``../shared/refdata``) has no manifest;
its sets are then recognised by their files and described by the catalogue (and, for the cancer files, by the
folder's own ``cancer/MANIFEST.tsv``), marked as not installed by gmc.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gmc.refdata.catalogue import CATALOGUE, RefSet
from gmc.refdata.errors import MissingReferenceData

MANIFEST_NAME = "gmc-refdata.json"
MANIFEST_FORMAT = 1
#: Where a folder not installed by gmc keeps the provenance of its cancer files (path, source, licence).
CANCER_MANIFEST = ("cancer", "MANIFEST.tsv")
#: Folders of GMC_REFDATA that hold gmc's own working files, never data.
WORK_DIRS = (".fetch",)


def now_iso() -> str:
    """The current UTC time, to the second, as ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FileEntry:
    """One installed file: where it is, its size and checksum, and the sources it was made from."""

    path: str
    size: int
    sha256: str
    sources: list[str] = field(default_factory=list)


@dataclass
class SourceEntry:
    """One source as fetched: the catalogue's URL, where it was actually read from, release, licence, checks."""

    key: str
    title: str
    url: str
    release: str
    licence: str
    terms: str = ""
    #: Where the bytes came from (the public URL, a mirror path or URL, or a gmc folder).
    fetched_from: str = ""
    sha256: str = ""
    size: int | None = None
    #: How the download was checked: "pinned sha256", "publisher md5", "publisher sum", or "recorded".
    checked_by: str = ""
    fetched: str = ""


@dataclass
class SetEntry:
    """One installed set."""

    name: str
    build: str | None
    title: str
    installed: str
    #: "public sources", "mirror <where>", "gmc folder <where>" or "not installed by gmc".
    origin: str
    sources: list[SourceEntry] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)

    @property
    def key(self) -> str:
        """name/build, as in the catalogue."""
        return f"{self.name}/{self.build}" if self.build else self.name

    @property
    def release(self) -> str:
        """The releases of its sources, without repeats."""
        return "; ".join(dict.fromkeys(s.release for s in self.sources if s.release))

    @property
    def managed(self) -> bool:
        """True when gmc installed the set and recorded its checksums."""
        return self.origin != UNMANAGED_ORIGIN


UNMANAGED_ORIGIN = "not installed by gmc"


@dataclass
class Manifest:
    """Every installed set of one reference-data folder."""

    root: Path
    sets: dict[str, SetEntry] = field(default_factory=dict)
    updated: str = ""
    #: False for a folder gmc did not install (no gmc-refdata.json).
    managed: bool = True

    def entry_for_file(self, relative: str) -> tuple[SetEntry, FileEntry | None] | None:
        """The set (and file record) an installed file belongs to."""
        for entry in self.sets.values():
            for record in entry.files:
                if record.path == relative:
                    return entry, record
        for entry in self.sets.values():
            refset = catalogue_set(entry.key)
            if refset is not None and refset.owns(relative):
                return entry, None
        return None

    def to_json(self) -> dict[str, object]:
        """The JSON form written to gmc-refdata.json."""
        return {"format": MANIFEST_FORMAT, "updated": self.updated,
                "sets": {key: asdict(entry) for key, entry in sorted(self.sets.items())}}


def catalogue_set(key: str) -> RefSet | None:
    """The catalogue set with this key (name or name/build)."""
    return next((s for s in CATALOGUE if s.key == key), None)


def manifest_path(root: Path) -> Path:
    """Where a folder's manifest lives."""
    return Path(root) / MANIFEST_NAME


def _entry_from_json(data: dict) -> SetEntry:
    return SetEntry(name=data["name"], build=data.get("build"), title=data.get("title", ""),
                    installed=data.get("installed", ""), origin=data.get("origin", ""),
                    sources=[SourceEntry(**s) for s in data.get("sources", [])],
                    files=[FileEntry(**f) for f in data.get("files", [])])


def read_manifest(root: Path) -> Manifest:
    """The manifest of a reference-data folder: gmc-refdata.json, or what the catalogue says of its files."""
    root = Path(root)
    path = manifest_path(root)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            sets = {key: _entry_from_json(value) for key, value in data.get("sets", {}).items()}
        except (ValueError, KeyError, TypeError) as error:
            raise MissingReferenceData(f"{path} is not a gmc reference-data manifest ({error}); run "
                                       "`gmc refdata fetch` again to rewrite it", root=root) from None
        return Manifest(root, sets, data.get("updated", ""), managed=True)
    return _unmanaged_manifest(root)


def _unmanaged_manifest(root: Path) -> Manifest:
    """Recognises the sets of a folder gmc did not install by their files; versions come from the catalogue."""
    manifest = Manifest(root, managed=False)
    if not root.is_dir():
        return manifest
    cancer = read_cancer_manifest(root.joinpath(*CANCER_MANIFEST))
    every = folder_files(root)
    for refset in CATALOGUE:
        found = installed_files(root, refset, every)
        if found is None:
            continue
        sources = [SourceEntry(s.key, s.title, s.url, s.release, s.licence, s.terms) for s in refset.sources]
        by_file = {relative: key for key, relative in refset.layout}
        files = [FileEntry(relative, (root / relative).stat().st_size, "",
                           [by_file[relative]] if relative in by_file else [])
                 for relative in found]
        if refset.name == "cancer":
            # The folder's own record of where each cancer file came from (what provenance has always shown).
            for source in sources:
                noted = cancer.get(refset.file_of(source.key).removeprefix("cancer/"))
                if noted:
                    source.fetched_from, source.licence = noted
        for source in sources:
            if source.release.startswith("the date"):
                source.release = "unknown"  # published as "current": only a fetch by gmc records its date
        if refset.release_in_name:
            named = re.search(refset.release_in_name, found[0])
            for source in sources:
                source.release = named.group(1) if named else "unknown"
        mtime = max((root / f).stat().st_mtime for f in found) if found else 0
        manifest.sets[refset.key] = SetEntry(refset.name, refset.build, refset.title,
                                             datetime.fromtimestamp(mtime, UTC).date().isoformat(),
                                             UNMANAGED_ORIGIN, sources, files)
    return manifest


def read_cancer_manifest(path: Path) -> dict[str, tuple[str, str]]:
    """path -> (source/release, licence) from a folder's cancer/MANIFEST.tsv (empty when absent)."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["path"]: (row.get("source", ""), row.get("licence", ""))
                for row in csv.DictReader(handle, delimiter="\t") if row.get("path")}


def read_cancer_checksums(path: Path) -> dict[str, tuple[int, str]]:
    """path -> (bytes, sha256 prefix) from a folder's cancer/MANIFEST.tsv (empty when absent)."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["path"]: (int(row["bytes"]), row["sha256_16"])
                for row in csv.DictReader(handle, delimiter="\t")
                if row.get("path") and (row.get("bytes") or "").isdigit() and row.get("sha256_16")}


def folder_files(root: Path) -> list[str]:
    """Relative paths of every file under root (gmc's manifest and working folders left out)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in WORK_DIRS)
        base = Path(dirpath).relative_to(root)
        found += [name if str(base) == "." else f"{base.as_posix()}/{name}" for name in sorted(filenames)]
    return [f for f in found if f != MANIFEST_NAME]


def installed_files(root: Path, refset: RefSet, files: list[str] | None = None) -> list[str] | None:
    """The set's files present under root (relative paths), or None when a required one is missing."""
    files = folder_files(root) if files is None else files
    if first_missing(root, refset, files) is not None:
        return None
    return [f for f in files if refset.owns(f)]


def first_missing(root: Path, refset: RefSet, files: list[str] | None = None) -> str | None:
    """The first required pattern of a set with no file under root, or None when the set is complete."""
    if files is None:
        root = Path(root)
        for pattern in refset.files:
            if not any(p.is_file() for p in root.glob(pattern)):
                return pattern
        return None
    for pattern in refset.files:
        if not any(fnmatch.fnmatchcase(f, pattern) for f in files):
            return pattern
    return None


def write_manifest(manifest: Manifest) -> None:
    """Writes gmc-refdata.json atomically (a reader sees the old or the new one, never half)."""
    manifest.updated = now_iso()
    path = manifest_path(manifest.root)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


# --------------------------------------------------------------------------- what features and reports call


def _root(root: Path | None) -> Path:
    """The reference-data folder asked for, or GMC_REFDATA (which may not exist yet: then every set is missing)."""
    if root is not None:
        return Path(root)
    from gmc.settings import get_settings

    configured = get_settings().refdata
    if configured is None:
        raise MissingReferenceData.no_folder(None)
    return Path(configured)


def require(*names: str, build: str | None = None, root: Path | None = None) -> Path:
    """The reference-data folder, after checking the named sets are installed (else a notice naming the set)."""
    folder = _root(root)
    for name in names:
        for refset in CATALOGUE:
            if refset.name == name and refset.build in (None, build or "GRCh38"):
                missing = first_missing(folder, refset)
                if missing is not None:
                    raise MissingReferenceData.for_set(refset, folder, missing)
    return folder


def missing_sets(*names: str, build: str | None = None, root: Path | None = None) -> list[MissingReferenceData]:
    """The named sets that are not installed, as notices (empty when all are there); never raises."""
    try:
        folder = _root(root)
    except MissingReferenceData as error:
        return [error]
    if not folder.is_dir():
        return [MissingReferenceData.for_set(s, folder) for name in names for s in CATALOGUE
                if s.name == name and s.build in (None, build or "GRCh38")]
    notices = []
    for name in names:
        try:
            require(name, build=build, root=folder)
        except MissingReferenceData as error:
            notices.append(error)
    return notices


@dataclass(frozen=True)
class ReferenceVersion:
    """One installed set's version, as a report prints it."""

    set: str
    title: str
    release: str
    licence: str
    installed: str
    origin: str
    sources: tuple[tuple[str, str, str], ...]  #: (title, release, url) of each source

    @property
    def label(self) -> str:
        """One line: title (release)."""
        return f"{self.title} ({self.release})" if self.release else self.title


_VERSIONS_CACHE: dict[tuple[str, int, int], Manifest] = {}


def _manifest_for_versions(root: Path) -> Manifest:
    """read_manifest, reused while the folder and its manifest are unchanged (results ask for it per batch)."""
    def mtime(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return -1

    key = (str(root), mtime(manifest_path(root)), mtime(root))
    found = _VERSIONS_CACHE.get(key)
    if found is None:
        found = read_manifest(root)
        _VERSIONS_CACHE.clear()
        _VERSIONS_CACHE[key] = found
    return found


def reference_versions(sets: list[str] | None = None, *, root: Path | None = None) -> list[ReferenceVersion]:
    """The versions of the installed reference-data sets (all, or the named ones), for reports and results."""
    try:
        manifest = _manifest_for_versions(_root(root))
    except MissingReferenceData:
        return []
    order = [s.key for s in CATALOGUE]
    found = []
    for key, entry in sorted(manifest.sets.items(), key=lambda item: (
            order.index(item[0]) if item[0] in order else len(order), item[0])):
        if sets and entry.name not in sets and key not in sets:
            continue
        licences = "; ".join(dict.fromkeys(s.licence for s in entry.sources if s.licence))
        found.append(ReferenceVersion(key, entry.title, entry.release, licences, entry.installed, entry.origin,
                                      tuple((s.title, s.release, s.url) for s in entry.sources)))
    return found


def provenance_versions(sets: list[str], *, build: str | None = None, root: Path | None = None) -> dict[str, str]:
    """{set: release} of the named sets (build-specific ones of this build only), for a result's provenance;
    a set that is not installed is left out."""
    wanted = build or "GRCh38"
    return {v.set: v.release for v in reference_versions(sets, root=root)
            if "/" not in v.set or v.set.endswith(f"/{wanted}")}


def provenance_text(sets: list[str], *, build: str | None = None, root: Path | None = None) -> str:
    """The same as one line ("clinvar/GRCh38=2024-12-15; clingen=2026-02-06"), for text headers and metadata."""
    versions = provenance_versions(sets, build=build, root=root)
    return "; ".join(f"{key}={release.replace('; ', ', ')}" for key, release in versions.items()) or "none recorded"


def file_provenance(path: Path, *, root: Path | None = None) -> tuple[str, str]:
    """(source and release, licence) of one installed file: from the manifest, or a folder's cancer/MANIFEST.tsv."""
    folder = _root(root)
    try:
        relative = str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return "", ""
    manifest = read_manifest(folder)
    if not manifest.managed:
        cancer = read_cancer_manifest(folder.joinpath(*CANCER_MANIFEST))
        return cancer.get(relative.removeprefix("cancer/"), ("", ""))
    found = manifest.entry_for_file(relative)
    if found is None:
        return "", ""
    entry, record = found
    keys = record.sources if record else []
    sources = [s for s in entry.sources if s.key in keys] or entry.sources[:1]
    release = "; ".join(f"{s.fetched_from or s.url} ({s.release})" for s in sources)
    return release, "; ".join(dict.fromkeys(s.licence for s in sources))
