"""Fetch, verify and report reference data: the rules behind `gmc refdata fetch|status|verify`.

A set is installed all-or-nothing. Its sources are downloaded (resumable) into GMC_REFDATA/.fetch/<set>,
checked (size, pinned SHA-256 or the publisher's checksum list), converted into gmc's layout, and read by gmc's
own readers over a view of the folder as it would be; only then is a journal written and the files moved into
place, the manifest last. A crash while moving is finished by the next run (the journal is replayed); any
failure before leaves the installed set as it was.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from gmc.refdata.catalogue import CATALOGUE, RefSet, Source, select
from gmc.refdata.checks import CheckFailed
from gmc.refdata.convert import CONVERTERS, Context, ConversionError, hook
from gmc.refdata.errors import FetchError, MissingReferenceData
from gmc.refdata.manifest import (
    CANCER_MANIFEST,
    MANIFEST_NAME,
    UNMANAGED_ORIGIN,
    WORK_DIRS,
    FileEntry,
    Manifest,
    SetEntry,
    SourceEntry,
    first_missing,
    folder_files,
    now_iso,
    read_cancer_checksums,
    read_manifest,
    sha256_file,
    write_manifest,
)
from gmc.refdata.transfer import Origin, Transfer, bsd_sum, candidates, parse_origin, url_join

#: The pseudo-set that holds a copied folder's files that belong to no set (notes, licences, regional files).
LOCAL_SET = "local"
#: Sets a set needs installed beside it (its checks read them).
NEEDS = {"cancer": ("liftover",)}


@dataclass
class FetchRequest:
    """What `gmc refdata fetch` was asked for."""

    only: list[str] | None = None
    build: str | None = None
    #: --from: a mirror or gmc folder (path, file:// or http(s):// URL); None for the public sources.
    origin: str | None = None
    #: Only the small default sets (what `make demo` fetches on a fresh machine).
    defaults_only: bool = False
    #: Fetch again even when the same release is installed.
    force: bool = False
    #: A YAML or JSON file replacing catalogue URLs, releases and checksums (GMC_REFDATA_SOURCES).
    sources_file: Path | None = None
    #: Install into a folder that holds reference data gmc did not install (such as ../shared/refdata).
    adopt: bool = False


@dataclass
class SetResult:
    """The outcome for one set."""

    key: str
    status: str  #: installed, up to date, failed or skipped
    message: str = ""
    files: list[str] = field(default_factory=list)


Note = Callable[[str], None]


# ----------------------------------------------------------------------------- sources file


def load_sources_file(path: Path | None) -> dict[str, dict[str, dict[str, object]]]:
    """{set: {source: {field: value}}} from a YAML/JSON sources file; errors name the file and the key."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise FetchError(f"sources file {path}: cannot be read ({error})") from None
    allowed = {"url", "release", "sha256", "size", "checksum_url", "checksum_kind"}
    if not isinstance(data, dict):
        raise FetchError(f"sources file {path}: expected a mapping of set names to sources")
    keys = {s.key for s in CATALOGUE} | {s.name for s in CATALOGUE}
    for set_key, sources in data.items():
        if set_key not in keys:
            raise FetchError(f"sources file {path}: unknown set {set_key!r} (known: {', '.join(sorted(keys))})")
        if not isinstance(sources, dict):
            raise FetchError(f"sources file {path}: {set_key} must map source keys to fields")
        for source_key, fields in sources.items():
            known = {s.key for r in CATALOGUE if set_key in (r.key, r.name) for s in r.sources}
            if source_key not in known:
                raise FetchError(f"sources file {path}: set {set_key} has no source {source_key!r} "
                                 f"(it has {', '.join(sorted(known))})")
            if not isinstance(fields, dict) or set(fields) - allowed:
                raise FetchError(f"sources file {path}: {set_key}.{source_key} may set only "
                                 f"{', '.join(sorted(allowed))}")
    return data


