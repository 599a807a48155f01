"""The `gmc` command line: database, users, tokens, the web server, the demo and the audit check."""

from __future__ import annotations

import getpass
import sys
import time

import typer
import typer.core

from gmc import __version__
from gmc.settings import ConfigurationError, get_settings


class _Commands(typer.core.TyperGroup):
    """The top command group: a missing setting or reference-data set ends with its message, not a traceback."""

    def invoke(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None


app = typer.Typer(help="gmc: a Genomic Medicine Centre platform.", no_args_is_help=True, add_completion=False,
                  cls=_Commands)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
interpret_app = typer.Typer(help="Interpretation of a case or of files.", no_args_is_help=True)
app.add_typer(interpret_app, name="interpret")


def _mount_features() -> None:
    """Mounts each feature's command-line tools (each feature keeps them in its commands.py)."""
    from gmc.genomics import commands as genomics_commands

    app.command("annotate")(genomics_commands.annotate)
    if next((a for a in sys.argv[1:] if not a.startswith("-")), None) == "annotate":
        return  # `gmc annotate` needs no other feature, and importing them all is most of a one-variant run
    from gmc.backup import commands as backup_commands
    from gmc.genomics import cli_genomes, cli_spark
    from gmc.interpretation.cancer import commands as cancer_commands
    from gmc.interpretation.rare import commands as rare_commands
    from gmc.phenotype import commands as phenotype_commands
    from gmc.programme import commands as programme_commands
    from gmc.refdata import commands as refdata_commands
    from gmc.registry import commands as registry_commands
    from gmc.reporting import commands as reporting_commands
    from gmc.research import commands as research_commands
    from gmc.samples import commands as samples_commands

    app.add_typer(refdata_commands.app, name="refdata")
    app.add_typer(registry_commands.app, name="registry")
    app.add_typer(samples_commands.app, name="samples")
    app.add_typer(phenotype_commands.app, name="phenotype")
    app.add_typer(phenotype_commands.phenopackets_app, name="phenopackets")
    app.add_typer(cli_genomes.genomes_app, name="genomes")
    app.add_typer(cli_genomes.variants_app, name="variants")
    app.add_typer(cli_spark.spark_app, name="spark")
    interpret_app.command("somatic")(cancer_commands.somatic)
    interpret_app.command("rare")(rare_commands.rare)
    app.add_typer(rare_commands.bench_app, name="bench")
    app.add_typer(reporting_commands.app, name="reports")
    app.add_typer(research_commands.app, name="research")
    app.add_typer(programme_commands.app, name="programme")
    app.command("backup")(backup_commands.backup)
    app.command("restore")(backup_commands.restore)


_mount_features()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gmc {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit."),
         as_user: str | None = typer.Option(None, "--as", metavar="USER",
                                            help="Act (and be audited) as this gmc user, with their roles and "
                                                 "trusts; default: the operating-system user, national scope.")) -> None:
    """gmc: registry, samples, phenotypes, genomes and interpretation for a Genomic Medicine Centre."""
    from gmc.auth.operator import set_operator

    set_operator(as_user)


def _database():
    from gmc.bootstrap import load_models
    from gmc.db.core import Database

    load_models()
    return Database(get_settings().database_url)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Creates or migrates the database schema to the newest version."""
    from gmc.audit.checkpoints import adopt_unchecked_chain
    from gmc.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo(f"database is up to date ({settings.database_url.split('://')[0]})")
    db = _database()
    with db.transaction() as session:
        adopted = adopt_unchecked_chain(session, identity=db.identity, settings=db.settings)
    if adopted is not None:
        typer.echo(adopted)


@users_app.command("create")
def users_create(
    username: str,
    role: list[str] = typer.Option(..., "--role", "-r", help="Role (repeatable): admin, recruiter, lab, ..."),
    trust: list[str] = typer.Option([], "--trust", "-t", help="Trust ODS code (repeatable)."),
    centre: str | None = typer.Option(None, "--centre", help="Centre code, e.g. WMGMC."),
    centre_wide: bool = typer.Option(False, "--centre-wide", help="Sees every trust of the centre."),
    full_name: str = typer.Option("", "--name", help="Full name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Creates a user; the password is prompted for (or read from stdin), never taken as an argument."""
    from gmc.auth.operator import operator_principal
    from gmc.auth.service import create_user
    from gmc.common.errors import DomainError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    db = _database()
    try:
        with db.transaction() as session:
            operator = operator_principal(session)
            user = create_user(session, actor=operator.actor, username=username, password=password,
                               roles=role, full_name=full_name, centre_code=centre, trust_codes=trust,
                               centre_wide=centre_wide, principal=operator)
            typer.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(user.role_names)}")
    except DomainError as exc:
        _fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")


