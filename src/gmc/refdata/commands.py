"""`gmc refdata`: fetch, verify and report the reference data gmc runs on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

app = typer.Typer(help="Reference data: fetch it, verify it, see what is installed.", no_args_is_help=True)


@app.callback()
def refdata() -> None:
    """Reference data tools (GMC_REFDATA)."""


def _root() -> Path:
    from gmc.settings import get_settings

    settings = get_settings()
    assert settings.refdata is not None  # filled by the settings (../shared/refdata or data_dir/refdata)
    return Path(settings.refdata)


@contextmanager
def progress_bars(console: Console) -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """A rich progress display; yields progress(label, total) -> advance(n) for the transfer."""
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=False, disable=not console.is_terminal) as bars:
        def start(label: str, total: int | None) -> Callable[[int], None]:
            task = bars.add_task(label[:48], total=total)
            return lambda n: bars.advance(task, n)

        yield start


def run_fetch(request, console: Console) -> list:  # noqa: ANN001 - FetchRequest, imported lazily
    """Runs a fetch with progress bars and notes on the console; returns the per-set results."""
    from gmc.refdata.service import fetch
    from gmc.refdata.transfer import Transfer

    def note(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    with progress_bars(console) as progress, Transfer(progress=progress) as transfer:
        return fetch(_root(), request, transfer=transfer, note=note)


@app.command("fetch")
def fetch_command(
    only: list[str] = typer.Option([], "--only", help="A set to fetch (repeatable); default: every set that is not "
                                                       "large (see `gmc refdata status`)."),
    origin: str | None = typer.Option(None, "--from", help="A mirror of the published files (directory, file:// or "
                                                             "http(s):// URL) or another gmc reference-data folder."),
    build: str = typer.Option("GRCh38", "--build", help="Genome build of build-specific sets: GRCh38 or GRCh37."),
    defaults: bool = typer.Option(False, "--defaults", help="Only the small default sets (what `make demo` fetches)."),
    force: bool = typer.Option(False, "--force", help="Fetch again even when the same release is installed."),
    sources: Path | None = typer.Option(None, "--sources", envvar="GMC_REFDATA_SOURCES",
                                        help="YAML/JSON file replacing catalogue URLs, releases or checksums."),
    adopt: bool = typer.Option(False, "--adopt", help="Install into a folder holding reference data gmc did not "
                                                      "install (e.g. ../shared/refdata); its files stay."),
) -> None:
    """Downloads, checks and installs reference-data sets into GMC_REFDATA (resumable; all-or-nothing per set)."""
    from gmc.refdata.errors import FetchError
    from gmc.refdata.service import FetchRequest

    console = Console(stderr=True)
    request = FetchRequest(only=only or None, build=build, origin=origin, defaults_only=defaults, force=force,
                           sources_file=sources, adopt=adopt)
    console.print(f"reference data: {_root()}", markup=False, highlight=False, soft_wrap=True)
    try:
        results = run_fetch(request, console)
    except (FetchError, ValueError) as error:
        console.print(f"error: {error}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    failed = [r for r in results if r.status == "failed"]
    for result in results:
        colour = {"installed": "green", "up to date": "green", "failed": "red"}.get(result.status, "yellow")
        console.print(f"{result.key}: ", end="", markup=False, highlight=False, soft_wrap=True)
        console.print(result.status, style=colour, end="", markup=False, highlight=False, soft_wrap=True)
        console.print(f" {result.message}" if result.message else "", markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@app.command("status")
def status_command(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Lists each set: installed release and origin, or what is missing and which features need it."""
    from dataclasses import asdict

    from gmc.refdata.service import status
    from gmc.refdata.transfer import human_size

    root = _root()
    found = status(root)
    if as_json:
        typer.echo(json.dumps({"refdata": str(root), "sets": [asdict(s) for s in found]}, indent=2))
        return
    console = _wide_console()
    console.print(f"reference data: {root}" + ("" if root.is_dir() else " (does not exist yet)"), markup=False,
                  highlight=False)
    table = Table(show_lines=False)
    for column in ("set", "state", "release", "installed", "origin", "size"):
        table.add_column(column, no_wrap=column in ("set", "state", "installed", "size"))
    for item in found:
        style = {"installed": "green", "incomplete": "red"}.get(item.state, "yellow" if not item.large else "dim")
        table.add_row(item.key, f"[{style}]{item.state}[/{style}]", short_release(item.release),
                      item.installed[:10], item.origin, human_size(item.size) if item.size else "")
    console.print(table)
    missing = [s for s in found if s.state != "installed" and s.command]
    if missing:
        console.print("missing, and what needs it:", markup=False, soft_wrap=True)
        for item in missing:
            optional = " (large, optional)" if item.large else ""
            console.print(f"  {item.key}{optional}: {'; '.join(item.features)}. Install: {item.command}",
                          markup=False, highlight=False, soft_wrap=True)


