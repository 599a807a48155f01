"""File inputs of requests: storing uploads, and resolving a reference to a file the caller may read.

A request never names a server path. It names `upload:<id>` (a file the caller's centre uploaded) or
`<folder>:<relative path>` (a file in a named import folder the caller may use). Resolving looks at the file
system only through stat(): nothing is opened here, and the database file (whose POSIX locks any open and
close by this process would drop) is refused however it is reached.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.principal import Principal
from gmc.common.errors import NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow
from gmc.files.folders import NATIONAL, ImportFolder, check_import_folders, data_dir, protected_files
from gmc.files.models import Upload
from gmc.organisations.models import Centre
from gmc.settings import Settings

UPLOAD_PREFIX = "upload:"
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_CHUNK = 1024 * 1024


def uploads_dir(settings: Settings) -> Path:
    """Where uploads are stored: GMC_DATA_DIR/uploads/<centre>/."""
    return data_dir(settings) / "uploads"


def centre_code_of(session: Session, principal: Principal) -> str | None:
    """The code of the caller's centre (None for national staff)."""
    if principal.centre_id is None:
        return None
    centre = session.get(Centre, principal.centre_id)
    return centre.code if centre else None


def _safe_suffix(filename: str) -> str:
    """The file's type suffixes (e.g. .vcf.gz) when they are plain, so readers that go by suffix still work."""
    suffixes = [s.lower() for s in Path(filename).suffixes[-2:]]
    kept = [s for s in suffixes if _SUFFIX.match(s)]
    return "".join(kept) if kept == suffixes else ""


def _clean_filename(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "upload"


class UploadWriter:
    """Streams an upload to a temporary file beside its final place; `finish` names it, `discard` removes it."""

    def __init__(self, settings: Settings, centre_code: str | None, filename: str) -> None:
        self.filename = _clean_filename(filename)
        self.upload_id = "U" + secrets.token_hex(12)
        self.folder = uploads_dir(settings) / (centre_code or NATIONAL)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.stored_name = f"{centre_code or NATIONAL}/{self.upload_id}{_safe_suffix(self.filename)}"
        self.final = uploads_dir(settings) / self.stored_name
        self.partial = self.folder / f".{self.upload_id}.part"
        self._file = self.partial.open("xb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Appends a chunk of the body."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> tuple[Path, str]:
        """Closes and moves the file to its final name; returns the path and its SHA-256."""
        self._file.close()
        if self.size == 0:
            self.discard()
            raise ValidationFailed("the upload is empty", field="file")
        os.replace(self.partial, self.final)
        return self.final, self._hash.hexdigest()

    def discard(self) -> None:
        """Removes the partial file (a failed or refused upload leaves nothing behind)."""
        self._file.close()
        self.partial.unlink(missing_ok=True)


def start_upload(session: Session, principal: Principal, settings: Settings, filename: str) -> UploadWriter:
    """A writer for a new upload by the caller, stored under the caller's centre."""
    return UploadWriter(settings, centre_code_of(session, principal), filename)


def record_upload(session: Session, principal: Principal, writer: UploadWriter) -> Upload:
    """Finishes a streamed upload and records it (owned by the caller's centre); audited."""
    _, digest = writer.finish()
    upload = Upload(upload_id=writer.upload_id, centre_id=principal.centre_id,
                    uploaded_by_id=principal.user_id or None, uploaded_by=principal.username,
                    filename=writer.filename, stored_name=writer.stored_name, size=writer.size, sha256=digest,
                    created_at=utcnow())
    session.add(upload)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="upload", entity_id=upload.id,
           summary={"upload_id": upload.upload_id, "size": upload.size, "sha256": digest})
    return upload


def store_upload_bytes(session: Session, principal: Principal, settings: Settings, filename: str,
                       chunks: Sequence[bytes] | object) -> Upload:
    """Stores an upload from an iterable of byte chunks (forms, the CLI, tests)."""
    writer = start_upload(session, principal, settings, filename)
    try:
        for chunk in chunks:  # type: ignore[attr-defined]
            writer.write(chunk)
        return record_upload(session, principal, writer)
    except BaseException:
        writer.discard()
        raise


def store_upload_file(session: Session, principal: Principal, settings: Settings, filename: str,
                      stream: object) -> Upload:
    """Stores an upload read from a binary file object (a form's UploadFile.file)."""
    read = stream.read  # type: ignore[attr-defined]
    return store_upload_bytes(session, principal, settings, filename, iter(lambda: read(_CHUNK), b""))


def uploads_of(session: Session, principal: Principal, limit: int = 200) -> Sequence[Upload]:
    """The uploads the caller may use (their centre's), newest first."""
    stmt = select(Upload).order_by(Upload.created_at.desc(), Upload.id.desc()).limit(limit)
    if principal.trust_scope is not None:
        stmt = stmt.where(Upload.centre_id == principal.centre_id) if principal.centre_id is not None else \
            stmt.where(Upload.uploaded_by_id == principal.user_id)
    found = session.execute(stmt).scalars().all()
    # Uploaded files (and their names) may be a person's genome: who listed them is recorded.
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="upload",
           summary={"shown": [u.upload_id for u in found][:100]})
    return found


