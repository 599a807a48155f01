"""Getting published files: from their public URLs or a mirror, resumable, size- and checksum-checked.

A mirror is a directory (a path or file:// URL) or an http(s) URL holding the published files under
``<host>/<path>`` as `wget -x` lays them out (a URL ending in "/" is saved as ``index.html``, a query is kept
as ``?query`` in the file name), or simply under their file names. Downloads go to ``<name>.part`` and resume
from where they stopped (HTTP Range) when the command is run again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from gmc.refdata.catalogue import Source
from gmc.refdata.errors import FetchError

#: Bytes per read and write.
CHUNK = 1 << 20
#: Attempts per file before an interrupted download is left to resume on the next run.
ATTEMPTS = 3
#: Head-room kept free on the disk beyond a download's size.
DISK_MARGIN = 64 << 20
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@dataclass(frozen=True)
class Origin:
    """Where a fetch reads from: the public URLs, a mirror (directory or http), or another gmc folder."""

    #: "public", "mirror" or "folder".
    kind: str
    #: The mirror or folder: a local Path, or an http(s) base URL (no trailing slash).
    base: Path | str | None = None

    @property
    def is_http(self) -> bool:
        """True for an http(s) mirror or folder."""
        return isinstance(self.base, str)

    def describe(self) -> str:
        """Words for the manifest: public sources, mirror <where>, gmc folder <where>."""
        if self.kind == "public":
            return "public sources"
        return f"{'mirror' if self.kind == 'mirror' else 'gmc folder'} {self.base}"


def parse_origin(text: str | None) -> tuple[str, Path | str | None]:
    """Splits --from into a local directory or an http(s) base URL (None: the public sources)."""
    if not text:
        return "public", None
    if text.startswith(("http://", "https://")):
        return "http", text.rstrip("/")
    if text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    path = Path(text).expanduser()
    if not path.is_dir():
        raise FetchError(f"--from {text}: no such directory (give a mirror directory, a file:// or http(s):// URL, "
                         "or a gmc reference-data folder)")
    return "dir", path.resolve()


def mirror_path(url: str) -> str:
    """Where a published URL sits in a mirror: host/path, index.html for a folder URL, ?query kept."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path.endswith("/"):
        path += "index.html"
    name = parts.netloc + path
    return f"{name}?{parts.query}" if parts.query else name


def candidates(origin: Origin, url: str) -> list[str]:
    """The locations to try for a published URL, in order."""
    if origin.kind == "public":
        return [url]
    relative = mirror_path(url)
    basename = relative.rsplit("/", 1)[-1]
    names = [relative] + ([basename] if basename != relative and not urlsplit(url).query else [])
    if origin.is_http:
        return [f"{origin.base}/{quote(name)}" for name in names]
    return [str(Path(origin.base) / name) for name in names]  # type: ignore[arg-type]


@dataclass
class Fetched:
    """A downloaded file with its size and checksums, and where it came from."""

    path: Path
    size: int
    sha256: str
    md5: str
    location: str


def digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a file in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - md5 only to compare with publishers' lists
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def bsd_sum(path: Path) -> tuple[int, int]:
    """The BSD `sum` checksum and 1 KiB block count of a file (what Ensembl's CHECKSUMS lists)."""
    checksum = 0
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            size += len(block)
            for byte in block:
                checksum = ((checksum >> 1) + ((checksum & 1) << 15) + byte) & 0xFFFF
    return checksum, (size + 1023) // 1024


def no_space(error: OSError) -> bool:
    """True when a write failed because the disk (or quota, or file-size limit) is full."""
    return error.errno in _NO_SPACE


def check_space(folder: Path, needed: int, what: str) -> None:
    """Refuses early when the disk holding folder cannot take needed more bytes."""
    if needed <= 0:
        return
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN > free:
        raise FetchError(f"not enough disk space for {what}: it needs {_size(needed)} and {folder} has "
                         f"{_size(free)} free. Free some space or set GMC_REFDATA to a larger disk, then run the "
                         "command again; nothing installed was changed.", source=what)


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


human_size = _size


