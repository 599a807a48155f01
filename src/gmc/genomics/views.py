"""Genome pages: cases with genome data, and a case's genome page (QC chart, flags, variant table via htmx)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError
from gmc.common.nav import NavItem, register_nav
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.genomics import repository as repo
from gmc.genomics import service
from gmc.genomics.router import store_base, variant_query

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Genomes", "/genomes", Permission.GENOME_READ, order=400))

READ = Depends(require(Permission.GENOME_READ))
PAGE_SIZE = 50
_TYPES = ("SNV", "insertion", "deletion", "MNV", "complex", "symbolic")
_TYPE_COLOURS = ("#3b6ea5", "#5aa05a", "#c0504d", "#8064a2", "#f79646", "#999999")


@router.get("/genomes")
def genomes_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Cases at your trusts that have genome data, with their QC flag counts."""
    cases = repo.cases_with_genomes(db, principal.trust_scope)
    return render(request, "genomics/list.html", {"cases": cases, "principal": principal})


def _band_row(y: int, label: str, value: float | None, band: tuple[float, float], scale: float) -> str:
    """One metric as a dot against its shaded expected range, on a 0..scale axis 300 px wide."""
    x0, width = 150, 300

    def px(v: float) -> float:
        return x0 + width * min(max(v, 0.0), scale) / scale

    out = [f'<text x="0" y="{y + 12}" font-size="12">{escape(label)}</text>',
           f'<rect x="{x0}" y="{y + 2}" width="{width}" height="14" fill="#f2f2f2"/>',
           f'<rect x="{px(band[0]):.1f}" y="{y + 2}" width="{px(band[1]) - px(band[0]):.1f}" height="14" '
           'fill="#d9ead3"><title>expected range</title></rect>']
    if value is not None:
        ok = band[0] <= value <= band[1]
        out.append(f'<circle cx="{px(value):.1f}" cy="{y + 9}" r="5" fill="{"#2e7d32" if ok else "#c62828"}">'
                   f'<title>{value:.3f}</title></circle>')
        shown = f"{value:.2f}" if value <= scale else f"{value:.2f} (off scale)"
        out.append(f'<text x="{x0 + width + 12}" y="{y + 12}" font-size="12">{shown}</text>')
    else:
        out.append(f'<text x="{x0 + width + 12}" y="{y + 12}" font-size="12">n/a</text>')
    return "".join(out)


def qc_chart_svg(datasets: list[dict[str, Any]], limits: dict[str, list[float]]) -> Markup:
    """Server-side SVG: per sample Ti/Tv and het/hom against the expected ranges, and variant counts by type."""
    rows: list[str] = []
    y = 20
    most = max((sum(d["qc"].get("counts_by_type", {}).values()) for d in datasets), default=0) or 1
    rows.append('<text x="150" y="12" font-size="11" fill="#555">shaded: expected range; dot red when outside'
                '</text>')
    for d in datasets:
        qc = d["qc"]
        name = f'{d["participant_id"]} ({d["vcf_sample"]})'
        rows.append(f'<text x="0" y="{y + 12}" font-size="13" font-weight="bold">{escape(name)}</text>')
        y += 20
        rows.append(_band_row(y, "Ti/Tv", qc.get("titv"), tuple(limits["titv"]), 4.0))
        y += 20
        rows.append(_band_row(y, "het/hom", qc.get("het_hom_ratio"), tuple(limits["het_hom"]), 4.0))
        y += 20
        rows.append(f'<text x="0" y="{y + 12}" font-size="12">variants by type</text>')
        x = 150.0
        for kind, colour in zip(_TYPES, _TYPE_COLOURS, strict=True):
            n = qc.get("counts_by_type", {}).get(kind, 0)
            w = 300 * n / most
            if w > 0:
                rows.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="14" fill="{colour}">'
                            f'<title>{kind}: {n:,}</title></rect>')
            x += w
        rows.append(f'<text x="462" y="{y + 12}" font-size="12">{d["n_variants"]:,}</text>')
        y += 28
    legend = "".join(f'<rect x="{150 + i * 75}" y="{y}" width="10" height="10" fill="{c}"/>'
                     f'<text x="{163 + i * 75}" y="{y + 9}" font-size="11">{t}</text>'
                     for i, (t, c) in enumerate(zip(_TYPES, _TYPE_COLOURS, strict=True)))
    height = y + 20
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Sample QC" width="620" '
                  f'height="{height}" viewBox="0 0 620 {height}">{"".join(rows)}{legend}</svg>')


@router.get("/genomes/cases/{case_id}")
def case_genome_page(request: Request, case_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A case's genome page: QC summary with flags and chart, then the variant table."""
    summary = service.qc_summary(db, principal=principal, case_id=case_id)
    chart = qc_chart_svg(summary["datasets"], summary["limits"]) if summary["datasets"] else None
    return render(request, "genomics/case.html", {"summary": summary, "chart": chart, "principal": principal,
                                                  "sorts": list(repo.SORTS)})


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
    """The variant table (a fragment for htmx, a whole page otherwise): filtered, sorted, one page."""
    error = None
    result: dict[str, Any] = {"rows": [], "total": 0}
    try:
        result = service.case_variants(db, principal=principal, case_id=case_id, query=query, dataset_id=dataset,
                                       sort=sort, descending=desc, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                       store_base=store_base(request))
    except DomainError as exc:
        if exc.status_code == 404 and exc.field == "case_id":
            raise
        error = exc.message
    params = request.query_params.multi_items()
    base = urlencode([(k, v) for k, v in params if k != "page"])
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    context = {"case_id": case_id, "result": result, "error": error, "page": page, "pages": pages, "base": base,
               "sort": sort, "desc": desc}
    template = "genomics/_variants.html" if request.headers.get("HX-Request") else "genomics/variants.html"
    return render(request, template, {**context, "principal": principal})