def with_overrides(refset: RefSet, overrides: dict[str, dict[str, dict[str, object]]]) -> RefSet:
    """The set with its sources replaced as a sources file says (a new URL drops the pinned checksum)."""
    changes = {**overrides.get(refset.name, {}), **overrides.get(refset.key, {})}
    if not changes:
        return refset
    sources = []
    for source in refset.sources:
        fields = dict(changes.get(source.key, {}))
        if "url" in fields and "sha256" not in fields:
            fields.setdefault("sha256", "")
            fields.setdefault("size", None)
        if "size" in fields and fields["size"] is not None:
            fields["size"] = int(fields["size"])  # type: ignore[arg-type]
        sources.append(replace(source, **{k: str(v) if k not in ("size",) else v for k, v in fields.items()}))
    return replace(refset, sources=tuple(sources))


# ----------------------------------------------------------------------------- fetch


def fetch(root: Path, request: FetchRequest, *, transfer: Transfer, note: Note = lambda text: None) -> list[SetResult]:
    """Fetches, checks and installs the requested sets into root; one result per set (failures do not stop
    the others, and leave their installed files untouched)."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = root / ".fetch"
        work.mkdir(exist_ok=True)
    except OSError as error:
        raise FetchError(f"GMC_REFDATA ({root}) cannot be written ({error.strerror}): set GMC_REFDATA to a "
                         "folder gmc may write") from None
    if not request.adopt and not (root / MANIFEST_NAME).is_file() and installed_sets(root):
        raise FetchError(f"GMC_REFDATA ({root}) holds reference data gmc did not install (it has no {MANIFEST_NAME}): "
                         "point GMC_REFDATA at another folder to install there, or add --adopt to install into this "
                         "one (its files stay, listed as not installed by gmc)")
    overrides = load_sources_file(request.sources_file)
    selection = select(request.only, request.build, defaults_only=request.defaults_only)
    with _locked(work):
        roll_forward(root, note)
        origin, folder = resolve_origin(request.origin, transfer, root)
        chosen = list(selection.sets)
        if folder is not None and not request.only:
            # A whole gmc folder is copied: every set it has, of either build, large ones too.
            chosen = [s for s in CATALOGUE if _folder_has(folder, s)]
        sets = [with_overrides(s, overrides) for s in _with_needs(chosen, root, note, origin)]
        results = [SetResult(name, "skipped", reason) for name, reason in selection.skipped.items()]
        for refset in sets:
            try:
                if not request.force and _up_to_date(root, refset, origin, folder):
                    results.append(SetResult(refset.key, "up to date", "the same release is installed"))
                    continue
                note(f"{refset.key}: {refset.title}")
                entry = _fetch_set(root, refset, origin, folder, transfer, note)
                results.append(SetResult(refset.key, "installed", entry.release, [f.path for f in entry.files]))
            except (FetchError, CheckFailed, MissingReferenceData) as error:
                results.append(SetResult(refset.key, "failed", str(error)))
        if folder is not None and not request.only:
            results.append(_copy_local_files(root, folder, origin, transfer, note))
    return results


@dataclass
class SourceFolder:
    """A gmc reference-data folder fetched from: its manifest, and whether gmc installed it."""

    manifest: Manifest
    #: Relative paths of every file in it (None over http, where only a manifest lists them).
    files: list[str] | None


def resolve_origin(text: str | None, transfer: Transfer, root: Path) -> tuple[Origin, SourceFolder | None]:
    """--from as an Origin: the public sources, a mirror of published files, or a gmc folder (with its files)."""
    kind, base = parse_origin(text)
    if kind == "public":
        return Origin("public"), None
    if kind == "dir":
        assert isinstance(base, Path)
        if base == root.resolve():
            raise FetchError(f"--from {text} is GMC_REFDATA itself: fetch from another folder, or set GMC_REFDATA "
                             "to where the data should go")
        files = folder_files(base)
        if MANIFEST_NAME in files or any(_matches(files, s) for s in CATALOGUE):
            return Origin("folder", base), SourceFolder(read_manifest(base), files)
        return Origin("mirror", base), None
    assert isinstance(base, str)
    try:
        text_manifest, _ = transfer.get_text([f"{base}/{MANIFEST_NAME}"], "gmc manifest")
    except FetchError:
        return Origin("mirror", base), None
    try:
        data = json.loads(text_manifest)
    except ValueError:
        return Origin("mirror", base), None
    manifest_file = root / ".fetch" / "source-manifest.json"
    manifest_file.parent.mkdir(parents=True, exist_ok=True)
    (manifest_file.parent / MANIFEST_NAME).write_text(json.dumps(data), encoding="utf-8")
    return Origin("folder", base), SourceFolder(read_manifest(manifest_file.parent), None)


def _matches(files: list[str], refset: RefSet) -> bool:
    return all(any(fnmatch.fnmatchcase(f, pattern) for f in files) for pattern in refset.files)


def _folder_has(folder: SourceFolder, refset: RefSet) -> bool:
    if folder.files is None:
        return refset.key in folder.manifest.sets
    return _matches(folder.files, refset)


def _with_needs(sets: list[RefSet], root: Path, note: Note, origin: Origin) -> list[RefSet]:
    """Adds the sets a chosen set needs and that are neither chosen nor installed."""
    chosen = {s.key for s in sets}
    added = []
    for refset in sets:
        for name in NEEDS.get(refset.name, ()):
            needed = next(s for s in CATALOGUE if s.name == name and s.build in (None, refset.build))
            if needed.key not in chosen and first_missing(root, needed) is not None:
                note(f"{needed.key}: also fetched, {refset.key} needs it")
                chosen.add(needed.key)
                added.append(needed)
    ordered = added + sets
    return sorted(ordered, key=lambda s: [c.key for c in CATALOGUE].index(s.key))


def _up_to_date(root: Path, refset: RefSet, origin: Origin, folder: SourceFolder | None) -> bool:
    """True when gmc installed this set with every recorded file in place (same size) and from the same
    sources: the same URLs and releases, or, from a gmc folder, the same files of that folder."""
    if not (root / MANIFEST_NAME).is_file():
        return False
    entry = read_manifest(root).sets.get(refset.key)
    if entry is None or not entry.managed or not entry.files:
        return False
    if not all((root / f.path).is_file() and (root / f.path).stat().st_size == f.size for f in entry.files):
        return False
    if folder is not None:
        theirs = folder.manifest.sets.get(refset.key)
        if entry.origin != origin.describe() or theirs is None:
            return False
        if all(f.sha256 for f in theirs.files):
            return {(f.path, f.sha256) for f in theirs.files} <= {(f.path, f.sha256) for f in entry.files}
        return {(f.path, f.size) for f in theirs.files} <= {(f.path, f.size) for f in entry.files}
    installed = {(s.key, s.url, s.release) for s in entry.sources}
    return all((s.key, s.url, s.release) in installed or (s.key, s.url) in {(k, u) for k, u, _ in installed}
               and s.release.startswith("the date") for s in refset.sources)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", key)


def _fetch_set(root: Path, refset: RefSet, origin: Origin, folder: SourceFolder | None, transfer: Transfer,
               note: Note) -> SetEntry:
    stage = root / ".fetch" / _safe(refset.key)
    downloads, built = stage / "downloads", stage / "build"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir(parents=True)
    try:
        if folder is not None:
            outputs, sources = _copy_set(refset, origin, folder, downloads, built, transfer, note)
        else:
            outputs, sources = _download_and_convert(refset, origin, downloads, built, transfer, note)
        _check(root, refset, built, stage / "view", note)
        files = [FileEntry(relative, (built / relative).stat().st_size, sha256_file(built / relative), keys)
                 for relative, keys in sorted(outputs.items())]
        entry = SetEntry(refset.name, refset.build, refset.title, now_iso(), origin.describe(), sources, files)
        install(root, entry, built, stage, note)
    except OSError as error:
        from gmc.refdata.transfer import no_space

        if no_space(error):
            raise FetchError(f"{refset.title}: the disk holding {root} is full while converting ({error.strerror}). "
                             "Free some space or set GMC_REFDATA to a larger disk; nothing installed was changed.",
                             source=refset.title) from None
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return entry


def _download_and_convert(refset: RefSet, origin: Origin, downloads: Path, built: Path, transfer: Transfer,
                          note: Note) -> tuple[dict[str, list[str]], list[SourceEntry]]:
    paths: dict[str, Path] = {}
    pages: dict[str, Path] = {}
    entries: list[SourceEntry] = []
    for source in refset.sources:
        if source.api:
            pages[source.key], where = fetch_pages(source, origin, downloads / source.key, transfer, note)
            entries.append(SourceEntry(source.key, source.title, source.url, source.release, source.licence,
                                       source.terms, where, checked_by="each page read as JSON", fetched=now_iso()))
            continue
        name = Path(source.url.split("?")[0]).name or source.key
        fetched = transfer.fetch(source, candidates(origin, source.url), downloads / source.key / name,
                                 size=source.size)
        checked_by = verify_download(source, fetched, origin, transfer, note)
        note(f"  {source.title}: {fetched.size:,} bytes from {fetched.location} ({checked_by})")
        paths[source.key] = fetched.path
        entries.append(SourceEntry(source.key, source.title, source.url, source.release, source.licence, source.terms,
                                   fetched.location, fetched.sha256, fetched.size, checked_by, now_iso()))
    context = Context(refset.build, note=lambda text: note(f"  {text}"), pages=pages)
    try:
        outputs = CONVERTERS[refset.convert](refset, paths, built, context)
    except ConversionError:
        raise
    except (ValueError, KeyError, UnicodeDecodeError) as error:
        raise ConversionError(f"{refset.title}: the downloaded files could not be converted ({error}); they are not "
                              "in the published format expected. Nothing installed was changed.",
                              source=refset.title) from None
    for entry in entries:
        if entry.key in context.releases:
            entry.release = context.releases[entry.key]
        elif entry.release.startswith("the date"):
            entry.release = datetime.now(UTC).date().isoformat()
    return outputs, entries


def verify_download(source: Source, fetched, origin: Origin, transfer: Transfer, note: Note) -> str:  # noqa: ANN001
    """Checks a download's size and checksum (pinned, or the publisher's list); returns how it was checked.
    A mismatch discards the download and raises, naming the source."""
    def mismatch(what: str, expected: str, got: str) -> FetchError:
        fetched.path.unlink(missing_ok=True)
        return FetchError(f"{source.title}: {what} mismatch for {fetched.location}: expected {expected}, got {got}. "
                          "The file is damaged or not the release gmc pins; it was discarded and nothing installed "
                          "was changed. Run the command again to download it afresh; if the publisher has replaced "
                          "the file, name the new release in GMC_REFDATA_SOURCES.", source=source.title)

    if source.size is not None and fetched.size != source.size:
        raise mismatch("size", f"{source.size:,} bytes", f"{fetched.size:,} bytes")
    if source.sha256:
        if fetched.sha256 != source.sha256:
            raise mismatch("SHA-256", source.sha256, fetched.sha256)
        return "pinned sha256"
    if not source.checksum_url:
        return "recorded"
    name = Path(source.url.split("?")[0]).name
    try:
        text, _where = transfer.get_text(candidates(origin, source.checksum_url), f"checksum list for {source.title}")
    except FetchError as error:
        note(f"  warning: {error}; the download's checksum is recorded instead")
        return "recorded (publisher checksum list not found)"
    expected = parse_checksum_list(text, name, source.checksum_kind)
    if expected is None:
        note(f"  warning: {source.checksum_url} does not list {name}; the download's checksum is recorded instead")
        return "recorded (not in the publisher checksum list)"
    if source.checksum_kind == "sum":
        got = "{} {}".format(*bsd_sum(fetched.path))
        if got != expected:
            raise mismatch("BSD sum", expected, got)
        return "publisher sum"
    if fetched.md5 != expected:
        raise mismatch("MD5", expected, fetched.md5)
    return "publisher md5"


def parse_checksum_list(text: str, name: str, kind: str = "md5") -> str | None:
    """The checksum a publisher lists for a file name: md5sum lines ("hex  name", "hex *./name", BSD
    "MD5 (name) = hex"), or Ensembl's `sum` lines ("checksum blocks name")."""
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if kind == "sum":
            if len(fields) >= 3 and fields[-1].lstrip("./") == name:
                return f"{int(fields[0])} {int(fields[1])}"
            continue
        bsd = re.match(r"^MD5 \((.+)\) = ([0-9a-fA-F]{32})$", line.strip())
        if bsd and Path(bsd.group(1)).name == name:
            return bsd.group(2).lower()
        if len(fields) >= 2 and re.fullmatch(r"[0-9a-fA-F]{32}", fields[0]):
            listed = fields[-1].lstrip("*")
            if listed.removeprefix("./") == name or Path(listed).name == name:
                return fields[0].lower()
        elif len(fields) == 1 and re.fullmatch(r"[0-9a-fA-F]{32}", fields[0]):
            return fields[0].lower()  # a bare .md5 file for this one download
    return None


