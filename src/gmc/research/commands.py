"""`gmc research`: cohort counts and saved cohorts, projects, release requests, approvals, builds, downloads and
the recall list, acting as a named user (every step is audited under that user)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Research: cohorts, projects, releases and the recall list.", no_args_is_help=True)
cohort_app = typer.Typer(help="Cohort counts and saved, versioned cohort definitions.", no_args_is_help=True)
project_app = typer.Typer(help="Research projects and their approval.", no_args_is_help=True)
release_app = typer.Typer(help="Data releases: request, approve, build, download.", no_args_is_help=True)
app.add_typer(cohort_app, name="cohort")
app.add_typer(project_app, name="project")
app.add_typer(release_app, name="release")

USER = typer.Option(..., "--user", "-u", help="The gmc user acting (audited as them); their role and scope apply.")
JSON = typer.Option(False, "--json", help="Print JSON instead of text.")
_err = Console(stderr=True, soft_wrap=True)
_out = Console(soft_wrap=True, highlight=False)


@contextmanager
def _session(username: str) -> Iterator[tuple[Any, Any]]:
    """A transaction and the named user's principal; domain errors end the command with their message."""
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
            user = auth_repository.get_user_by_username(session, username)
            if user is None or not user.is_active:
                _fail(f"--user: no active user named {username!r}")
            yield session, principal_for(session, user, auth_method="cli")
    except DomainError as exc:
        where = f"{exc.field}: " if exc.field else ""
        _fail(f"{where}{exc.message}; nothing was changed")
    finally:
        db.dispose()


