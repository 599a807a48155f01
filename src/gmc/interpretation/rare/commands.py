"""Command-line tools of rare-disease interpretation: `gmc interpret rare` and `gmc bench rare`."""

from __future__ import annotations

from pathlib import Path

import typer

bench_app = typer.Typer(help="Benchmarks run against the shared reference cases.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def rare(
    phenopacket: Path = typer.Option(..., "--phenopacket", help="Phenopacket JSON: only subject and features are read."),
    vcf: Path = typer.Option(..., "--vcf", help="The case's VCF (plain or bgzipped)."),
    out: Path = typer.Option(..., "--out", help="Where to write RESULT.json."),
    ped: Path | None = typer.Option(None, "--ped", help="PED file of the family (default: singleton)."),
    panel: list[str] = typer.Option([], "--panel", help="PanelApp panel id or exact name (repeatable)."),
    build: str = typer.Option("GRCh38", "--build", help="Genome build the VCF must be on."),
    no_clinvar: bool = typer.Option(False, "--no-clinvar", help="Switch ClinVar evidence off."),
    limit: int = typer.Option(100, "--limit", min=1, help="How many ranked genes to write."),
) -> None:
    """Ranks a case's genes from files (phenopacket + VCF [+ PED]) and writes RESULT.json."""
    from gmc.interpretation.rare.files import RareInputError, interpret_files

    try:
        result = interpret_files(
            phenopacket, vcf, out, ped_path=ped, panels=panel, build=build, clinvar=not no_clinvar, limit=limit
        )
    except RareInputError as exc:
        _fail(str(exc))
        return
    top = ", ".join(f"{g['rank']}. {g['gene']}" for g in result["genes"][:5])
    typer.echo(f"wrote {out}: {len(result['genes'])} genes ranked; top: {top}")


@bench_app.command("rare")
def bench_rare(
    cases: Path = typer.Option(..., "--cases", help="Directory of phenopackets with causal variants."),
    background: Path = typer.Option(..., "--background", help="Background exome VCF (GRCh38, one sample)."),
    json_out: Path = typer.Option(..., "--json", help="Where to write OUT.json."),
    sample: int = typer.Option(0, "--sample", min=0, help="Random sample of this many cases (0 = all)."),
    seed: int = typer.Option(1, "--seed", help="Seed for sampling, spiking donors and the HPO shuffle."),
    work: Path = typer.Option(Path("var/bench/rare"), "--work", help="Directory for the prepared cases."),
    no_without_clinvar: bool = typer.Option(False, "--skip-without-clinvar", help="Skip the ClinVar-off run."),
    no_shuffled: bool = typer.Option(False, "--skip-shuffled", help="Skip the shuffled-HPO control."),
    fresh: int = typer.Option(
        0, "--fresh-processes", min=0, help="Also run this many cases as fresh `gmc interpret rare` processes."
    ),
) -> None:
    """Spikes each case's causal variants into the background, ranks blind from files and reports the figures."""
    from gmc.interpretation.rare.bench import BenchmarkInputError, run_benchmark, write_benchmark

    try:
        document = run_benchmark(
            cases, background, work, sample=sample or None, seed=seed, without_clinvar=not no_without_clinvar,
            shuffled_control=not no_shuffled, progress=typer.echo, fresh_processes=fresh,
        )
    except BenchmarkInputError as exc:
        _fail(str(exc))
        return
    write_benchmark(document, json_out)
    fresh_figures = document.get("fresh_process")
    if fresh_figures:
        typer.echo(
            f"fresh processes ({fresh_figures['n_cases']} cases): median {fresh_figures['median_wall_seconds']} s "
            f"wall, {fresh_figures['median_cpu_seconds']} s CPU, peak RSS {fresh_figures['max_rss_mb']} MB"
        )
    typer.echo(
        f"{document['n_cases']} cases: top-1 {document['top1']}, top-3 {document['top3']}, top-5 {document['top5']}, "
        f"top-10 {document['top10']}, MRR {document['mrr']}; median {document.get('median_seconds')} s/case, "
        f"peak RSS {document['peak_rss_mb']} MB -> {json_out}"
    )
