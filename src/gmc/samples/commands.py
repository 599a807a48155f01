"""Command-line tools for samples (mounted by the CLI as `gmc samples`): import, export, worklists."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Sample tracking: CSV import and export, overdue and destruction worklists.",
                  no_args_is_help=True)


@app.callback()
def samples() -> None:
    """Sample tracking and biobank tools."""


def _database():  # noqa: ANN202
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    return Database(get_settings().database_url)


def _principal(session, username: str | None):  # noqa: ANN001, ANN202
    """The named lab user (--as here or `gmc --as`), else the OS operator."""
    from gmc.auth.operator import operator_principal
    from gmc.common.errors import NotAuthenticated

    try:
        return operator_principal(session, as_user=username)
    except NotAuthenticated as exc:
        raise typer.BadParameter(exc.message, param_hint="--as") from None


@app.command("import")
def import_csv(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Specimen CSV."),
    as_user: str | None = typer.Option(None, "--as", help="The lab user the import is recorded for."),
) -> None:
    """Import collected specimens from CSV_FILE; one bad row refuses the whole file."""
    from gmc.common.errors import DomainError
    from gmc.samples import service

    db = _database()
    try:
        with db.transaction() as session:
            made = service.import_specimens(session, _principal(session, as_user),
                                            csv_file.read_text(encoding="utf-8"), source=csv_file.name)
    except DomainError as exc:
        for problem in getattr(exc, "problems", []) or [exc.message]:
            typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"imported {len(made)} samples from {csv_file.name}")


@app.command("export")
def export_csv(
    out: Path = typer.Option(..., "--out", "-o", dir_okay=False, help="Where to write the CSV."),
    as_user: str | None = typer.Option(None, "--as", help="Whose trust scope limits the export."),
) -> None:
    """Export every sample in the user's trusts as CSV."""
    from gmc.samples import csvio, service

    db = _database()
    try:
        with db.transaction() as session:
            rows = service.export_rows(session, _principal(session, as_user))
    finally:
        db.dispose()
    out.write_text(csvio.write_export(rows), encoding="utf-8")
    typer.echo(f"wrote {len(rows)} samples to {out}")


@app.command("overdue")
def overdue_list(as_user: str | None = typer.Option(None, "--as", help="Whose trust scope limits the list.")) -> None:
    """List samples waiting longer than their turnaround target."""
    from gmc.samples import service

    db = _database()
    try:
        with db.session() as session:
            late = service.overdue_worklist(session, _principal(session, as_user))
    finally:
        db.dispose()
    for o in late:
        typer.echo(f"{o.barcode}\t{o.state}\t{o.days_in_state:.1f} days (target {o.target_days:g})")
    typer.echo(f"{len(late)} overdue")
