"""Command-line tools for phenotypes (mounted by the CLI as `gmc phenotype`): phenopackets, HPO CSV, PED."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Phenotypes: phenopackets, bulk HPO CSV and pedigrees.", no_args_is_help=True)
phenopackets_app = typer.Typer(help="GA4GH phenopackets v2 in and out.", no_args_is_help=True)
app.add_typer(phenopackets_app, name="phenopackets")


@app.callback()
def phenotype() -> None:
    """Phenotype tools."""


def _database():  # noqa: ANN202 - the Database type is imported lazily to keep `--help` fast
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    return Database(get_settings().database_url)


def phenopacket_files(paths: list[Path]) -> list[Path]:
    """The .json files named, and those inside named directories (sorted, recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise typer.BadParameter(f"{path} is neither a file nor a directory", param_hint="PATH")
    return list(dict.fromkeys(found))


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


def _fail(console: Console, error: Exception, problems: list[tuple[str, str, str]] | None = None) -> None:
    console.print("[red]error:[/red] nothing was imported")
    for where, name, message in problems or []:
        console.print(f"  {where}{f' {name}' if name else ''}: {message}", markup=False, highlight=False)
    if not problems:
        console.print(f"  {error}", markup=False, highlight=False)
    raise typer.Exit(code=1)


@phenopackets_app.command("import")
def import_command(
    paths: list[Path] = typer.Argument(..., help="Phenopacket JSON files, or directories holding them."),
) -> None:
    """Import phenopackets into participants' records, all or nothing (subjects matched by programme id)."""
    from gmc.auth.operator import operator_principal
    from gmc.phenotype import phenopackets as pp
    from gmc.phenotype.ontology import get_ontology
    from gmc.phenotype.service import Caller, PhenotypeImportError, import_phenopackets

    console = Console(stderr=True, soft_wrap=True)
    files = phenopacket_files(paths)
    if not files:
        console.print("[red]error:[/red] no .json files found")
        raise typer.Exit(code=1)
    start = time.perf_counter()
    get_ontology()  # loaded before the clock starts counting reads
    packets: list[tuple[str, pp.PhenopacketData]] = []
    problems: list[tuple[str, str, str]] = []
    with _progress(console) as progress:
        task = progress.add_task("Reading", total=len(files))
        for path in files:
            try:
                # Well-formed ids of a newer HPO release pass here; the service keeps and flags them.
                packets.append((str(path), pp.read_phenopacket(path)))
            except pp.PhenopacketError as exc:
                problems.extend((str(path), where, message) for where, message in exc.problems)
            progress.advance(task)
        if problems:
            progress.stop()
            _fail(console, ValueError("invalid phenopackets"), problems)
        read_seconds = time.perf_counter() - start
        task = progress.add_task("Importing", total=len(packets))
        db = _database()
        try:
            with db.transaction() as session:
                summary = import_phenopackets(session, Caller.of(operator_principal(session)), packets,
                                              progress=lambda n: progress.advance(task, n))
        except PhenotypeImportError as exc:
            progress.stop()
            _fail(console, exc, exc.problems)
        finally:
            db.dispose()
    elapsed = time.perf_counter() - start
    console.print(
        f"{summary.files:,} phenopackets imported in {elapsed:.1f} s (reading {read_seconds:.1f} s): "
        f"{summary.participants_matched:,} matched to participants, {summary.participants_created:,} participants "
        f"created, {summary.observations:,} terms ({summary.excluded:,} excluded), {summary.diagnoses:,} diagnoses, "
        f"{summary.skipped_duplicates:,} already recorded, {len(summary.warnings):,} warnings",
        highlight=False)
    for warning in summary.warnings[:10]:
        console.print(f"  warning: {warning}", markup=False, highlight=False)
    if len(summary.warnings) > 10:
        console.print(f"  ... and {len(summary.warnings) - 10} more warnings", highlight=False)


@phenopackets_app.command("export")
def export_command(
    participant_id: str = typer.Argument(..., help="Programme participant id."),
    out: Path | None = typer.Option(None, "--out", "-o", dir_okay=False, help="Write here instead of stdout."),
) -> None:
    """Export a participant's phenotype as a v2 phenopacket."""
    from gmc.auth.operator import operator_principal
    from gmc.common.errors import DomainError
    from gmc.phenotype.service import Caller, export_phenopacket

    console = Console(stderr=True, soft_wrap=True)
    db = _database()
    try:
        with db.transaction() as session:
            document = export_phenopacket(session, Caller.of(operator_principal(session)), participant_id)
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc
    finally:
        db.dispose()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}", highlight=False)


@app.command("hpo-csv")
def hpo_csv_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV: participant_id, "
                                "term_id, status, onset, notes."),
) -> None:
    """Add participants' HPO terms from a CSV, all or nothing (every bad row is listed)."""
    from gmc.auth.operator import operator_principal
    from gmc.phenotype.service import Caller, PhenotypeImportError, import_hpo_csv

    console = Console(stderr=True, soft_wrap=True)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        console.print(f"[red]error:[/red] {path} is not UTF-8 text", highlight=False)
        raise typer.Exit(code=1) from exc
    db = _database()
    try:
        with db.transaction() as session:
            summary = import_hpo_csv(session, Caller.of(operator_principal(session)), text, source=str(path))
    except PhenotypeImportError as exc:
        _fail(console, exc, exc.problems)
    finally:
        db.dispose()
    console.print(f"{summary.observations:,} terms ({summary.excluded:,} excluded) added for "
                  f"{summary.participants_matched:,} participants; {summary.skipped_duplicates:,} already recorded",
                  highlight=False)
