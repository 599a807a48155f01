"""The genome-data JSON API: a case's datasets, QC, variant queries and exports, gene carriers, cohort AF."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import ValidationFailed
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files.service import resolve_path
from gmc.genomics import service
from gmc.genomics.schemas import DatasetOut, QcSummaryOut, VariantPageOut
from gmc.jobs.router import queue_import
from gmc.registry.service import view_case

router = APIRouter(prefix="/api/genomes", tags=["genomes"])

READ = Depends(require(Permission.GENOME_READ))
WRITE = Depends(require(Permission.GENOME_WRITE))


def store_base(request: Request) -> Path:
    """The variant stores' directory of this app's settings."""
    return Path(request.app.state.settings.data_dir) / "variant_store"


def variant_query(
    region: str | None = Query(None, description="CHROM:START-END, e.g. chr1:1000000-2000000"),
    gene: list[str] = Query([], description="Gene symbol(s); several make a panel"),
    consequence: str | None = Query(None, description="Sequence Ontology term(s), comma-separated"),
    impact: list[str] = Query([], description="HIGH, MODERATE, LOW, MODIFIER"),
    max_af: str | None = Query(None, description="Highest population allele frequency kept (0-1)"),
    clinvar: bool = Query(False, description="Only alleles with a ClinVar P/LP assertion"),
    genotype: str | None = Query(None, pattern="^(het|hom|hemi)?$"),
    pass_only: bool = Query(False, description="Only calls whose FILTER is PASS"),
    min_gq: str | None = Query(None, description="Lowest genotype quality kept"),
) -> service.VariantQuery:
    """The variant filters shared by the page, the export and the carrier query (blank form fields are unset)."""
    try:
        af = float(max_af) if max_af not in (None, "") else None
    except ValueError:
        raise ValidationFailed(f"max_af {max_af!r} is not a number", field="max_af") from None
    if af is not None and not 0 <= af <= 1:
        raise ValidationFailed("max_af must be between 0 and 1", field="max_af")
    if min_gq not in (None, "") and not str(min_gq).isdigit():
        raise ValidationFailed(f"min_gq {min_gq!r} is not a whole number", field="min_gq")
    return service.VariantQuery(
        region=region or None,
        genes=tuple(g for g in gene if g),
        consequence=consequence,
        impacts=tuple(i for i in impact if i),
        max_af=af,
        clinvar_only=clinvar,
        genotype=genotype or None,
        pass_only=pass_only,
        min_gq=int(min_gq) if min_gq not in (None, "") else None,
    )


QUERY = Depends(variant_query)


@router.post("/ingest", status_code=201,
             responses={202: {"description": "Large files: ingested by a background job (follow `status_url`)"}})
def ingest(request: Request, body: dict[str, Any], background: BackgroundTasks, principal: Principal = WRITE,
           db: GmcSession = DB) -> Any:
    """Ingests a case manifest (JSON); each file is upload:<id>, <folder>:<path>, or a path in your centre's
    incoming folder (GMC_DATA_DIR/incoming/<CENTRE>); all or nothing.

    When the files together are larger than GMC_IMPORT_JOB_BYTES the ingest runs as a background job: 202 with the
    job's `status_url` (phase and progress, then the same answer as `result`, or every problem)."""
    from gmc.genomics.manifest import ManifestError, parse_manifest

    try:
        manifest = parse_manifest(body, source="manifest")
    except ManifestError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    settings = request.app.state.settings
    view_case(db, principal=principal, case_id=manifest.case_id)  # scope first: files of a case you cannot see are moot
    for i, entry in enumerate(manifest.files):
        reference = entry.path if ":" in entry.path else f"incoming:{entry.path}"
        resolved = resolve_path(db, principal, reference, field=f"files[{i}].path", settings=settings)
        entry.path = str(resolved)
    base = Path(settings.data_dir).resolve()
    options = {"base_dir": str(base), "store_base": str(store_base(request)), "compact_after": settings.compact_after}
    if sum(Path(entry.path).stat().st_size for entry in manifest.files) > settings.import_job_bytes:
        # Files this large take from seconds to minutes: a job, followed at its status_url, not a held request.
        return queue_import(request, background, db, principal, kind="genomics.manifest",
                            data=manifest.model_dump_json().encode("utf-8"), source=f"{manifest.case_id} manifest",
                            options=options)
    # In-process annotation: forking a server holding other requests' threads (and their locks) is unsafe;
    # whole genomes go through `gmc genomes ingest`, which uses both cores.
    report = service.ingest_manifest(db, principal=principal, manifest=manifest, base_dir=base,
                                     store_base=store_base(request), workers=0)
    body = service.ingest_result(report)
    if report.created:
        # Runs after the response, so after the request's commit; it changes no database row.
        background.add_task(service.compact_after_ingest, body, **options)
    return body