def short_release(release: str) -> str:
    """A set's releases for a table cell: all of them when few, else the count and the first."""
    parts = [p for p in release.split("; ") if p]
    return release if len(parts) <= 2 else f"{parts[0]} and {len(parts) - 1} more (see --json)"


def _wide_console() -> Console:
    """A console at least 120 columns wide when output is not a terminal (tables stay readable in logs)."""
    console = Console()
    return console if console.is_terminal else Console(width=140)


@app.command("verify")
def verify_command() -> None:
    """Re-checks the checksum of every installed reference-data file against the manifest."""
    from gmc.refdata.errors import MissingReferenceData
    from gmc.refdata.service import verify

    console = Console()
    try:
        report = verify(_root(), note=lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True))
    except MissingReferenceData as error:
        console.print(f"error: {error}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for problem in report.problems:
        console.print(f"problem: {problem}", style="red", markup=False, highlight=False, soft_wrap=True)
    tail = f"; {report.unrecorded} files have no recorded checksum (installed without gmc)" if report.unrecorded else ""
    console.print(f"{report.checked} files checked, {len(report.problems)} problems{tail}", markup=False, soft_wrap=True)
    if report.problems:
        raise typer.Exit(1)


@app.command("sources")
def sources_command(docs: Path | None = typer.Option(None, "--docs", help="Rewrite the generated tables of this "
                                                                        "markdown file (docs/refdata.md).")) -> None:
    """Lists every source: set, public URL, release, licence and terms, download size, how it is checked."""
    from gmc.refdata.docs import render_docs, sources_markdown

    if docs is None:
        typer.echo(sources_markdown())
        return
    docs.write_text(render_docs(docs.read_text(encoding="utf-8")), encoding="utf-8")
    typer.echo(f"{docs}: tables written from the catalogue")


@app.command("ensure")
def ensure_command(
    origin: str | None = typer.Option(None, "--from", envvar="GMC_REFDATA_FROM",
                                      help="A mirror or gmc folder to fetch from instead of the public sources."),
    sources: Path | None = typer.Option(None, "--sources", envvar="GMC_REFDATA_SOURCES",
                                        help="YAML/JSON file replacing catalogue URLs, releases or checksums."),
) -> None:
    """For `make demo` on a fresh machine: when GMC_REFDATA holds no reference data, fetches the small default
    sets if their sources answer; offline, says how to fetch later (the demo then runs without them)."""
    from gmc.refdata.catalogue import CATALOGUE
    from gmc.refdata.service import FetchRequest, installed_sets, load_sources_file, probe
    from gmc.refdata.transfer import Transfer

    console = Console(stderr=True)
    root = _root()
    found = installed_sets(root)
    if found:
        console.print(f"reference data: {root} ({len(found)} sets installed; `gmc refdata status` lists them)",
                      markup=False, highlight=False, soft_wrap=True)
        return
    defaults = ", ".join(s.key for s in CATALOGUE if s.default)
    with Transfer(timeout=10.0) as transfer:
        why_not = probe(origin, transfer, load_sources_file(sources))
    if why_not is not None:
        console.print(f"reference data: none in {root}, and the sources do not answer ({why_not}). The demo runs "
                      "without it: registry, samples and phenotypes work; genome, interpretation and cancer pages "
                      "say what they need. Later, run `gmc refdata fetch` (or `gmc refdata fetch --from "
                      "DIR_OR_URL` from a mirror), then `make demo` again.", style="yellow", markup=False,
                      highlight=False, soft_wrap=True)
        return
    console.print(f"reference data: none in {root}; fetching the small default sets ({defaults})",
                  markup=False, highlight=False, soft_wrap=True)
    results = run_fetch(FetchRequest(origin=origin, defaults_only=True, sources_file=sources), console)
    for result in results:
        console.print(f"{result.key}: {result.status}" + (f" ({result.message})" if result.status == "failed" else ""),
                      markup=False, highlight=False, soft_wrap=True)