def may_use_upload(principal: Principal, upload: Upload) -> bool:
    """National staff use any upload; others only their own centre's (or their own, without a centre)."""
    if principal.trust_scope is None:
        return True
    if principal.centre_id is not None:
        return upload.centre_id == principal.centre_id
    return upload.uploaded_by_id == principal.user_id


def usable_folders(principal: Principal, centre_code: str | None, settings: Settings) -> list[ImportFolder]:
    """The import folders this caller may name files in."""
    national = principal.trust_scope is None
    return [f for f in check_import_folders(settings).values()
            if f.per_centre or f.centre_code is None or national or f.centre_code == centre_code]


@dataclass(frozen=True)
class InputFile:
    """A file a request may read, and how it was named."""

    path: Path
    reference: str


def _refuse_protected(path: Path, settings: Settings, allowed_root: Path, field: str) -> Path:
    """The file's real path, after refusing anything that is not a regular file, is the database (by any
    name: symlink or hard link) or lies in the data directory outside the caller's own area."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValidationFailed(f"{field}: no such file", field=field) from None
    except OSError as exc:
        raise ValidationFailed(f"{field}: the file cannot be read ({exc.strerror})", field=field) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationFailed(f"{field}: not a regular file", field=field)
    for protected in protected_files(settings):
        try:
            if os.path.samestat(info, protected.stat()):
                raise PermissionDenied(f"{field}: that file is not an input gmc reads")
        except FileNotFoundError:
            continue
    real = path.resolve()
    data = data_dir(settings)
    if real.is_relative_to(data) and not real.is_relative_to(allowed_root.resolve()):
        raise PermissionDenied(f"{field}: that file is not an input gmc reads")
    return real


def resolve_input(session: Session, principal: Principal, value: str | None, *, field: str,
                  settings: Settings) -> InputFile | None:
    """The file a request names (`upload:<id>` or `<folder>:<path>`), checked to be in the caller's scope.

    Refuses a server path, an unknown or foreign upload, a folder the caller may not use, a path that climbs out
    of its folder, and anything that is not a regular file or is the database. None when nothing was named.
    """
    text = (value or "").strip()
    if not text:
        return None
    if "\x00" in text:  # the OS cannot name such a file; found by fuzzing as a server error
        raise ValidationFailed(f"{field}: a file name cannot hold a NUL character", field=field)
    centre = centre_code_of(session, principal)
    if text.startswith(UPLOAD_PREFIX):
        upload_id = text.removeprefix(UPLOAD_PREFIX).strip()
        upload = session.execute(select(Upload).where(Upload.upload_id == upload_id)).scalar_one_or_none()
        if upload is None or not may_use_upload(principal, upload):
            raise NotFound(f"{field}: no upload {upload_id} of your centre", field=field)
        root = uploads_dir(settings)
        return InputFile(_refuse_protected(root / upload.stored_name, settings, root / upload.stored_name, field),
                         text)
    name, sep, relative = text.partition(":")
    folders = {f.name: f for f in usable_folders(principal, centre, settings)}
    if not sep or len(name) < 2 or "/" in name or "\\" in name:
        names = ", ".join(sorted(folders))
        raise ValidationFailed(f"{field}: server paths are not accepted; upload the file (POST /api/uploads) and "
                               f"give upload:<id>, or name a file in an import folder as <folder>:<path> "
                               f"(your folders: {names})", field=field)
    folder = folders.get(name.strip().lower())
    if folder is None:
        raise NotFound(f"{field}: no import folder {name!r} for you; yours are {', '.join(sorted(folders))}",
                       field=field)
    root = folder.root_for(centre)
    rel = Path(relative.strip())
    parts = rel.parts
    if not parts or rel.is_absolute() or ".." in parts or os.path.normpath(relative.strip()).startswith(".."):
        raise ValidationFailed(f"{field}: give a path inside folder {folder.name!r}, without .. or a leading /",
                               field=field)
    return InputFile(_refuse_protected(root / rel, settings, root, field), text)


def resolve_path(session: Session, principal: Principal, value: str | None, *, field: str,
                 settings: Settings) -> Path | None:
    """The resolved path of a file reference (see resolve_input), or None when nothing was named."""
    found = resolve_input(session, principal, value, field=field, settings=settings)
    return found.path if found else None


def resolve_form_input(session: Session, principal: Principal, *, field: str, settings: Settings,
                       reference: str | None = None, upload: object | None = None) -> Path | None:
    """A page form's file input: the file chosen in the form (stored as an upload first) or, when none was
    chosen, the reference typed (upload:<id> or <folder>:<path>)."""
    filename = getattr(upload, "filename", None)
    if upload is not None and filename:
        stored = store_upload_file(session, principal, settings, filename, upload.file)  # type: ignore[attr-defined]
        return resolve_path(session, principal, f"{UPLOAD_PREFIX}{stored.upload_id}", field=field, settings=settings)
    return resolve_path(session, principal, reference, field=field, settings=settings)
