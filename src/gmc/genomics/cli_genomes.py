"""Command line of the genome-data feature: `gmc genomes ingest|qc` and `gmc variants query|ingest-cohort|compact`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

genomes_app = typer.Typer(help="Genome data of cases: ingest a case manifest, show QC.", no_args_is_help=True)
variants_app = typer.Typer(help="Query the variant store through a case.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


@genomes_app.callback()
def genomes() -> None:
    """Genome data of cases."""


@variants_app.callback()
def variants() -> None:
    """Variant queries."""


def _principal(session):  # noqa: ANN001, ANN202
    """The command line's principal: `gmc --as USER` (their roles and scope), else the OS operator."""
    from gmc.auth.operator import operator_principal

    return operator_principal(session)


def _database():  # noqa: ANN202
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.settings import get_settings

    load_models()
    return Database(get_settings().database_url)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {escape(str(message))}")
    console.print("Nothing was stored.")
    raise typer.Exit(1)


@genomes_app.command("ingest")
def ingest(
    manifest: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                    help="Case manifest (YAML or JSON): case_id, build, files with sample mapping."),
    store: Path | None = typer.Option(None, "--store", file_okay=False,
                                      help="Variant stores' directory (default: GMC_DATA_DIR/variant_store)."),
    annotate: bool = typer.Option(True, "--annotate/--no-annotate", help="Annotate sites new to the store."),
) -> None:
    """Ingests a case's VCFs: validate, read, QC, annotate, then store; all or nothing, safe to re-run."""
    from gmc.common.errors import DomainError
    from gmc.genomics import service
    from gmc.genomics.manifest import ManifestError, load_manifest

    try:
        parsed = load_manifest(manifest)
    except ManifestError as exc:
        _fail(str(exc))
    db = _database()
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console,
                  transient=False) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total, detail="")
            detail = f"line {done:,}" if stage == "read" else ""
            progress.update(tasks[stage], completed=done, total=total, detail=detail)

        try:
            with db.transaction() as session:
                report = service.ingest_manifest(session, principal=_principal(session), manifest=parsed,
                                                 base_dir=manifest.parent, store_base=store, annotate=annotate,
                                                 progress=update)
        except DomainError as exc:
            progress.stop()
            _fail(exc.message)
        finally:
            db.dispose()
    for f in report.files:
        state = "stored" if f.created else "already stored (nothing new)"
        typer.echo(f"{Path(f.path).name}: {state}; {f.build}; samples {', '.join(f.samples)}; "
                   f"{f.records:,} allele rows; {f.n_new_sites:,} new sites; datasets {', '.join(f.datasets)}")
        for flag in f.flags:
            typer.secho(f"  QC flag {flag['sample']} {flag['metric']}={flag['value']} (expected {flag['limit']}): "
                        f"{flag['message']}", fg=typer.colors.YELLOW)
    typer.echo(f"case {report.case_id} is now {report.case_status}")
    if report.created:
        # After the commit: a store whose single genomes have piled up is merged into one segment.
        for done in service.compact_if_due([f.build for f in report.files], store_base=store):
            typer.echo(f"variant store {done['build']}: compacted {done['datasets']} datasets into {done['segment']}")
            for merge in done["merged"]:
                typer.echo(f"variant store {merge['build']}: merged segments of {merge['datasets']} datasets into "
                           f"{merge['segment']}")