def fetch_pages(source: Source, origin: Origin, folder: Path, transfer: Transfer, note: Note) -> tuple[Path, str]:
    """Saves every page of a paged API (PanelApp: the panel list, then each panel); pages saved by an earlier,
    interrupted run are kept and not asked for again."""
    folder.mkdir(parents=True, exist_ok=True)
    url: str | None = source.url
    page = 1
    panel_ids: list[int] = []
    where = ""
    while url:
        data = _page(folder / f"list-{page}.json", url, origin, transfer, f"{source.title} (list page {page})")
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ConversionError(f"{source.title}: list page {page} has no results list; not the PanelApp API "
                                  "v1. Nothing installed was changed.", source=source.title)
        panel_ids += [int(item["id"]) for item in results if isinstance(item, dict) and "id" in item]
        where = where or url
        url = data.get("next")
        page += 1
    advance = transfer.progress(source.title, len(panel_ids))
    for panel_id in panel_ids:
        _page(folder / f"panel-{panel_id}.json", url_join(source.url, f"{panel_id}/"), origin, transfer,
              f"{source.title} (panel {panel_id})")
        advance(1)
    note(f"  {source.title}: {len(panel_ids):,} panels from {candidates(origin, source.url)[0]}")
    return folder, candidates(origin, source.url)[0]