def _fail(message: str) -> None:
    _err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def _print(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        _out.print(escape(text(data)))


def _criteria(criteria_file: Path | None, hpo: list[str], match: str, disease: list[str], gene: list[str],
              variant: list[str], cancer_type: list[str], arm: list[str], sex: list[str], age_band: list[str],
              impact: list[str], clinvar: str | None, max_af: str | None, genotype: list[str], research_id: list[str],
              ) -> dict[str, Any]:
    """Criteria from a JSON file and/or options (options add to the file's lists)."""
    criteria: dict[str, Any] = {}
    if criteria_file is not None:
        try:
            criteria = json.loads(criteria_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f"{criteria_file}: not a JSON object of criteria ({exc})")
        if not isinstance(criteria, dict):
            _fail(f"{criteria_file}: not a JSON object of criteria")
    for key, values in (("hpo_terms", hpo), ("disease_codes", disease), ("genes", gene), ("variants", variant),
                        ("cancer_types", cancer_type), ("programme_arms", arm), ("sexes", sex),
                        ("age_bands", age_band), ("research_ids", research_id)):
        if values:
            criteria[key] = list(criteria.get(key, [])) + list(values)
    if match:
        criteria["hpo_match"] = match
    qualifying = dict(criteria.get("qualifying") or {})
    if impact:
        qualifying["impacts"] = impact
    if clinvar:
        qualifying["clinvar"] = clinvar
    if max_af is not None:
        qualifying["max_population_af"] = None if max_af.lower() == "none" else max_af
    if genotype:
        qualifying["genotypes"] = genotype
    if qualifying:
        criteria["qualifying"] = qualifying
    return criteria


CRITERIA_FILE = typer.Option(None, "--criteria", exists=True, dir_okay=False, help="Criteria as a JSON file.")
HPO = typer.Option([], "--hpo", help="HPO term observed, with its descendants (repeatable).")
MATCH = typer.Option("", "--hpo-match", help="all (default) or any of the HPO terms.")
DISEASE = typer.Option([], "--disease", help="OMIM/ORPHA/MONDO code suspected or confirmed (repeatable).")
GENE = typer.Option([], "--gene", help="Gene with a qualifying variant (repeatable).")
VARIANT = typer.Option([], "--variant", help="Allele carried, CHROM-POS-REF-ALT on GRCh38 (repeatable).")
CANCER = typer.Option([], "--cancer-type", help="OncoTree code, with every type below it (repeatable).")
ARM = typer.Option([], "--arm", help="rare_disease or cancer (repeatable).")
SEX = typer.Option([], "--sex", help="female, male, other or unknown (repeatable).")
AGE = typer.Option([], "--age-band", help="Age at recruitment: 0-4, 5-17, 18-39, 40-59, 60-79, 80+ (repeatable).")
IMPACT = typer.Option([], "--impact", help="Qualifying impact: HIGH, MODERATE, LOW, MODIFIER (repeatable).")
CLINVAR = typer.Option(None, "--clinvar", help="ClinVar P/LP: or (default), only, no.")
MAX_AF = typer.Option(None, "--max-af", help="Highest population allele frequency (default 0.01; 'none': any).")
GENOTYPE = typer.Option([], "--genotype", help="het and/or hom (repeatable; default both).")
RESEARCH_ID = typer.Option([], "--research-id", help="A research id of an earlier release of --project (repeatable).")


def _count_text(data: dict[str, Any]) -> str:
    lines = [f"{data['count']} participants", *("  " + d for d in data["description"])]
    for name, split in data["breakdowns"].items():
        if split["cells"]:
            lines.append(f"  by {name.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in split["cells"].items()))
    lines += [f"  note: {n}" for n in data["notes"]]
    if any(split["suppressed"] for split in data["breakdowns"].values()):
        lines.append("  (<10: a count of 1-9; *: hidden so that it cannot be worked out from the total)")
    return "\n".join(lines)


@cohort_app.command("count")
def cohort_count(
    user: str = USER, project: str | None = typer.Option(None, "--project", help="Count within a project's scope."),
    criteria_file: Path | None = CRITERIA_FILE, hpo: list[str] = HPO, match: str = MATCH, disease: list[str] = DISEASE,
    gene: list[str] = GENE, variant: list[str] = VARIANT, cancer_type: list[str] = CANCER, arm: list[str] = ARM,
    sex: list[str] = SEX, age_band: list[str] = AGE, impact: list[str] = IMPACT, clinvar: str | None = CLINVAR,
    max_af: str | None = MAX_AF, genotype: list[str] = GENOTYPE, research_id: list[str] = RESEARCH_ID,
    as_json: bool = JSON,
) -> None:
    """How many research-eligible participants meet the criteria (1-9 shown as <10), split by sex, age, arm, centre."""
    from gmc.research import service

    criteria = _criteria(criteria_file, hpo, match, disease, gene, variant, cancer_type, arm, sex, age_band, impact,
                         clinvar, max_af, genotype, research_id)
    with _session(user) as (session, principal):
        data = service.count_cohort(session, principal, criteria, project_id=project)
    _print(data, as_json, _count_text)


def _cohort_text(data: dict[str, Any]) -> str:
    lines = [f"{data['cohort_id']} {data['name']} (project {data['project_id']})"]
    for v in data["versions"]:
        lines.append(f"  version {v['version']}: {v['count']} participants when saved by {v['created_by']}"
                     f"{' - ' + v['note'] if v['note'] else ''}")
        lines += [f"    {d}" for d in v["description"]]
    return "\n".join(lines)


@cohort_app.command("save")
def cohort_save(
    user: str = USER, project: str = typer.Option(..., "--project", help="Project id, e.g. RP0001."),
    name: str = typer.Option(..., "--name"), note: str = typer.Option("", "--note"),
    cohort: str | None = typer.Option(None, "--cohort", help="Save a new version of this cohort instead."),
    criteria_file: Path | None = CRITERIA_FILE, hpo: list[str] = HPO, match: str = MATCH, disease: list[str] = DISEASE,
    gene: list[str] = GENE, variant: list[str] = VARIANT, cancer_type: list[str] = CANCER, arm: list[str] = ARM,
    sex: list[str] = SEX, age_band: list[str] = AGE, impact: list[str] = IMPACT, clinvar: str | None = CLINVAR,
    max_af: str | None = MAX_AF, genotype: list[str] = GENOTYPE, research_id: list[str] = RESEARCH_ID,
    as_json: bool = JSON,
) -> None:
    """Saves a cohort definition in a project (or, with --cohort, a new version of one)."""
    from gmc.research import service

    criteria = _criteria(criteria_file, hpo, match, disease, gene, variant, cancer_type, arm, sex, age_band, impact,
                         clinvar, max_af, genotype, research_id)
    with _session(user) as (session, principal):
        if cohort:
            service.revise_cohort(session, principal, cohort, criteria=criteria, note=note)
            saved = service.get_cohort(session, principal, cohort)
        else:
            saved = service.save_cohort(session, principal, project_id=project, name=name, criteria=criteria,
                                        note=note)
        data = service.cohort_dict(saved)
    _print(data, as_json, _cohort_text)


@cohort_app.command("show")
def cohort_show(cohort_id: str, user: str = USER, as_json: bool = JSON) -> None:
    """A saved cohort with every version."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.cohort_dict(service.get_cohort(session, principal, cohort_id))
    _print(data, as_json, _cohort_text)


def _project_text(data: Any) -> str:
    rows = data if isinstance(data, list) else [data]
    return "\n".join(f"{p['project_id']} [{p['status']}] {p['title']} (lead {p['lead']}; cohorts "
                     f"{', '.join(p['cohorts']) or 'none'})" for p in rows) or "no projects"


@project_app.command("propose")
def project_propose(user: str = USER, title: str = typer.Option(..., "--title"),
                    purpose: str = typer.Option(..., "--purpose", help="The stated purpose of the research."),
                    as_json: bool = JSON) -> None:
    """Proposes a research project; a data-access approver decides on it."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.project_dict(service.propose_project(session, principal, title=title, purpose=purpose))
    _print(data, as_json, _project_text)


@project_app.command("decide")
def project_decide(project_id: str, user: str = USER,
                   approve: bool = typer.Option(..., "--approve/--reject", help="Approve or reject."),
                   note: str = typer.Option("", "--note", help="Reason or conditions (needed to reject)."),
                   as_json: bool = JSON) -> None:
    """A data-access approver (not the lead) approves or rejects a proposed project."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.project_dict(service.decide_project(session, principal, project_id, approve=approve, note=note))
    _print(data, as_json, _project_text)


@project_app.command("list")
def project_list(user: str = USER, as_json: bool = JSON) -> None:
    """Your projects (every project for a data-access approver)."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = [service.project_dict(p) for p in service.visible_projects(session, principal)]
    _print(data, as_json, _project_text)


def _release_text(data: Any) -> str:
    rows = data if isinstance(data, list) else [data]
    lines = []
    for r in rows:
        lines.append(f"{r['release_id']} [{r['status']}] cohort {r['cohort_id']} v{r['cohort_version']} "
                     f"(project {r['project_id']}), requested by {r['requested_by']}"
                     + (f", decided by {r['decided_by']}" if r["decided_by"] else "")
                     + (f": {r['participants']} participants, {len(r['files'])} files" if r["status"] == "built"
                        else ""))
        if r.get("error"):
            lines.append(f"  build failed: {r['error']}")
    return "\n".join(lines) or "no releases"


@release_app.command("request")
def release_request(
    user: str = USER, cohort: str = typer.Option(..., "--cohort", help="Cohort id, e.g. RC0001."),
    version: int | None = typer.Option(None, "--version", help="Cohort version (default the latest)."),
    purpose: str = typer.Option(..., "--purpose", help="The stated purpose of this release."),
    part: list[str] = typer.Option([], "--part", help="phenopackets, participants, phenotypes, diagnoses, cancer, "
                                                      "genomes, genotypes (repeatable; default all)."),
    genotypes: str | None = typer.Option(None, "--genotypes", help="cohort_genes, all or none."),
    as_json: bool = JSON,
) -> None:
    """Asks for a release of a cohort; a second person with the data-access role must approve it."""
    from gmc.research import service

    contents: dict[str, Any] = {}
    if part:
        contents["parts"] = part
    if genotypes:
        contents["genotypes"] = genotypes
    with _session(user) as (session, principal):
        data = service.release_dict(service.request_release(session, principal, cohort_id=cohort, version=version,
                                                            purpose=purpose, contents=contents))
    _print(data, as_json, _release_text)


def _build(release_id: str, user: str) -> dict[str, Any]:
    from gmc.auth.permissions import Permission
    from gmc.research import release as builder
    from gmc.research import service

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=_err, transient=True) as bar:
        task = bar.add_task("building", total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        with _session(user) as (session, principal):
            principal.require(Permission.RESEARCH_APPROVE)
            release = service.get_release(session, principal, release_id)
            builder.build_in_session(session, release, actor=principal.actor, progress=progress)
            return service.release_dict(release)


@release_app.command("decide")
def release_decide(release_id: str, user: str = USER,
                   approve: bool = typer.Option(..., "--approve/--reject", help="Approve or reject."),
                   note: str = typer.Option("", "--note", help="Reason or conditions (needed to reject)."),
                   build: bool = typer.Option(True, "--build/--no-build", help="Build at once when approved."),
                   as_json: bool = JSON) -> None:
    """A second person with the data-access role approves (and builds) or rejects a requested release."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.release_dict(service.decide_release(session, principal, release_id, approve=approve,
                                                           note=note))
    if approve and build:
        data = _build(release_id, user)
    _print(data, as_json, _release_text)


@release_app.command("build")
def release_build(release_id: str, user: str = USER, as_json: bool = JSON) -> None:
    """Builds an approved release (again, after a failed build) with a progress bar."""
    _print(_build(release_id, user), as_json, _release_text)


@release_app.command("show")
def release_show(release_id: str, user: str = USER, as_json: bool = JSON) -> None:
    """A release: request, decision, files and checksums."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.release_dict(service.get_release(session, principal, release_id))

    def text(r: dict[str, Any]) -> str:
        files = [f"  {f['name']}  {f['bytes']} bytes  sha256 {f['sha256']}" for f in r["files"]]
        return "\n".join([_release_text(r), f"  purpose: {r['purpose']}", *files])

    _print(data, as_json, text)


@release_app.command("list")
def release_list(user: str = USER, as_json: bool = JSON) -> None:
    """Releases of your projects (of every project for a data-access approver)."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = [service.release_dict(r) for r in service.visible_releases(session, principal)]
    _print(data, as_json, _release_text)


@release_app.command("download")
def release_download(release_id: str, user: str = USER,
                     out: Path = typer.Option(..., "--out", file_okay=False, help="Folder to copy the files into."),
                     ) -> None:
    """Copies every file of a built release into a folder, checking each checksum (audited per file)."""
    from gmc.research import release as builder
    from gmc.research import service

    with _session(user) as (session, principal):
        release = service.get_release(session, principal, release_id)
        folder = builder.release_folder(release)
        files = [(f, service.release_file(session, principal, release_id, f["name"], folder)) for f in release.files]
        out.mkdir(parents=True, exist_ok=True)
        for entry, path in files:
            target = out / entry["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(path, partial)
            if builder.sha256_of(partial) != entry["sha256"]:
                partial.unlink()
                _fail(f"{entry['name']}: checksum differs from the release record; the copy was removed")
            partial.replace(target)
    _out.print(f"{len(files)} files of {release_id} copied to {escape(str(out))}, checksums verified")


@app.command("recalls")
def recalls(user: str = USER, as_json: bool = JSON) -> None:
    """Participants of your releases who have left research since: delete their data, then confirm."""
    from gmc.research import service

    with _session(user) as (session, principal):
        data = service.recall_list(session, principal)

    def text(rows: list[dict[str, Any]]) -> str:
        return "\n".join(f"{r['release_id']} {r['research_id']}: {r['reason']}; "
                         + (f"deletion confirmed by {r['confirmed_by']}" if r["confirmed_at"] else "awaiting deletion")
                         for r in rows) or "nothing to recall"

    _print(data, as_json, text)
