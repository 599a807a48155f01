"""`gmc reports`: render a case's report (HTML, PDF, FHIR), list reports, review rules and reanalysis checks."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer

app = typer.Typer(help="Clinical reports: render, list, review rules, reanalysis.", no_args_is_help=True)


def _principal(session):  # noqa: ANN001, ANN202
    """The operator principal of the command line: the `gmc --as USER` user, else the OS operator (national scope),
    named in the audit trail either way."""
    from gmc.auth.operator import operator_principal

    return operator_principal(session)


def _database():  # noqa: ANN202
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    return Database(get_settings().database_url)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _write_atomically(out: Path, data: bytes) -> None:
    """Writes the file through a temporary file renamed into place: a failure leaves no partial file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".report-", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@app.command("render")
def render_report(
    case_id: str = typer.Argument(..., help="The case id (e.g. C12345678) or a report id (R000001)."),
    format: str = typer.Option("pdf", "--format", "-f", help="html, pdf or fhir."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write."),
    version: int | None = typer.Option(None, "--version", help="A report version (default: the current one)."),
) -> None:
    """Renders a case's report as HTML, PDF or a FHIR R4 bundle (the current released version by default)."""
    from gmc.common.errors import DomainError
    from gmc.reporting import render, service

    if format not in render.FORMATS:
        _fail(f"--format must be one of {', '.join(render.FORMATS)}")
    database = _database()
    try:
        with database.transaction() as session:
            report_id = service.report_id_for(session, _principal(session), case_id)
            document, overlay = service.open_report(session, _principal(session), report_id, version=version, fmt=format)
            data = render.render(document, format, overlay)
            _write_atomically(out, data)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        database.dispose()
    status = overlay["status"]
    typer.echo(f"wrote {out} ({len(data):,} bytes): report {document['report_id']} v{document['version']} ({status})")


@app.command("list")
def list_reports(
    status: list[str] = typer.Option([], "--status", "-s",
                                     help="draft, awaiting_check, authorised, released or superseded (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Lists report versions, optionally of some statuses, newest first."""
    from gmc.common.errors import DomainError
    from gmc.reporting import service

    database = _database()
    try:
        with database.transaction() as session:
            rows = service.report_list(session, _principal(session), status or None)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=1))
        return
    typer.echo(f"{'report':<10} {'v':>2} {'status':<15} {'case':<11} {'arm':<13} released")
    for row in rows:
        released = str(row["released_at"] or "")[:16]
        typer.echo(f"{row['report_id']:<10} {row['version']:>2} {row['status']:<15} {row['case_id']:<11} "
                   f"{row['programme_arm']:<13} {released}")
    typer.echo(f"{len(rows)} report version(s)")


@app.command("rules")
def rules(
    arm: str | None = typer.Argument(None, help="rare_disease or cancer (leave out to list the rules)."),
    turnaround_days: int | None = typer.Option(None, "--turnaround-days", help="Days from referral to report."),
    mdt: bool | None = typer.Option(None, "--mdt/--no-mdt", help="Whether an MDT must agree findings first."),
    centre: str | None = typer.Option(None, "--centre", help="A centre code, e.g. WMGMC (default: the operator's "
                                      "centre; national operators: the programme's default)."),
) -> None:
    """Shows or changes the review rules (turnaround target per programme arm, whether an MDT is required) of a
    centre or the programme's default, with the same scope as the web: a centre's centre-wide admins change its
    rules, national staff any centre's and the default."""
    from gmc.common.errors import DomainError
    from gmc.reporting import service

    database = _database()
    try:
        with database.transaction() as session:
            principal = _principal(session)
            centre_id = service.rules_centre(session, principal, centre)
            if arm is not None:
                current = service.rules(session, centre_id).get(arm)
                service.set_rule(session, principal, arm,
                                 turnaround_days=turnaround_days or (current.turnaround_days if current else 0),
                                 mdt_required=mdt if mdt is not None else (current.mdt_required if current else True),
                                 centre_code=centre)
            from gmc.organisations.models import Centre

            where = f"centre {session.get(Centre, centre_id).code}" if centre_id is not None else \
                "the programme's default"
            lines = [f"review rules at {where}:"]
            lines += [f"{r.programme_arm:<13} {r.turnaround_days:>4} days  MDT "
                      f"{'required' if r.mdt_required else 'not required'}  "
                      f"({'centre rule' if r.centre_id is not None else 'programme default'})"
                      for r in service.rules(session, centre_id).values()]
    except DomainError as exc:
        _fail(exc.message)
    finally:
        database.dispose()
    typer.echo("\n".join(lines))


@app.command("reanalyse")
def reanalyse(
    case_id: str | None = typer.Argument(None, help="One reported case to reanalyse now (on request)."),
    check: bool = typer.Option(False, "--check", help="Only list reported cases whose reference data changed."),
    reason: str = typer.Option("", "--reason", help="Why (for a reanalysis on request)."),
) -> None:
    """Reanalyses reported cases whose reference data (ClinVar, HPO, panels, knowledge base) changed, or one case."""
    from gmc.common.errors import DomainError
    from gmc.reporting import reanalysis

    database = _database()
    lines: list[str] = []
    try:
        with database.transaction() as session:
            principal = _principal(session)
            if check:
                for due in reanalysis.cases_due_for_reanalysis(session, principal):
                    changed = "; ".join(f"{k}: {v['previous']} -> {v['current']}" for k, v in due["changes"].items())
                    lines.append(f"{due['case_id']} (run {due['run_id']}): {changed}")
                lines.append(f"{len(lines)} reported case(s) due for reanalysis")
            else:
                rows = ([reanalysis.reanalyse_case(session, principal, case_id, reason=reason)] if case_id
                        else reanalysis.reanalyse_changed(session, principal))
                from gmc.registry.models import Case

                for row in rows:
                    case = session.get(Case, row.case_id)
                    moved = len(row.changes.get("reclassified", [])) + len(row.changes.get("gone", []))
                    lines.append(f"case {case.case_id if case else row.case_id}: {row.trigger.replace('_', ' ')}; {moved} reported finding(s) "
                                 f"moved; {len(row.changes.get('new_candidates', []))} new candidate(s)"
                                 + ("; flagged for amendment" if row.needs_amendment else ""))
                lines.append(f"{len(rows)} case(s) reanalysed")
    except DomainError as exc:
        _fail(exc.message)
    finally:
        database.dispose()
    typer.echo("\n".join(lines))
