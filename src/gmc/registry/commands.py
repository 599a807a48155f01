"""Command-line tools of the participant registry (mounted by the CLI as `gmc registry`)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from gmc.registry.dedupe import DedupeInputError, dedupe_csv, write_review_csv

app = typer.Typer(help="Participant registry: record linkage and deduplication.", no_args_is_help=True)


@app.callback()
def registry() -> None:
    """Participant registry tools."""


@app.command()
def dedupe(
    input_csv: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="Person records CSV."
    ),
    out: Path = typer.Option(..., "--out", "-o", dir_okay=False, help="Output CSV: the rows plus person_id."),
    review: Path | None = typer.Option(
        None, "--review", dir_okay=False, help="Also write the possible matches left for manual review."
    ),
) -> None:
    """Assign a person_id to every record of INPUT_CSV, linking duplicates across trusts."""
    console = Console(stderr=True, soft_wrap=True)
    start = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} pairs compared"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("Linking records", total=None)
        try:
            result = dedupe_csv(input_csv, out, progress=lambda n: progress.advance(task, n))
        except DedupeInputError as error:
            progress.stop()
            console.print(f"[red]error:[/red] {escape(str(error))}")
            console.print("Nothing was written.")
            raise typer.Exit(code=1) from error
    elapsed = time.perf_counter() - start
    records = len(result.person_ids)
    console.print(
        f"{records:,} records -> {result.person_count:,} persons "
        f"({records - result.person_count:,} duplicate records linked), "
        f"{len(result.possible_pairs):,} possible matches for review, "
        f"{result.pairs_compared:,} pairs compared in {elapsed:.1f} s",
        soft_wrap=True,
    )
    console.print(f"Wrote {out}")
    if review is not None:
        count = write_review_csv(result.possible_pairs, review)
        console.print(f"Wrote {count:,} possible matches to {review}")


def _operator(session):  # noqa: ANN001, ANN202
    """The command line's principal: `gmc --as USER` (their roles and scope), else the OS operator."""
    from gmc.auth.operator import operator_principal

    return operator_principal(session)


def _database():  # noqa: ANN202
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    return Database(get_settings().database_url)


@app.command("import")
def import_participants(
    input_csv: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                     help="CSV: family_name, given_name, date_of_birth, sex, nhs_number, postcode, "
                                          "trust_code, hospital_number."),
) -> None:
    """Imports participants from CSV, all-or-nothing: any bad row is reported by line and nothing is written."""
    from gmc.registry.interop import CsvImportFailed, import_csv

    console = Console(stderr=True, soft_wrap=True)
    db = _database()
    try:
        with db.transaction() as session:
            report = import_csv(session, principal=_operator(session),
                                text=input_csv.read_bytes(), source=input_csv.name)
    except CsvImportFailed as exc:
        for problem in exc.report.problems:
            console.print(f"[red]{problem['message']}[/red]" + (f" (field {problem['field']})" if problem["field"] else ""))
        console.print(f"[red]nothing imported: {len(exc.report.problems)} problem(s)[/red]")
        raise typer.Exit(1) from exc
    typer.echo(f"{report.rows} rows: {report.created} created, {report.linked} linked to existing participants, "
               f"{report.worklisted} put on the duplicate worklist")


@app.command("hl7")
def hl7_file(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="HL7 v2 ADT messages (A04, A08, A40), MLLP-framed or one after another."),
) -> None:
    """Applies HL7 v2 ADT messages from a file and prints each ACK/NAK; exits 1 if any was refused."""
    from gmc.registry.interop import process_adt_batch

    db = _database()
    with db.transaction() as session:
        outcomes = process_adt_batch(session, principal=_operator(session), text=path.read_bytes())
    for outcome in outcomes:
        typer.echo(outcome.ack.replace("\r", "\n"))
        typer.secho(f"{outcome.event or '?'}: {outcome.outcome or outcome.error}", err=True,
                    fg=typer.colors.GREEN if outcome.accepted else typer.colors.RED)
    if not all(o.accepted for o in outcomes):
        raise typer.Exit(1)


@app.command("hl7-interface")
def hl7_interface(
    facility: str = typer.Argument(..., help="MSH-4 sending facility of the feed (e.g. the trust's ODS code)."),
    trust: str = typer.Option(..., "--trust", help="The trust the feed belongs to (ODS code)."),
    user: str = typer.Option(..., "--user", help="The service user whose new API token will send the feed."),
    days: int = typer.Option(90, "--days", min=1, help="Days until the token expires (at most GMC_TOKEN_MAX_DAYS)."),
) -> None:
    """Binds a sending facility to its trust and a new API token; prints the token once."""
    from gmc.common.errors import DomainError
    from gmc.registry.interop import register_interface

    db = _database()
    try:
        with db.transaction() as session:
            interface, secret = register_interface(session, principal=_operator(session), facility=facility,
                                                   trust_code=trust, username=user, days=days)
            name = interface.facility
    except DomainError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(secret)
    typer.secho(f"facility {name} now feeds trust {trust.upper()} with this token (shown only once)", err=True)


@app.command("fhir-export")
def fhir_export(
    participant_id: str,
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="Write a Bundle here (default: stdout)."),
) -> None:
    """Exports a participant as a FHIR R4 Bundle with their Patient and Consent resources."""
    import json

    from gmc.registry import interop, service

    db = _database()
    with db.transaction() as session:
        p = service.view_participant(session, principal=_operator(session), participant_id=participant_id)
        resources = [interop.patient_resource(session, p), *interop.consent_resources(session, p)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    text = json.dumps(bundle, indent=2, default=str)
    if out:
        out.write_text(text)
        typer.echo(f"wrote {len(resources)} resources to {out}", err=True)
    else:
        typer.echo(text)


@app.command("fhir-import")
def fhir_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="A FHIR Patient, Consent, or a Bundle of them."),
    trust: str | None = typer.Option(None, "--trust", help="Registering trust ODS code (default: from identifiers)."),
    new: bool = typer.Option(False, "--new", help="Register as new even when a possible match exists."),
) -> None:
    """Imports FHIR Patient and Consent resources, all-or-nothing."""
    from gmc.common.errors import DomainError
    from gmc.registry import interop

    db = _database()
    try:
        with db.transaction() as session:
            result = interop.import_bundle(session, principal=_operator(session), document=path.read_bytes(),
                                           trust_code=trust, decision="new" if new else "check")
    except DomainError as exc:
        typer.secho(f"error: {path.name}: {exc.message}; nothing imported", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    for line in result.lines:
        typer.echo(line)
