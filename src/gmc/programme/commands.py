"""`gmc programme`: the dashboard as a report file, and the plans behind the target trajectories."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Programme monitoring: reports and plans.", no_args_is_help=True)
plan_app = typer.Typer(help="Targets and their periods (nationally or per centre).", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
_err = Console(stderr=True, soft_wrap=True)


def _run(user: str | None, work: Any) -> Any:
    """Runs work(session, principal) in a transaction as a named user, or as the national operator."""
    from gmc.auth import repository as auth_repository
    from gmc.auth.service import principal_for
    from gmc.bootstrap import load_models
    from gmc.common.errors import DomainError
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    db = Database(get_settings().database_url)
    try:
        with db.transaction() as session:
            if user:
                found = auth_repository.get_user_by_username(session, user)
                if found is None or not found.is_active:
                    _fail(f"--user: no active user named {user!r}")
                principal = principal_for(session, found, auth_method="cli")
            else:
                from gmc.auth.operator import operator_principal

                principal = operator_principal(session)  # `gmc --as USER`, else the OS operator, named in the audit
            return work(session, principal)
    except DomainError as exc:
        _fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")
    finally:
        db.dispose()


def _fail(message: str) -> None:
    _err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def report_csv(data: dict[str, Any]) -> str:
    """Every chart of a dashboard in one long CSV: chart, category, series, value."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["view", "chart", "category", "series", "value"])
    charts = list(data["charts"]) + ([data["national"]["chart"]] if data.get("national") else [])
    for c in charts:
        for s in c["series"]:
            for label, value in zip(c["labels"], s["values"], strict=True):
                writer.writerow([data["scope"], c["key"], label, s["label"], "" if value is None else value])
    return out.getvalue()


@app.command("report")
def report(out: Path = typer.Option(..., "--out", "-o", dir_okay=False, help="FILE.json or FILE.csv"),
           centre: str | None = typer.Option(None, "--centre", help="A centre code (default: the national view)."),
           user: str | None = typer.Option(None, "--user", "-u", help="Report as this user (their scope).")) -> None:
    """Writes the dashboard (every chart's numbers, the national view and targets) to a JSON or CSV file."""
    from gmc.programme import service

    if out.suffix.lower() not in (".json", ".csv"):
        _fail(f"--out: {out.name} must end in .json or .csv")
    data = _run(user, lambda session, principal: service.dashboard(session, principal, centre=centre))
    text = json.dumps(data, indent=2, default=str) if out.suffix.lower() == ".json" else report_csv(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(partial, out)
    h = data["headline"]
    typer.echo(f"{data['title']}: {h['recruited']:,} recruited, {h['genomes']:,} genomes "
               f"({h['genomes_passing_qc']:,} passing QC)" + (f", target {h['target']:,}" if h["target"] else "")
               + f"; {len(data['charts'])} charts written to {out}")


@plan_app.command("set")
def plan_set(scope: str = typer.Option(..., "--scope", help="NATIONAL or a centre code, e.g. WMGMC."),
             measure: str = typer.Option("genomes", "--measure", help="genomes, cancer_genomes or cancer_patients."),
             target: int = typer.Option(..., "--target"),
             start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD."),
             end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD."),
             user: str | None = typer.Option(None, "--user", "-u", help="Act as this (national programme) user.")) -> None:
    """Sets a target and its period; the dashboard draws an even trajectory to it."""
    from gmc.programme import service

    try:
        starts_on, ends_on = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        _fail(f"--start/--end: {exc} (write YYYY-MM-DD)")
    plan = _run(user, lambda session, principal: service.set_plan(
        session, principal, scope=scope, measure=measure, target=target, starts_on=starts_on, ends_on=ends_on))
    typer.echo(f"plan {plan.scope} {plan.measure}: {plan.target:,} from {plan.starts_on} to {plan.ends_on}")


@plan_app.command("list")
def plan_list(user: str | None = typer.Option(None, "--user", "-u")) -> None:
    """Every plan."""
    from gmc.programme import service

    rows = _run(user, lambda session, principal: service.plans(session, principal))
    for p in rows:
        typer.echo(f"{p['scope']:10} {p['measure']:16} {p['target']:>9,}  {p['starts_on']} to {p['ends_on']}")
    if not rows:
        typer.echo("no plans")
