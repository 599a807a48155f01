"""Genome pages: cases with genome data, and a case's genome page (QC charts, flags, variant table via htmx)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.charts import Chart, Series
from gmc.common.errors import DomainError
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, matches_text, paginate_list
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.genomics import repository as repo
from gmc.genomics import service
from gmc.genomics.router import store_base, variant_query

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Genomes", "/genomes", Permission.GENOME_READ, order=400, roles=frozenset({"scientist", "lab"})))

READ = Depends(require(Permission.GENOME_READ))
PAGE_SIZE = 50
_TYPES = ("SNV", "insertion", "deletion", "MNV", "complex", "symbolic")
_TYPE_COLOURS = ("#3b6ea5", "#5aa05a", "#c0504d", "#8064a2", "#f79646", "#999999")
#: Ti/Tv and het/hom are drawn on 0..4; a sample beyond is drawn at the edge and its value shown in the table.
_RATIO_SCALE = 4.0


@router.get("/genomes")
def genomes_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Cases at your trusts that have genome data, with their QC flag counts: filtered, sorted and paged."""
    state = ListState.from_query("/genomes", request.query_params, sorts=list(_GENOME_SORTS), default_sort="ingested",
                                 default_descending=True, filters=("q", "arm", "flags"))
    f = state.filters
    rows = [r for r in repo.cases_with_genomes(db, principal.trust_scope)
            if (not f.get("q") or matches_text({"case": r["case"].case_id, "proband": r["proband"]}, f["q"],
                                               ("case", "proband")))
            and (not f.get("arm") or r["case"].programme_arm == f["arm"])
            and (not f.get("flags") or (r["flags"] > 0) == (f["flags"] == "yes"))]
    page = paginate_list(rows, state, _GENOME_SORTS)
    return render(request, "genomics/list.html", {"cases": page.items, "page": page, "filters": f,
                                                  "principal": principal})


_GENOME_SORTS = {"case": lambda r: r["case"].case_id, "proband": lambda r: (r["proband"], r["case"].case_id),
                 "arm": lambda r: (r["case"].programme_arm, r["case"].case_id),
                 "status": lambda r: (r["case"].status, r["case"].case_id),
                 "datasets": lambda r: (r["datasets"], r["case"].case_id),
                 "flags": lambda r: (r["flags"], r["case"].case_id),
                 "ingested": lambda r: (r["latest"], r["case"].case_id)}


def qc_charts(datasets: list[dict[str, Any]], limits: dict[str, list[float]]) -> list[Chart]:
    """Per sample: Ti/Tv and het/hom against their expected ranges, and variant counts by type."""
    labels = [f'{d["participant_id"]} ({d["vcf_sample"]})' for d in datasets]
    qcs = [d["qc"] for d in datasets]

    def ratio(key: str, metric: str, title: str) -> Chart:
        lo, hi = limits[metric]
        return Chart(key=f"qc-{metric}", title=title, labels=labels, category="Sample", unit="ratio",
                     series=[Series("", [q.get(key) for q in qcs])], horizontal=True, band=(lo, hi),
                     max_value=_RATIO_SCALE, notes=[f"Shaded: expected range; red when outside. Values above "
                                                    f"{_RATIO_SCALE:g} are drawn at the edge."])

    counts = Chart(key="qc-types", title="Variants by type", labels=labels, category="Sample", unit="variants",
                   series=[Series(kind, [q.get("counts_by_type", {}).get(kind, 0) for q in qcs], colour)
                           for kind, colour in zip(_TYPES, _TYPE_COLOURS, strict=True)],
                   horizontal=True, stacked=True)
    return [ratio("titv", "titv", "Ti/Tv"), ratio("het_hom_ratio", "het_hom", "het/hom"), counts]


def _variant_table(request: Request, db: GmcSession, principal: Principal, case_id: str,
                   query: service.VariantQuery, dataset: str | None, sort: str, desc: bool, page: int,
                   path: str) -> dict[str, Any]:
    """One page of the variant table with the filters it was asked with (kept in every link)."""
    error = None
    result: dict[str, Any] = {"rows": [], "total": 0, "build": None}
    try:
        result = service.case_variants(db, principal=principal, case_id=case_id, query=query, dataset_id=dataset,
                                       sort=sort, descending=desc, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                       store_base=store_base(request))
    except DomainError as exc:
        if exc.status_code == 404 and exc.field == "case_id":
            raise
        error = exc.message
    family: dict[str, Any] = {"members": [], "calls": {}}
    if error is None and result["rows"]:
        # The family's genotypes beside the proband's: the other germline datasets of the case at these sites.
        family = service.family_genotypes(db, principal=principal, case_id=case_id, dataset_id=result["dataset_id"],
                                          rows=result["rows"], store_base=store_base(request))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return {"case_id": case_id, "result": result, "error": error, "page": page,
            "pages": max(1, -(-result["total"] // PAGE_SIZE)), "base": urlencode(params), "table_path": path,
            "sort": sort, "desc": desc, "filters": dict(params), "build": result.get("build"), "family": family}


@router.get("/genomes/cases/{case_id}")
def case_genome_page(request: Request, case_id: str, query: service.VariantQuery = Depends(variant_query),
                     dataset: str | None = None, sort: str = "position", desc: bool = False,
                     page: int = Query(1, ge=1), principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A case's genome page: QC summary with flags and charts, then the variant table with its filters in the URL."""
    summary = service.qc_summary(db, principal=principal, case_id=case_id)
    charts = qc_charts(summary["datasets"], summary["limits"]) if summary["datasets"] else []
    table = _variant_table(request, db, principal, case_id, query, dataset, sort, desc, page,
                           f"/genomes/cases/{case_id}") if summary["datasets"] else {}
    return render(request, "genomics/case.html", {"summary": summary, "charts": charts, "principal": principal,
                                                  "sorts": list(repo.SORTS), **table})


@router.get("/genomes/cases/{case_id}/variants")
def case_variant_table(
    request: Request,
    case_id: str,
    query: service.VariantQuery = Depends(variant_query),
    dataset: str | None = None,
    sort: str = "position",
    desc: bool = False,
    page: int = Query(1, ge=1),
    principal: Principal = READ,
    db: GmcSession = DB,
) -> Response:
    """The variant table alone (a fragment for htmx, a whole page otherwise): filtered, sorted, one page."""
    context = _variant_table(request, db, principal, case_id, query, dataset, sort, desc, page,
                             f"/genomes/cases/{case_id}/variants")
    template = "genomics/_variants.html" if request.headers.get("HX-Request") else "genomics/variants.html"
    return render(request, template, {**context, "principal": principal})