def _page(cache: Path, url: str, origin: Origin, transfer: Transfer, what: str) -> dict:
    if cache.is_file():
        try:
            return json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            cache.unlink()
    text, _where = transfer.get_text(candidates(origin, url), what)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ConversionError(f"{what}: not JSON ({error}). Nothing installed was changed.", source=what) from None
    temporary = cache.with_name(cache.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, cache)
    return data


def _copy_set(refset: RefSet, origin: Origin, folder: SourceFolder, downloads: Path, built: Path,
              transfer: Transfer, note: Note) -> tuple[dict[str, list[str]], list[SourceEntry]]:
    """A set copied from another gmc folder: every file checked against that folder's checksums (its manifest,
    or for a folder gmc did not install, its cancer/MANIFEST.tsv) before gmc's readers read them."""
    entry = folder.manifest.sets.get(refset.key)
    if entry is None or (folder.files is not None and not _matches(folder.files, refset)):
        missing = next((p for p in refset.files if folder.files is None or
                        not any(fnmatch.fnmatchcase(f, p) for f in folder.files)), refset.files[0])
        raise FetchError(f"{refset.title}: {origin.base} does not have it ({missing} is missing); nothing installed "
                         "was changed.", source=refset.title)
    if folder.files is not None:
        relatives = [f for f in folder.files if refset.owns(f) and f != MANIFEST_NAME]
    else:
        relatives = [f.path for f in entry.files]
    recorded = {f.path: f for f in entry.files if f.sha256}
    cancer = {} if origin.is_http else read_cancer_checksums(Path(origin.base).joinpath(*CANCER_MANIFEST))  # type: ignore[arg-type]
    outputs: dict[str, list[str]] = {}
    for relative in relatives:
        location = f"{origin.base}/{relative}" if origin.is_http else str(Path(origin.base) / relative)  # type: ignore[arg-type]
        copy = Source(relative, relative, location, "", "")
        fetched = transfer.fetch(copy, [location], downloads / relative)
        expected = recorded.get(relative)
        listed = cancer.get(relative.removeprefix("cancer/")) if relative.startswith("cancer/") else None
        if expected is not None and (fetched.sha256 != expected.sha256 or fetched.size != expected.size):
            fetched.path.unlink(missing_ok=True)
            raise FetchError(f"{refset.title}: {location} does not match the source folder's manifest (sha256 "
                             f"{fetched.sha256}, expected {expected.sha256}); it was discarded and nothing installed "
                             "was changed.", source=refset.title)
        if listed is not None and (fetched.size != listed[0] or not fetched.sha256.startswith(listed[1])):
            fetched.path.unlink(missing_ok=True)
            raise FetchError(f"{refset.title}: {location} does not match its row in the folder's cancer/MANIFEST.tsv "
                             f"({listed[0]:,} bytes, sha256 {listed[1]}...); it was discarded and nothing installed "
                             "was changed.", source=refset.title)
        target = built / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fetched.path, target)
        keys = expected.sources if expected else [k for k, path in refset.layout if path == relative]
        outputs[relative] = keys
    note(f"  {len(outputs)} files copied from {origin.base} and checked against its "
         f"{'manifest' if folder.manifest.managed else 'cancer/MANIFEST.tsv and gmc readers'}")
    sources = [replace(s, fetched_from=s.fetched_from or origin.describe(), fetched=s.fetched or now_iso())
               for s in entry.sources]
    return outputs, sources


