"""`gmc backup` and `gmc restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from gmc.backup.service import BackupError, create_backup, restore_backup
from gmc.settings import get_settings


def _say(step: str) -> None:
    typer.echo(f"  {step} ...", err=True)


def backup(out: Path = typer.Option(..., "--out", help="A new directory for the backup (outside GMC_DATA_DIR).")
           ) -> None:
    """Backs up the database, variant store, uploaded files and audit checkpoints, with a manifest of checksums
    (safe while the server runs)."""
    from gmc.bootstrap import load_models
    from gmc.db.core import Database

    load_models()
    settings = get_settings()
    database = Database(settings.database_url, settings=settings)
    try:
        manifest = create_backup(settings, database, out, progress=_say)
    except BackupError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    size = sum(f["bytes"] for f in manifest["files"].values())
    typer.echo(f"backup written to {out.resolve()}: {manifest['database']['engine']} database, "
               f"{len(manifest['files'])} files, {size / 1e6:.1f} MB, {manifest['seconds']} s")


def restore(backup_dir: Path = typer.Argument(..., help="A directory written by `gmc backup`."),
            replace: bool = typer.Option(False, "--replace", help="Overwrite a database and files that already "
                                         "hold data (stop the server first).")) -> None:
    """Restores a backup into this installation (GMC_DATABASE_URL, GMC_DATA_DIR) and verifies its audit trail."""
    from gmc.bootstrap import load_models

    load_models()
    try:
        result = restore_backup(get_settings(), backup_dir, replace=replace, progress=_say)
    except BackupError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"restored the backup of {result.manifest['created_at']} into {result.database} "
               f"({result.files} files); {result.audit_summary}")