@genomes_app.command("qc")
def qc(
    case_or_dataset: str = typer.Argument(..., help="A case id (C...) or a dataset id (GD...)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Shows the QC metrics and flags of a case's datasets (or one dataset)."""
    from gmc.common.errors import DomainError
    from gmc.genomics import repository as repo
    from gmc.genomics import service
    from gmc.registry.models import Case

    db = _database()
    try:
        with db.transaction() as session:
            case_id = case_or_dataset
            if case_or_dataset.upper().startswith("GD"):
                dataset = repo.dataset_by_id(session, case_or_dataset.upper())
                if dataset is None:
                    _fail(f"no dataset {case_or_dataset}")
                case_id = session.get(Case, dataset.case_id).case_id
            summary = service.qc_summary(session, principal=_principal(session), case_id=case_id)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    rows = [d for d in summary["datasets"]
            if not case_or_dataset.upper().startswith("GD") or d["dataset_id"] == case_or_dataset.upper()]
    if as_json:
        typer.echo(json.dumps({**summary, "datasets": rows}, indent=1, default=str))
        return
    table = Table(title=f"QC of case {summary['case_id']} ({summary['status']})")
    for col in ("dataset", "participant", "sample", "variants", "Ti/Tv", "het/hom", "sex inferred/recorded",
                "flags"):
        table.add_column(col)
    for d in rows:
        q = d["qc"]
        table.add_row(d["dataset_id"], d["participant_id"] or "", d["vcf_sample"], f"{d['n_variants']:,}",
                      f"{q['titv']:.2f}" if q.get("titv") is not None else "n/a",
                      f"{q['het_hom_ratio']:.2f}" if q.get("het_hom_ratio") is not None else "n/a",
                      f"{q['inferred_sex']}/{q['recorded_sex']}",
                      "; ".join(f["metric"] for f in d["qc_flags"]) or "none")
    Console().print(table)
    for d in rows:
        for t in d["qc"].get("trios", []):
            if t["child"] == d["vcf_sample"]:
                typer.echo(f"trio {t['child']}: {t['mendelian_errors']} Mendelian errors in "
                           f"{t['informative_sites']} informative sites; " + "; ".join(
                               f"{p['role']} {'consistent' if p['consistent'] else 'NOT consistent'}"
                               for p in t["parents"]))


@variants_app.command("query")
def query(
    case_id: str = typer.Argument(..., help="Case id; the proband's dataset unless --dataset is given."),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset id (GD...)."),
    region: str | None = typer.Option(None, "--region", help="CHROM:START-END."),
    gene: list[str] = typer.Option([], "--gene", help="Gene symbol (repeat for a panel)."),
    consequence: str | None = typer.Option(None, "--consequence", help="SO term(s), comma-separated."),
    impact: list[str] = typer.Option([], "--impact", help="HIGH, MODERATE, LOW or MODIFIER (repeatable)."),
    max_af: float | None = typer.Option(None, "--max-af", help="Highest population AF kept."),
    clinvar: bool = typer.Option(False, "--clinvar", help="Only ClinVar P/LP alleles."),
    genotype: str | None = typer.Option(None, "--genotype", help="het, hom or hemi."),
    pass_only: bool = typer.Option(False, "--pass-only", help="Only FILTER=PASS calls."),
    limit: int = typer.Option(50, "--limit"),
    offset: int = typer.Option(0, "--offset"),
    sort: str = typer.Option("position", "--sort", help="position, gene, impact, gnomad_af, gq or qual."),
    out: Path | None = typer.Option(None, "--out", help="Write every matching variant to .tsv or .vcf instead."),
    store: Path | None = typer.Option(None, "--store", file_okay=False, help="Variant stores' directory."),
) -> None:
    """Lists (or exports) a case sample's variants in a region, gene or panel with filters."""
    from gmc.common.errors import DomainError
    from gmc.genomics import service

    q = service.VariantQuery(region=region, genes=tuple(gene), consequence=consequence, impacts=tuple(impact),
                             max_af=max_af, clinvar_only=clinvar, genotype=genotype, pass_only=pass_only)
    db = _database()
    try:
        with db.transaction() as session:
            principal = _principal(session)
            if out is not None:
                fmt = "vcf" if out.suffix == ".vcf" else "tsv"
                n = service.export_case_variants(session, principal=principal, case_id=case_id, query=q, fmt=fmt,
                                                 out=out, dataset_id=dataset, store_base=store)
                typer.echo(f"wrote {n:,} variants to {out}")
                return
            page = service.case_variants(session, principal=principal, case_id=case_id, query=q, dataset_id=dataset,
                                         sort=sort, limit=limit, offset=offset, store_base=store)
    except DomainError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc.message))}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    columns = ("chrom", "pos", "ref", "alt", "gt", "gene", "consequence", "impact", "hgvs_c", "hgvs_p", "clinvar",
               "gnomad_af", "gq", "dp", "filter")
    typer.echo("\t".join(columns))
    for row in page["rows"]:
        typer.echo("\t".join("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(f"{page['total']:,} variants match; showing {offset + 1}-{offset + len(page['rows'])} "
                  f"of dataset {page['dataset_id']} ({page['participant_id']}, {page['build']})")


@variants_app.command("ingest-cohort")
def ingest_cohort(
    vcf: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                               help="A joint-called VCF/BCF of any number of samples (bgzipped or plain)."),
    build: str | None = typer.Option(None, "--build", help="GRCh38 or GRCh37 (default: from the ##contig lines)."),
    store: Path | None = typer.Option(None, "--store", file_okay=False,
                                      help="Variant stores' directory (default: GMC_STORE_URI or GMC_DATA_DIR)."),
    annotate: bool = typer.Option(True, "--annotate/--no-annotate", help="Annotate sites new to the store."),
) -> None:
    """Streams a cohort VCF into the variant store in bounded memory: all or nothing, safe to re-run."""
    from gmc.audit.service import record
    from gmc.audit.verbs import AuditVerb
    from gmc.common.errors import DomainError
    from gmc.genomics import service

    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total, detail="")
            detail = f"line {done:,}" if stage == "read" else f"chromosome {done}/{total}"
            progress.update(tasks[stage], completed=done, total=total, detail=detail)

        try:
            result = service.ingest_cohort_vcf(vcf, build=build, store_base=store, annotate=annotate,
                                               progress=update)
        except DomainError as exc:
            progress.stop()
            _fail(exc.message)
    entry = result.entry
    if result.created:
        db = _database()
        try:
            with db.transaction() as session:
                record(session, actor=_principal(session).actor, verb=AuditVerb.IMPORT, entity_type="variant_store",
                       summary={"job": "ingest-cohort", "file": vcf.name, "dataset": entry.dataset_id,
                                "build": entry.build, "samples": len(entry.samples), "calls": entry.n_genotypes})
        finally:
            db.dispose()
    state = "stored" if result.created else "already stored (nothing new)"
    typer.echo(f"{vcf.name}: {state}; {entry.build}; {len(entry.samples):,} samples; {entry.n_genotypes:,} calls; "
               f"{entry.n_new_sites:,} new sites; store dataset {entry.dataset_id}")


