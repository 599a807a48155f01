"""Command-line tools of the participant registry (mounted by the CLI as `gmc registry`)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
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
    console = Console(stderr=True)
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
            console.print(f"[red]error:[/red] {error}")
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