def _copy_local_files(root: Path, folder: SourceFolder, origin: Origin, transfer: Transfer, note: Note) -> SetResult:
    """Copies a gmc folder's files that belong to no set (notes, licences, regional test files) as set "local"."""
    if folder.files is None:
        return SetResult(LOCAL_SET, "skipped", "an http folder lists only its sets")
    loose = [f for f in folder.files if f != MANIFEST_NAME and not any(s.owns(f) for s in CATALOGUE)]
    if not loose:
        return SetResult(LOCAL_SET, "skipped", "no other files")
    note(f"{LOCAL_SET}: other files of {origin.base} (notes, licences, regional frequency files)")
    stage = root / ".fetch" / LOCAL_SET
    built = stage / "build"
    shutil.rmtree(built, ignore_errors=True)
    files = []
    for relative in loose:
        location = str(Path(origin.base) / relative)  # type: ignore[arg-type]
        fetched = transfer.fetch(Source(relative, relative, location, "", ""), [location], built / relative)
        files.append(FileEntry(relative, fetched.size, fetched.sha256))
    entry = SetEntry(LOCAL_SET, None, "Other files of the copied folder (notes, licences, regional frequency "
                     "files)", now_iso(), origin.describe(),
                     [SourceEntry(LOCAL_SET, "copied files", str(origin.base), "", "as stated in the folder's notes",
                                  fetched_from=str(origin.base), checked_by="recorded", fetched=now_iso())], files)
    install(root, entry, built, stage, note)
    shutil.rmtree(stage, ignore_errors=True)
    return SetResult(LOCAL_SET, "installed", f"{len(files)} files", [f.path for f in files])