@users_app.command("token")
def users_token(
    username: str,
    name: str = typer.Option("cli", "--name", help="A name to tell the token apart."),
    days: int = typer.Option(90, "--days", min=1, help="Days until it expires (at most GMC_TOKEN_MAX_DAYS)."),
) -> None:
    """Creates a personal access token for a user and prints it once."""
    from gmc.auth import repository, service
    from gmc.auth.operator import operator_principal
    from gmc.common.errors import DomainError

    db = _database()
    try:
        with db.transaction() as session:
            user = repository.get_user_by_username(session, username)
            if user is None:
                _fail(f"no user named {username!r}")
            token, secret = service.create_token(session, actor=operator_principal(session).actor, user=user,
                                                 name=name, days=days,
                                                 max_days=db.settings.token_max_days)
            expires = token.expires_at.date().isoformat()
    except DomainError as exc:
        _fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")
    typer.echo(secret)
    typer.secho(f"token {name!r} for {username}, expires {expires}; it is shown only once", err=True)


def _user_change(username: str, change) -> None:  # noqa: ANN001
    """Runs one audited account change on the named user (actor: `gmc --as USER`, else the OS operator) and says
    what happened."""
    from gmc.auth import repository
    from gmc.auth.operator import operator_principal
    from gmc.common.errors import DomainError

    db = _database()
    try:
        with db.transaction() as session:
            user = repository.get_user_by_username(session, username)
            if user is None:
                _fail(f"no user named {username!r}")
            typer.echo(change(session, operator_principal(session).actor, user))
    except DomainError as exc:
        _fail(f"{exc.field + ': ' if exc.field else ''}{exc.message}")


@users_app.command("deactivate")
def users_deactivate(username: str) -> None:
    """Deactivates a leaver: their sessions and API tokens end at once."""
    from gmc.auth.lifecycle import set_active

    _user_change(username, lambda s, a, u: set_active(s, actor=a, user=u, active=False) or
                 f"{u.username} deactivated; sessions ended and tokens revoked")


@users_app.command("reactivate")
def users_reactivate(username: str) -> None:
    """Lets a deactivated user sign in again."""
    from gmc.auth.lifecycle import set_active

    _user_change(username, lambda s, a, u: set_active(s, actor=a, user=u, active=True) or
                 f"{u.username} reactivated")


@users_app.command("roles")
def users_roles(username: str, role: list[str] = typer.Option(..., "--role", "-r", help="The new roles (repeatable).")) -> None:
    """Replaces a user's roles."""
    from gmc.auth.lifecycle import set_roles

    _user_change(username, lambda s, a, u: set_roles(s, actor=a, user=u, roles=role) or
                 f"{u.username} now has roles {', '.join(u.role_names)}")


@users_app.command("reset-password")
def users_reset_password(username: str) -> None:
    """Gives a user a temporary password (printed once) to change at their next sign-in; their sessions end."""
    from gmc.auth.lifecycle import reset_password

    _user_change(username, lambda s, a, u: f"temporary password for {u.username} (shown once; it must be changed "
                 f"at the next sign-in): {reset_password(s, actor=a, user=u)}")


