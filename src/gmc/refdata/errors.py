"""Errors of reference data: a set that is not installed, and a fetch that could not complete."""

from __future__ import annotations

from pathlib import Path

from gmc.common.errors import DomainError
from gmc.refdata.catalogue import RefSet, set_for_path
from gmc.settings import ConfigurationError

#: The command that installs reference data (shown in every notice).
FETCH_COMMAND = "gmc refdata fetch"


def fetch_command(refset: RefSet | None = None) -> str:
    """The command that installs one set (or every default set)."""
    if refset is None:
        return FETCH_COMMAND
    build = f" --build {refset.build}" if refset.build and refset.build != "GRCh38" else ""
    return f"{FETCH_COMMAND} --only {refset.name}{build}"


class MissingReferenceData(ConfigurationError, DomainError):
    """A feature needs a reference-data set that is not installed; names the set and the command to install it.

    A ConfigurationError (so callers that already handle configuration errors keep working) and a DomainError
    (so the web app answers with a page or JSON naming the set, status 503, instead of a traceback).
    """

    status_code = 503

    def __init__(self, message: str, *, refset: RefSet | None = None, root: Path | None = None,
                 missing: str | None = None) -> None:
        DomainError.__init__(self, message, field="GMC_REFDATA")
        self.refset = refset
        self.root = root
        self.missing = missing
        self.command = fetch_command(refset)

    def to_dict(self) -> dict[str, object]:
        """The JSON error: the message, the missing set and the command that installs it."""
        return {**super().to_dict(), "set": self.refset.key if self.refset else None, "command": self.command}

    @property
    def set_name(self) -> str | None:
        """The missing set's name (None when no reference data is installed at all)."""
        return self.refset.name if self.refset else None

    @classmethod
    def no_folder(cls, root: Path | None) -> MissingReferenceData:
        """No reference-data folder at all."""
        where = f"GMC_REFDATA ({root}) does not exist" if root else "GMC_REFDATA is not set"
        return cls(f"no reference data is installed: {where}. Install it with `{FETCH_COMMAND}` (or "
                   f"`{FETCH_COMMAND} --from DIR_OR_URL` from a mirror or another gmc reference-data folder).",
                   root=root)

    @classmethod
    def for_path(cls, root: Path, relative: str) -> MissingReferenceData:
        """A file a feature reads is missing: names the set it belongs to."""
        refset = set_for_path(relative)
        return cls.for_set(refset, root, relative) if refset else cls(
            f"reference file {relative} is missing from GMC_REFDATA ({root}); it belongs to no set gmc fetches, "
            "so copy it from the reference-data folder it came from", root=root, missing=relative)

    @classmethod
    def for_set(cls, refset: RefSet, root: Path, missing: str | None = None) -> MissingReferenceData:
        """A set is not installed (or incomplete)."""
        build = f", {refset.build}" if refset.build else ""
        detail = f" ({missing} is missing)" if missing else ""
        return cls(f"{refset.title} (reference-data set {refset.name}{build}) is not installed in GMC_REFDATA "
                   f"({root}){detail}. Install it with `{fetch_command(refset)}`.",
                   refset=refset, root=root, missing=missing)


class FetchError(RuntimeError):
    """A fetch could not complete; names the source and what to do. Nothing installed was changed."""

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.source = source
