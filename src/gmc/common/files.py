"""Input files named in web requests: only inside the folders the operator allowed."""

from __future__ import annotations

from pathlib import Path

from gmc.common.errors import PermissionDenied, ValidationFailed


def allowed_input_file(value: str | Path | None, *, allowed: list[Path], field: str) -> Path | None:
    """The resolved path when it is an existing file inside an allowed folder; refuses anything else."""
    if value is None or not str(value).strip():
        return None
    if "\x00" in str(value):
        raise ValidationFailed(f"{field}: a file name cannot hold a NUL character", field=field)
    path = Path(str(value).strip()).expanduser().resolve()
    if not any(path.is_relative_to(folder) for folder in allowed):
        raise PermissionDenied(f"{field}: files may only be read from the configured import folders "
                               "(GMC_DATA_DIR, GMC_IMPORT_DIRS)")
    if not path.is_file():
        raise ValidationFailed(f"{field}: no file at {path}", field=field)
    return path