class Transfer:
    """Downloads with resume and progress through one HTTP client (httpx)."""

    def __init__(self, *, progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
                 attempts: int = ATTEMPTS, timeout: float = 60.0) -> None:
        import httpx

        self._httpx = httpx
        self.client = httpx.Client(follow_redirects=True, timeout=httpx.Timeout(timeout, connect=15.0),
                                   headers={"User-Agent": "gmc-refdata (https://github.com/gmc)"})
        self.attempts = attempts
        #: progress(label, total) -> advance(n); a no-op by default.
        self.progress = progress or (lambda label, total: (lambda n: None))

    def close(self) -> None:
        """Closes the HTTP client."""
        self.client.close()

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ small files (checksum lists, API pages)

    def get_text(self, locations: list[str], what: str) -> tuple[str, str]:
        """The text at the first location that has it, and that location; FetchError naming all tried."""
        tried = []
        for location in locations:
            try:
                if location.startswith(("http://", "https://")):
                    response = self.client.get(location)
                    if response.status_code == 200:
                        return response.text, location
                    tried.append(f"{location} (HTTP {response.status_code})")
                else:
                    path = Path(location)
                    if path.is_file():
                        return path.read_text(encoding="utf-8"), location
                    tried.append(f"{location} (no such file)")
            except self._httpx.HTTPError as error:
                tried.append(f"{location} ({_reason(error)})")
        raise FetchError(f"{what}: could not be read from {'; '.join(tried)}", source=what)

    # ------------------------------------------------------------------ files

    def fetch(self, source: Source, locations: list[str], dest: Path, *, size: int | None = None) -> Fetched:
        """Downloads a source to dest (resuming dest.part), trying each location; returns its checksums."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        problems = []
        for location in locations:
            try:
                if location.startswith(("http://", "https://")):
                    found = self._fetch_http(source, location, dest, size)
                else:
                    found = self._fetch_file(source, Path(location), dest, size)
            except _NotThere as missing:
                problems.append(f"{location} ({missing})")
                continue
            if found is not None:
                sha, md5 = digests(dest)
                return Fetched(dest, dest.stat().st_size, sha, md5, location)
        hint = ("check the network (and HTTPS_PROXY), or fetch from a mirror with --from DIR_OR_URL"
                if len(locations) == 1 and locations[0].startswith("http") else
                "check that the mirror holds the published files under <host>/<path> or their file names")
        raise FetchError(f"{source.title}: cannot get it from {'; '.join(problems)}. {hint[0].upper()}{hint[1:]}; "
                         "nothing installed was changed.", source=source.title)

    def _fetch_file(self, source: Source, path: Path, dest: Path, size: int | None) -> Path | None:
        if not path.is_file():
            raise _NotThere("no such file")
        total = path.stat().st_size
        part = _part(dest)
        offset = part.stat().st_size if part.exists() else 0
        if offset > total:
            part.unlink()
            offset = 0
        check_space(dest.parent, total - offset, source.title)
        advance = self.progress(source.title, total)
        advance(offset)
        with path.open("rb") as reader, _writing(part, offset, source.title) as writer:
            reader.seek(offset)
            while block := reader.read(CHUNK):
                writer.write(block)
                advance(len(block))
        os.replace(part, dest)
        return dest

    def _fetch_http(self, source: Source, url: str, dest: Path, size: int | None) -> Path | None:
        part = _part(dest)
        meta_path = part.with_name(part.name + ".json")
        failures: list[str] = []
        advance: Callable[[int], None] | None = None
        for _attempt in range(self.attempts):
            meta = _read_meta(meta_path)
            offset = part.stat().st_size if part.exists() and meta.get("url") == url else 0
            if offset == 0 and part.exists():
                part.unlink()
            headers = {}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                validator = meta.get("etag") or meta.get("last_modified")
                if validator:
                    headers["If-Range"] = validator
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 416 and offset and offset == meta.get("length"):
                        break  # already complete
                    if response.status_code in (404, 410):
                        raise _NotThere(f"HTTP {response.status_code}")
                    if response.status_code not in (200, 206):
                        raise _NotThere(f"HTTP {response.status_code}")
                    if response.status_code == 200:
                        offset = 0
                    elif not response.headers.get("content-range", "").startswith(f"bytes {offset}-"):
                        offset = 0  # the server did not resume where asked: start again
                    length = _total_length(response, offset)
                    if length is not None and size is not None and length != size:
                        raise FetchError(f"{source.title}: {url} offers {length:,} bytes but the pinned release "
                                         f"is {size:,} bytes; it is not the expected file. Nothing installed was "
                                         "changed.", source=source.title)
                    _write_meta(meta_path, {"url": url, "etag": response.headers.get("etag"),
                                            "last_modified": response.headers.get("last-modified"), "length": length})
                    check_space(dest.parent, (length or 0) - offset, source.title)
                    if advance is None:
                        advance = self.progress(source.title, length)
                    advance(offset)
                    with _writing(part, offset, source.title) as writer:
                        for block in response.iter_bytes():  # as received, so a broken-off body keeps its part
                            writer.write(block)
                            advance(len(block))
                    written = part.stat().st_size
                    if length is not None and written != length:
                        failures.append(f"connection closed after {written:,} of {length:,} bytes")
                        continue
                    break
            except (self._httpx.ConnectError, self._httpx.ConnectTimeout, self._httpx.UnsupportedProtocol) as error:
                raise _NotThere(_reason(error)) from None
            except self._httpx.HTTPError as error:  # the connection broke while the file was coming
                failures.append(f"{_reason(error)} after {part.stat().st_size if part.exists() else 0:,} bytes")
                continue
        else:
            got = part.stat().st_size if part.exists() else 0
            expected = _read_meta(meta_path).get("length")
            of = f" of {expected:,}" if expected else ""
            raise FetchError(f"{source.title}: the download from {url} was interrupted after {got:,}{of} bytes "
                             f"({'; '.join(failures[-2:])}). Run the same command again to resume it; nothing "
                             "installed was changed.", source=source.title)
        os.replace(part, dest)
        meta_path.unlink(missing_ok=True)
        return dest


class _NotThere(Exception):
    """This location does not have the file (try the next one)."""


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _read_meta(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta), encoding="utf-8")


def _total_length(response, offset: int) -> int | None:  # noqa: ANN001 - an httpx.Response
    content_range = response.headers.get("content-range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length")
    if length and length.isdigit() and not response.headers.get("content-encoding"):
        return int(length) + (offset if response.status_code == 206 else 0)
    return None


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]


@contextmanager
def _writing(part: Path, offset: int, what: str) -> Iterator:
    """Opens a .part file to append from offset; a full disk becomes a FetchError naming the source."""
    try:
        with part.open("r+b" if offset else "wb") as handle:
            handle.seek(offset)
            handle.truncate()
            yield handle
    except OSError as error:
        if no_space(error):
            raise FetchError(f"{what}: the disk holding {part.parent} is full ({error.strerror}). Free some space "
                             "or set GMC_REFDATA to a larger disk, then run the command again to resume; nothing "
                             "installed was changed.", source=what) from None
        raise


def url_join(base: str, link: str) -> str:
    """An absolute URL for a link found in a page fetched from base."""
    return urljoin(base, link)