@variants_app.command("compact")
def compact(
    build: str = typer.Option("GRCh38", "--build", help="GRCh38 or GRCh37: which store."),
    store: Path | None = typer.Option(None, "--store", file_okay=False, help="Variant stores' directory."),
    min_datasets: int = typer.Option(2, "--min-datasets", min=1,
                                     help="Do nothing unless at least this many datasets are outside a segment."),
    merge_segments: bool = typer.Option(False, "--merge-segments",
                                        help="Then merge segments of one size tier (GMC_STORE_MERGE_FANOUT)."),
    fanout: int | None = typer.Option(None, "--fanout", min=2,
                                      help="With --merge-segments: segments per tier (default GMC_STORE_MERGE_FANOUT)."),
) -> None:
    """Merges the datasets not yet in a segment into one segment: the same answers, far fewer files to open."""
    from gmc.common.errors import DomainError
    from gmc.genomics import service
    from gmc.genomics.vcf import normalise_build

    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("compact", total=None, detail="")

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, detail=f"chromosome {done}/{total}")

        try:
            result = service.compact_store(normalise_build(build), store, min_datasets=min_datasets,
                                           progress=update)
            merged = []
            if merge_segments:
                progress.update(task, description="merge", completed=0, total=None, detail="")
                merged = service.merge_store(normalise_build(build), store, fanout=fanout, progress=update)
        except (DomainError, ValueError) as exc:
            progress.stop()
            console.print(f"[red]error:[/red] {escape(str(getattr(exc, 'message', exc)))}")
            raise typer.Exit(1) from None
    if result is None:
        typer.echo(f"variant store {build}: fewer than {min_datasets} datasets outside a segment; nothing to do")
    else:
        typer.echo(f"variant store {result['build']}: compacted {result['datasets']} datasets "
                   f"({result['chromosomes']} chromosomes) into {result['segment']}")
    for merge in merged:
        typer.echo(f"variant store {merge['build']}: merged segments of {merge['datasets']} datasets "
                   f"({merge['chromosomes']} chromosomes) into {merge['segment']}")
    if merge_segments and not merged:
        typer.echo(f"variant store {build}: no size tier holds enough segments to merge")