# ----------------------------------------------------------------------------- checks and install


def _check(root: Path, refset: RefSet, built: Path, view: Path, note: Note) -> None:
    """Runs the set's readers over the folder as it would be after the install (new files over the old)."""
    shutil.rmtree(view, ignore_errors=True)
    build_view(root, built, view)
    for reference in refset.checks:
        try:
            count = hook(reference)(view)
        except MissingReferenceData:
            raise
        except Exception as error:  # noqa: BLE001 - any reader failure refuses the set
            raise CheckFailed(f"{refset.title}: gmc's reader refused the fetched files ({type(error).__name__}: "
                              f"{error}); nothing installed was changed.") from None
        note(f"  read by gmc ({reference.rsplit(':', 1)[1]}): {count:,} records")
    shutil.rmtree(view, ignore_errors=True)


def build_view(root: Path, built: Path, view: Path) -> None:
    """A folder of symbolic links: the installed files, with the newly built ones in their place."""
    view.mkdir(parents=True)
    for child in root.iterdir():
        if child.name not in WORK_DIRS:
            (view / child.name).symlink_to(child.resolve())
    for path in sorted(built.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(built)
        folder = view
        for part in relative.parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                target = folder.resolve()
                folder.unlink()
                folder.mkdir()
                for child in target.iterdir():
                    (folder / child.name).symlink_to(child.resolve())
            else:
                folder.mkdir(exist_ok=True)
        link = view / relative
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path.resolve())