@router.get("/cases/{case_id}/datasets", response_model=list[DatasetOut])
def datasets(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """The genome datasets of a case with their QC."""
    _, rows = service.case_datasets(db, principal=principal, case_id=case_id)
    return [service.dataset_summary(db, d) for d in rows]


@router.get("/cases/{case_id}/qc", response_model=QcSummaryOut)
def qc(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """QC metrics and flags of every dataset of a case, with the expected ranges."""
    return service.qc_summary(db, principal=principal, case_id=case_id)


@router.get("/cases/{case_id}/variants", response_model=VariantPageOut)
def variants(
    request: Request,
    case_id: str,
    query: service.VariantQuery = QUERY,
    dataset: str | None = Query(None, description="Dataset id; default the proband's"),
    sort: str = Query("position", pattern="^(position|gene|impact|gnomad_af|gq|qual)$"),
    desc: bool = False,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = READ,
    db: GmcSession = DB,
) -> dict[str, Any]:
    """One page of a case sample's variants in a region, gene or panel, filtered and sorted."""
    return service.case_variants(
        db,
        principal=principal,
        case_id=case_id,
        query=query,
        dataset_id=dataset,
        sort=sort,
        descending=desc,
        limit=limit,
        offset=offset,
        store_base=store_base(request),
    )


@router.get("/cases/{case_id}/variants/export")
def export(
    request: Request,
    case_id: str,
    query: service.VariantQuery = QUERY,
    fmt: str = Query("tsv", alias="format", pattern="^(tsv|vcf)$"),
    dataset: str | None = None,
    principal: Principal = READ,
    db: GmcSession = DB,
) -> Response:
    """A case sample's filtered variants as a TSV or VCF download."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"variants.{fmt}"
        service.export_case_variants(
            db,
            principal=principal,
            case_id=case_id,
            query=query,
            fmt=fmt,
            out=out,
            dataset_id=dataset,
            store_base=store_base(request),
        )
        body = out.read_bytes()
    media = "text/tab-separated-values" if fmt == "tsv" else "text/vcf"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{case_id}_variants.{fmt}"'},
    )


@router.get("/genes/{symbol}/carriers")
def carriers(
    request: Request,
    symbol: str,
    build: str = Query("GRCh38", pattern="^GRCh3[78]$"),
    query: service.VariantQuery = QUERY,
    principal: Principal = READ,
    db: GmcSession = DB,
) -> list[dict[str, Any]]:
    """Carriers of qualifying variants in a gene across the cases you can see."""
    return service.gene_carriers(
        db, principal=principal, gene=symbol, build=build, query=query, store_base=store_base(request)
    )


@router.get("/cohort-af")
def cohort_af(
    request: Request,
    build: str = Query("GRCh38", pattern="^GRCh3[78]$"),
    region: str | None = None,
    gene: str | None = None,
    principal: Principal = READ,
    db: GmcSession = DB,
) -> list[dict[str, Any]]:
    """Allele counts and frequencies in a region or gene across the store (aggregate, no samples); counts below
    GMC_COHORT_MIN_COUNT are withheld (`suppressed`: true)."""
    return service.cohort_af(
        db, principal=principal, build=build, region=region, gene=gene, store_base=store_base(request),
        min_count=request.app.state.settings.cohort_min_count,
    )
