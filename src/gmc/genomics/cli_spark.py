"""Command line of the Spark jobs: `gmc spark submit national-build|cohort-af ...` run on GMC_SPARK_MASTER or
GMC_SPARK_REMOTE (or, started by spark-submit through gmc/genomics/store/submit.py, on its --master)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

spark_app = typer.Typer(help="National-scale jobs on a Spark cluster.", no_args_is_help=True)
submit_app = typer.Typer(help="Run a job on the cluster the settings name (GMC_SPARK_MASTER or GMC_SPARK_REMOTE).",
                         no_args_is_help=True)
spark_app.add_typer(submit_app, name="submit")
console = Console(stderr=True, soft_wrap=True)


def _audit(verb: str, summary: dict) -> None:
    """Records the job in the audit trail (it reads or writes every centre's genomes)."""
    from gmc.audit.service import record
    from gmc.audit.verbs import AuditVerb
    from gmc.genomics.cli_genomes import _database, _principal

    with _database().transaction() as session:
        record(session, actor=_principal("spark").actor, verb=AuditVerb(verb), entity_type="variant_store",
               summary=summary)


def _fail(exc: Exception) -> None:
    """Prints the error and exits 1 (the jobs write nothing visible until their last step)."""
    console.print(f"[red]error:[/red] {escape(str(getattr(exc, 'message', exc)))}")
    console.print("Nothing was changed.")
    raise typer.Exit(1)


def _session():  # noqa: ANN202
    """The job's SparkSession from the settings (or spark-submit's)."""
    from gmc.genomics.store.spark_engine import spark_session

    return spark_session("gmc-job")


@submit_app.command("national-build")
def national_build(
    centre: list[str] = typer.Option(..., "--centre", help="A centre's exported store, NAME=PATH-OR-URI (repeat)."),
    out: Path = typer.Option(..., "--out", file_okay=False,
                             help="The national store's folder (on a file system every executor sees)."),
    withdraw_centre: list[str] = typer.Option([], "--withdraw-centre", help="Leave out this centre (repeat)."),
    withdrawn: Path | None = typer.Option(None, "--withdrawn", exists=True, dir_okay=False,
                                          help="Withdrawn participants' samples, one CENTRE:SAMPLE a line."),
    partitions: int | None = typer.Option(None, "--partitions", min=1, help="Write tasks (default: input files)."),
) -> None:
    """Builds (and so compacts) the national store from the centres' stores and swaps it in atomically."""
    from gmc.common.errors import DomainError
    from gmc.genomics.store.jobs import national_build_job

    try:
        spark = _session()
        report = national_build_job(spark, centres=centre, out=out, withdraw_centres=withdraw_centre,
                                    withdrawn_file=withdrawn, partitions=partitions)
    except (DomainError, ValueError, OSError) as exc:
        _fail(exc)
    _audit("import", {"job": "national-build", "segment": report["segment_id"], "samples": report["samples"],
                      "centres": sorted(report["per_centre"]), "withdrawn_centres": report["withdrawn_centres"],
                      "withdrawn_samples": len(report["withdrawn_samples"])})
    report["withdrawn_samples"] = len(report["withdrawn_samples"])  # no identifiers on the console
    typer.echo(json.dumps(report, indent=1))


@submit_app.command("cohort-af")
def cohort_af(
    out: Path = typer.Option(..., "--out", file_okay=False, help="A new folder for the Parquet answer."),
    build: str = typer.Option("GRCh38", "--build", help="GRCh38 or GRCh37: which store."),
    store: str | None = typer.Option(None, "--store",
                                     help="The store's folder or URI (default GMC_STORE_URI/<build>)."),
    region: str | None = typer.Option(None, "--region", help="CHROM:START-END (default: the whole genome)."),
) -> None:
    """Writes every site's allele count, number and frequency from the cluster (small counts withheld)."""
    from gmc.common.errors import DomainError
    from gmc.genomics.service import parse_region, store_root
    from gmc.genomics.store.jobs import cohort_af_job
    from gmc.genomics.vcf import normalise_build
    from gmc.settings import get_settings

    try:
        root = store if store else store_root(normalise_build(build))
        span = parse_region(region) if region else None
        report = cohort_af_job(_session(), store=root, out=out, region=span,
                               min_count=get_settings().cohort_min_count)
    except (DomainError, ValueError, OSError) as exc:
        _fail(exc)
    _audit("export", {"job": "cohort-af", "region": region, "sites": report["sites"],
                      "suppressed": report["suppressed"]})
    typer.echo(json.dumps(report, indent=1))