def install(root: Path, entry: SetEntry, built: Path, stage: Path, note: Note) -> None:
    """Moves a checked set into place through a journal, drops files the previous install of it had and this
    one has not, and records it in the manifest (last, so readers never see a half-installed set recorded)."""
    previous = read_manifest(root).sets.get(entry.key) if (root / MANIFEST_NAME).is_file() else None
    new_paths = {f.path for f in entry.files}
    stale = [f.path for f in previous.files if f.path not in new_paths] if previous and previous.managed else []
    journal = {"set": entry.key, "moves": [[str(built / f.path), str(root / f.path)] for f in entry.files],
               "remove": stale, "entry": json.loads(json.dumps(_entry_json(entry)))}
    path = stage / "install.json"
    temporary = path.with_name("install.json.tmp")
    temporary.write_text(json.dumps(journal), encoding="utf-8")
    os.replace(temporary, path)
    _apply(root, journal)
    path.unlink()
    note(f"  installed {len(entry.files)} files")


def _entry_json(entry: SetEntry) -> dict:
    from dataclasses import asdict

    return asdict(entry)


def _apply(root: Path, journal: dict) -> None:
    for source, target in journal["moves"]:
        source_path, target_path = Path(source), Path(target)
        if source_path.exists():
            target_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source_path, target_path)
    for relative in journal["remove"]:
        (root / relative).unlink(missing_ok=True)
    from gmc.refdata.manifest import _entry_from_json

    manifest = read_manifest(root)
    if not manifest.managed:
        manifest.managed = True  # the sets found in the folder stay listed, marked as not installed by gmc
    entry = _entry_from_json(journal["entry"])
    manifest.sets[entry.key] = entry
    write_manifest(manifest)


def roll_forward(root: Path, note: Note = lambda text: None) -> None:
    """Finishes any install a crash interrupted after its files were checked (its journal is replayed)."""
    for journal_path in sorted((root / ".fetch").glob("*/install.json")):
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
        except ValueError:
            journal_path.unlink()
            continue
        note(f"{journal['set']}: finishing the install an earlier run left half done")
        _apply(root, journal)
        shutil.rmtree(journal_path.parent, ignore_errors=True)


