"""The `somatic` command (mounted as `gmc interpret somatic`): tumour VCF or MAF in, RESULT.json out."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gmc.interpretation.cancer.somatic import SomaticSettings

app = typer.Typer(help="Cancer interpretation.", no_args_is_help=True, add_completion=False)


@app.callback()
def cancer() -> None:
    """Cancer interpretation: somatic tiers, oncogenicity and tumour mutational burden."""


@app.command("somatic")
def somatic(
    tumour_type: str = typer.Option(..., "--tumour-type", "--tumor-type",
                                    help="OncoTree code (e.g. BRCA, COADREAD, LUAD); TISSUE = tumour-agnostic."),
    out: Path = typer.Option(..., "--out", help="Where to write RESULT.json."),
    vcf: Path | None = typer.Option(None, "--vcf", help="Tumour-normal somatic VCF (GRCh38)."),
    maf: Path | None = typer.Option(None, "--maf", help="MAF instead of a VCF (GRCh37 rows are lifted)."),
    maf_sample: str | None = typer.Option(None, "--maf-sample", help="Tumor_Sample_Barcode of a multi-sample MAF."),
    maf_build: str | None = typer.Option(None, "--maf-build", help="Build of a MAF without NCBI_Build."),
    cna: Path | None = typer.Option(None, "--cna", help="Copy-number segments (PCGR nMajor/nMinor or CBS)."),
    fusions: Path | None = typer.Option(None, "--fusions", help="Fusion list with a FusionGene column."),
    tumour_sample: str | None = typer.Option(None, "--tumour-sample", help="Tumour sample column of the VCF."),
    normal_sample: str | None = typer.Option(None, "--normal-sample", help="Normal sample column of the VCF."),
    tumour_af_tag: str | None = typer.Option(None, "--tumour-af-tag", "--tumor-af-tag",
                                             help="Tumour VAF key: INFO/<key> or FORMAT/<key> (default: TVAF, AF, AD)."),
    tumour_dp_tag: str | None = typer.Option(None, "--tumour-dp-tag", "--tumor-dp-tag",
                                             help="Tumour depth key: INFO/<key> or FORMAT/<key>."),
    normal_af_tag: str | None = typer.Option(None, "--normal-af-tag", "--control-af-tag", help="Normal VAF key."),
    normal_dp_tag: str | None = typer.Option(None, "--normal-dp-tag", "--control-dp-tag", help="Normal depth key."),
    min_tumour_vaf: float = typer.Option(0.05, "--min-tumour-vaf", help="Minimum tumour VAF (0 = off)."),
    min_tumour_depth: int = typer.Option(10, "--min-tumour-depth", help="Minimum tumour depth (0 = off)."),
    max_normal_vaf: float = typer.Option(0.05, "--max-normal-vaf", help="Maximum VAF in the normal."),
    callable_bed: Path | None = typer.Option(None, "--callable", help="Callable-region BED of the assay (in the "
                                             "input's build): TMB over its merged length, counting calls inside it."),
    assay: str | None = typer.Option(None, "--assay", help="Assay whose TMB territory GMC_TMB_ASSAYS gives "
                                     "(NAME=Mb,...)."),
    tmb_territory_mb: float | None = typer.Option(None, "--tmb-territory-mb", help="Callable territory in Mb "
                                                  "(default: from --callable or --assay, else an assumed 34 Mb exome)."),
    tmb_count: str = typer.Option("coding_and_silent", "--tmb-count",
                                  help="coding_and_silent, coding_non_silent or missense_only."),
    include_non_pass: bool = typer.Option(False, "--include-non-pass", help="Keep records whose FILTER is not PASS."),
    list_unreported: bool = typer.Option(True, "--list-unreported/--no-unreported",
                                         help="List untiered silent/non-coding variants with their oncogenicity."),
    vcf_build: str | None = typer.Option(None, "--vcf-build",
                                         help="Build of a VCF without ##contig lengths (GRCh37 is lifted)."),
) -> None:
    """Tiers somatic variants (AMP/ASCO/CAP 2017), classifies oncogenicity (ClinGen/CGC/VICC 2022), computes TMB."""
    from gmc.interpretation.cancer.files import interpret_somatic_files

    if not out.parent.is_dir():
        typer.secho(f"error: the folder for --out ({out.parent}) does not exist", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)

    settings = SomaticSettings(min_tumour_vaf=min_tumour_vaf, min_tumour_depth=min_tumour_depth,
                               max_normal_vaf=max_normal_vaf, tmb_territory_mb=tmb_territory_mb,
                               tmb_assay=assay, tmb_count_mode=tmb_count, list_unreported=list_unreported)
    try:
        result = interpret_somatic_files(
            tumour_type=tumour_type, vcf=vcf, maf=maf, maf_sample=maf_sample, maf_build=maf_build, cna=cna,
            fusions=fusions, settings=settings, tumour_sample=tumour_sample, normal_sample=normal_sample,
            tumour_af_tag=tumour_af_tag, tumour_dp_tag=tumour_dp_tag, normal_af_tag=normal_af_tag,
            normal_dp_tag=normal_dp_tag, include_non_pass=include_non_pass, vcf_build=vcf_build,
            callable_bed=callable_bed)
    except (ValueError, RuntimeError) as exc:  # every input error class here subclasses ValueError
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    try:
        _write_atomically(out, json.dumps(result, indent=1, default=str) + "\n")
    except OSError as exc:
        typer.secho(f"error: cannot write {out}: {exc.strerror}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    counts = result["counts"]["by_tier"]  # type: ignore[index]
    tmb = result["tmb"]
    typer.echo(f"{out}: tier I {counts['I']}, II {counts['II']}, III {counts['III']}, IV {counts['IV']}; "
               f"{len(result['structural_findings'])} copy-number/fusion findings; "  # type: ignore[arg-type]
               f"TMB {tmb['per_mb']} mutations/Mb ({tmb['basis']})")  # type: ignore[index]


def _write_atomically(out: Path, text: str) -> None:
    """Writes the RESULT through a temporary file beside it, so a failed write leaves no half file."""
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(out)


@app.command("somatic-case")
def somatic_case(
    case_id: str = typer.Argument(..., help="Programme case id of a cancer case (e.g. C12345678)."),
    vcf: Path | None = typer.Option(None, "--vcf", help="Tumour-normal VCF; default: the case's stored tumour data set."),
    tumour_type: str | None = typer.Option(None, "--tumour-type", "--tumor-type",
                                           help="OncoTree code; default from the referral's cancer type."),
    cna: Path | None = typer.Option(None, "--cna", help="Copy-number segments."),
    fusions: Path | None = typer.Option(None, "--fusions", help="Fusion list."),
    germline_vcf: Path | None = typer.Option(None, "--germline-vcf", help="Germline VCF for predisposition findings."),
    germline_build: str | None = typer.Option(None, "--germline-build", help="Build of a germline VCF without "
                                              "##contig lengths (GRCh37 is lifted)."),
    vcf_build: str | None = typer.Option(None, "--vcf-build", help="Build of a VCF without ##contig lengths."),
    callable_bed: Path | None = typer.Option(None, "--callable", help="Callable-region BED of the assay (TMB)."),
    assay: str | None = typer.Option(None, "--assay", help="Assay whose TMB territory GMC_TMB_ASSAYS gives."),
    out: Path | None = typer.Option(None, "--out", help="Also write the RESULT.json here."),
) -> None:
    """Interprets a cancer case in the database with the live (curated) knowledge base and stores the run."""
    from gmc.auth.operator import operator_principal
    from gmc.bootstrap import load_models
    from gmc.common.errors import DomainError
    from gmc.db.core import Database
    from gmc.interpretation.cancer import service
    from gmc.registry.service import view_case
    from gmc.settings import get_settings

    load_models()
    db = Database(get_settings().database_url)
    try:
        with db.transaction() as session:
            principal = operator_principal(session)
            case = view_case(session, principal=principal, case_id=case_id)
            run = service.run_somatic(session, principal, case, tumour_type=tumour_type, vcf_path=vcf, cna_path=cna,
                                      fusions_path=fusions, germline_vcf=germline_vcf, germline_build=germline_build,
                                      vcf_build=vcf_build, callable_bed=callable_bed,
                                      settings=SomaticSettings(tmb_assay=assay))
            run_id, result = run.run_id, run.results
    except DomainError as exc:
        typer.secho(f"error: {exc.message}" + (f" (field {exc.field})" if exc.field else ""), fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    if out is not None:
        _write_atomically(out, json.dumps(result, indent=1, default=str) + "\n")
    counts = result["counts"]["by_tier"]  # type: ignore[index]
    typer.echo(f"{run_id} for case {case_id}: tier I {counts['I']}, II {counts['II']}, III {counts['III']}, "
               f"IV {counts['IV']}; TMB {result['tmb']['per_mb']} mutations/Mb "  # type: ignore[index]
               f"({result['tmb']['basis']})")  # type: ignore[index]
