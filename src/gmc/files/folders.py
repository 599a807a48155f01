"""Named import folders: the only places on the server a web request may name a file in.

A folder is configured as NAME=PATH[@CENTRE] in GMC_IMPORT_FOLDERS (comma-separated). A folder bound to a
centre is usable only by that centre's staff (and national staff); an unbound one holds shared, public data.
Built in: `incoming` (GMC_DATA_DIR/incoming/<CENTRE>, each centre its own) and, outside production, `refdata`
and `benchmarks` (the shared reference data and published cases). No folder may hold the database or the
data directory (the variant store, uploads, other centres' incoming files), and a configured folder may not
lie inside the data directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gmc.settings import ConfigurationError, Settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: Names a configured folder may not take: "upload" is the prefix of uploads, the rest are built in.
RESERVED = frozenset({"upload", "incoming", "refdata", "benchmarks"})
#: The incoming folder of national staff (who have no centre).
NATIONAL = "national"


@dataclass(frozen=True)
class ImportFolder:
    """A named folder requests may read files from."""

    name: str
    path: Path
    #: The centre whose staff may use it (None: anyone; shared public data).
    centre_code: str | None = None
    #: True for `incoming`: the path is a parent holding one folder per centre.
    per_centre: bool = False

    def root_for(self, centre_code: str | None) -> Path:
        """The folder as the caller sees it (incoming: the caller's centre's own sub-folder)."""
        return self.path / (centre_code or NATIONAL) if self.per_centre else self.path


def data_dir(settings: Settings) -> Path:
    """The data directory, absolute."""
    return Path(settings.data_dir).resolve()


def database_file(settings: Settings) -> Path | None:
    """The SQLite database file, or None for PostgreSQL (or an in-memory database)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def protected_files(settings: Settings) -> list[Path]:
    """Files no request may ever name, whatever folder they seem to be in: the database and its journals."""
    db = database_file(settings)
    if db is None:
        return []
    return [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def configured_folders(settings: Settings) -> dict[str, ImportFolder]:
    """Every import folder by name: the built-in ones and those of GMC_IMPORT_FOLDERS."""
    folders = {"incoming": ImportFolder("incoming", data_dir(settings) / "incoming", per_centre=True)}
    if not settings.is_production and settings.refdata is not None:
        refdata = Path(settings.refdata).resolve()
        data = data_dir(settings)
        for name, path in (("refdata", refdata), ("benchmarks", refdata.parent / "benchmarks")):
            # Development conveniences over a shared reference folder; reference data that gmc installed inside
            # its own data directory (a fresh machine) is not offered, as no import folder may reach into it.
            if not (path.is_relative_to(data) or data.is_relative_to(path)):
                folders[name] = ImportFolder(name, path)
    for item in (part.strip() for part in settings.import_folders.split(",")):
        if not item:
            continue
        name, sep, rest = item.partition("=")
        name = name.strip().lower()
        if not sep or not rest.strip():
            raise ConfigurationError(f"GMC_IMPORT_FOLDERS: {item!r} is not NAME=PATH[@CENTRE]")
        if not _NAME.match(name) or name in RESERVED:
            raise ConfigurationError(f"GMC_IMPORT_FOLDERS: {name!r} is not a usable folder name (lower-case "
                                     f"letters, digits, - and _; not {', '.join(sorted(RESERVED))})")
        if name in folders:
            raise ConfigurationError(f"GMC_IMPORT_FOLDERS: folder {name!r} is named twice")
        path, _, centre = rest.strip().partition("@")
        folder = Path(path.strip()).expanduser()
        if not folder.is_absolute():
            raise ConfigurationError(f"GMC_IMPORT_FOLDERS: the path of {name!r} must be absolute ({path.strip()})")
        folders[name] = ImportFolder(name, folder.resolve(), centre.strip().upper() or None)
    return folders


def check_import_folders(settings: Settings) -> dict[str, ImportFolder]:
    """The import folders, refusing (ConfigurationError) any that would expose the database or the data
    directory: a folder holding either, or a configured folder inside the data directory."""
    folders = configured_folders(settings)
    data = data_dir(settings)
    for folder in folders.values():
        if folder.per_centre:
            continue
        if folder.path.is_relative_to(data) or data.is_relative_to(folder.path):
            raise ConfigurationError(f"GMC_IMPORT_FOLDERS: folder {folder.name!r} ({folder.path}) overlaps the data "
                                     f"directory GMC_DATA_DIR ({data}), which holds the store and other centres' files")
        for protected in protected_files(settings):
            if protected.is_relative_to(folder.path):
                raise ConfigurationError(f"GMC_IMPORT_FOLDERS: folder {folder.name!r} ({folder.path}) holds the "
                                         f"database ({protected})")
    return folders