@contextmanager
def _locked(work: Path) -> Iterator[None]:
    with (work / "lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise FetchError(f"another `gmc refdata fetch` is installing into {work.parent}; wait for it to "
                             "finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- status and verify


@dataclass
class SetStatus:
    """One catalogue set as found in a folder."""

    key: str
    title: str
    state: str  #: installed, incomplete, not installed
    release: str = ""
    installed: str = ""
    origin: str = ""
    missing: str = ""
    features: tuple[str, ...] = ()
    command: str = ""
    large: bool = False
    size: int = 0


def status(root: Path) -> list[SetStatus]:
    """Every catalogue set (and copied local files) with what is installed, missing, and what needs it."""
    from gmc.refdata.errors import fetch_command

    root = Path(root)
    manifest = read_manifest(root) if root.is_dir() else Manifest(root, managed=False)
    found = []
    for refset in CATALOGUE:
        entry = manifest.sets.get(refset.key)
        missing = first_missing(root, refset) if root.is_dir() else refset.files[0]
        if missing is None and entry is not None:
            state = "installed"
        elif entry is not None and entry.managed:
            state = "incomplete"
        else:
            state = "not installed"
        size = sum((root / f.path).stat().st_size for f in entry.files if (root / f.path).is_file()) if entry else 0
        found.append(SetStatus(refset.key, refset.title, state, entry.release if entry else "",
                               entry.installed if entry else "", entry.origin if entry else "", missing or "",
                               refset.features, fetch_command(refset), refset.large, size))
    local = manifest.sets.get(LOCAL_SET)
    if local is not None:
        found.append(SetStatus(LOCAL_SET, local.title, "installed", "", local.installed, local.origin,
                               size=sum(f.size for f in local.files)))
    return found


@dataclass
class VerifyReport:
    """What `gmc refdata verify` found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    unrecorded: int = 0
    managed: bool = True


def verify(root: Path, *, note: Note = lambda text: None) -> VerifyReport:
    """Re-checks every installed file against the checksum recorded when it was installed."""
    root = Path(root)
    if not root.is_dir():
        raise MissingReferenceData.no_folder(root)
    manifest = read_manifest(root)
    report = VerifyReport(managed=manifest.managed)
    cancer = read_cancer_checksums(root.joinpath(*CANCER_MANIFEST))
    for key, entry in sorted(manifest.sets.items()):
        bad = 0
        for record in entry.files:
            path = root / record.path
            if not path.is_file():
                report.problems.append(f"{key}: {record.path} is missing")
                bad += 1
                continue
            listed = cancer.get(record.path.removeprefix("cancer/")) if record.path.startswith("cancer/") else None
            if not record.sha256 and listed is None:
                report.unrecorded += 1
                continue
            digest = sha256_file(path)
            report.checked += 1
            if record.sha256 and digest != record.sha256:
                report.problems.append(f"{key}: {record.path} has changed since it was installed (sha256 {digest}, "
                                       f"recorded {record.sha256})")
                bad += 1
            elif not record.sha256 and listed is not None and not digest.startswith(listed[1]):
                report.problems.append(f"{key}: {record.path} does not match cancer/MANIFEST.tsv (sha256 {digest}, "
                                       f"listed {listed[1]}...)")
                bad += 1
        note(f"{key}: {'OK' if not bad else f'{bad} problem(s)'} ({len(entry.files)} files"
             f"{', not installed by gmc' if entry.origin == UNMANAGED_ORIGIN else ''})")
    return report


# ----------------------------------------------------------------------------- a fresh machine


def installed_sets(root: Path) -> list[str]:
    """Keys of the catalogue sets complete in root (empty when root does not exist)."""
    root = Path(root)
    if not root.is_dir():
        return []
    files = folder_files(root)
    return [s.key for s in CATALOGUE if first_missing(root, s, files) is None]


def probe(origin_text: str | None, transfer: Transfer, overrides: dict | None = None) -> str | None:
    """None when the first default source answers (publicly or at the mirror), else why not."""
    first = with_overrides(next(s for s in CATALOGUE if s.default), overrides or {}).sources[0]
    try:
        kind, base = parse_origin(origin_text)
    except FetchError as error:
        return str(error)
    origin = Origin("public") if kind == "public" else Origin("mirror", base)
    location = candidates(origin, first.url)[0]
    if not location.startswith(("http://", "https://")):
        return None if Path(location).exists() else f"{location} is not in the mirror"
    try:
        with transfer.client.stream("GET", location, headers={"Range": "bytes=0-0"}) as response:
            if response.status_code < 400:
                return None
            return f"{location} answered HTTP {response.status_code}"
    except Exception as error:  # noqa: BLE001 - any failure to connect means "offline" here
        return f"{location}: {type(error).__name__}: {error}"