@users_app.command("reset-second-factor")
def users_reset_second_factor(username: str) -> None:
    """Forgets a user's authenticator (a lost phone); they set one up again at their next sign-in."""
    from gmc.auth.lifecycle import reset_second_factor

    _user_change(username, lambda s, a, u: reset_second_factor(s, actor=a, user=u) or
                 f"{u.username}'s two-step sign-in was reset; sessions ended and tokens revoked")


@audit_app.command("verify")
def audit_verify(
    checkpoints: list[str] = typer.Option([], "--checkpoints", help="Another copy of the checkpoints to compare "
                                          "with (e.g. lines kept by the syslog server); repeatable."),
) -> None:
    """Checks the audit chain's keyed hashes and compares its head with the checkpoints kept outside the database.

    Exits 1 naming the first broken event, or the events missing since the newest checkpoint.
    """
    from pathlib import Path

    from gmc.audit.checkpoints import verify_audit

    db = _database()
    with db.transaction() as session:
        result = verify_audit(session, identity=db.identity, settings=db.settings,
                              extra_sources=[Path(p) for p in checkpoints])
    if result.ok:
        typer.echo(result.summary())
        return
    _fail(result.summary())


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Verifies the chain and records its head as a new checkpoint (after an upgrade, or a deliberate move)."""
    from gmc.audit.checkpoints import checkpoint_file, checkpoint_now

    db = _database()
    with db.transaction() as session:
        report = checkpoint_now(session, identity=db.identity, settings=db.settings)
    if not report.ok:
        _fail(f"not checkpointed: audit chain broken at event id {report.broken_event_id} (seq {report.broken_seq}): "
              f"{report.reason}")
    typer.echo(f"checkpointed seq {report.head_seq or 0} in {checkpoint_file(db.settings)}")


@app.command("demo")
def demo(admin_code: bool = typer.Option(False, "--admin-code", help="Only print the demo administrator's "
                                         "current two-step sign-in code.")) -> None:
    """Loads the demo centre (West Midlands, South London, demo users and each feature's demo data)."""
    from gmc.db.migrate import upgrade
    from gmc.demo.service import DEMO_ADMIN_TOTP_SECRET, DEMO_USERS, describe_loader, load_demo

    settings = get_settings()
    if settings.is_production:
        _fail("the demo creates accounts with published passwords and is refused in production")
    if admin_code:
        import pyotp

        typer.echo(pyotp.TOTP(DEMO_ADMIN_TOTP_SECRET).now())
        return
    started = time.perf_counter()
    typer.echo(f"demo: migrating the database ({settings.data_dir})")
    upgrade(settings.database_url)
    db = _database()

    def progress(i: int, n: int, loader) -> None:  # noqa: ANN001 - a DemoLoader
        typer.echo(f"demo: [{i}/{n}] {describe_loader(loader)} ({time.perf_counter() - started:.0f} s so far)")

    with db.transaction() as session:
        summary = load_demo(session, progress=progress)
    typer.echo(f"demo: done in {time.perf_counter() - started:.0f} s")
    typer.echo("demo centre loaded: " + (", ".join(f"{v} {k}" for k, v in summary.created.items()) or "nothing new"))
    reasons: dict[str, list[str]] = {}
    for what, why in summary.skipped:
        reasons.setdefault(why, []).append(what)
    for why, parts in reasons.items():
        typer.secho(f"skipped {', '.join(parts)}: {why}", fg=typer.colors.YELLOW)
    typer.echo("demo logins: " + ", ".join(f"{u.username}/{u.password}" for u in DEMO_USERS))
    typer.echo(f"admin also needs a code from an authenticator app with the key {DEMO_ADMIN_TOTP_SECRET} "
               "(or run `gmc demo --admin-code`)")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serves the web app and API."""
    import uvicorn

    settings = get_settings()
    try:
        settings.check_production_safety()
    except ConfigurationError as exc:
        _fail(str(exc))
    typer.echo(f"gmc {__version__} serving on http://{host}:{port}")
    uvicorn.run("gmc.web.app:create_app", factory=True, host=host, port=port, reload=reload, access_log=False,
                log_config=None)


if __name__ == "__main__":
    app()
