"""Renderings of one report document: a printable HTML page, a PDF (WeasyPrint) and a FHIR bundle (JSON)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from gmc.reporting import fhir

_TEMPLATES = Path(__file__).resolve().parent / "templates" / "reporting"
#: The report's print stylesheet (also served to the web page).
CSS_PATH = _TEMPLATES / "report.css"
FORMATS = ("html", "pdf", "fhir")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "fhir": "application/fhir+json"}
SUFFIXES = {"html": ".html", "pdf": ".pdf", "fhir": ".fhir.json"}


def _environment() -> Any:
    from gmc.common.templating import get_templates

    return get_templates().env


def render_html(document: dict[str, Any], overlay: dict[str, Any] | None = None, *, standalone: bool = True) -> str:
    """The report as one self-contained HTML page (its stylesheet inline), or the body fragment for a web page."""
    env = _environment()
    context = {"doc": document, "overlay": overlay or {}, "css": CSS_PATH.read_text(encoding="utf-8")}
    name = "reporting/report_print.html" if standalone else "reporting/_document.html"
    return env.get_template(name).render(context)


def file_policy() -> str:
    """The Content-Security-Policy for the self-contained HTML report file: nothing runs or loads, and only its
    own stylesheet (pinned by hash) applies, so the one inline <style> is the only style a browser will accept."""
    css = CSS_PATH.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


def render_pdf(document: dict[str, Any], overlay: dict[str, Any] | None = None) -> bytes:
    """The report as PDF: the same HTML laid out by WeasyPrint (A4, page numbers, the report id on every page)."""
    from weasyprint import HTML

    html = render_html(document, overlay)
    return HTML(string=html, base_url=str(_TEMPLATES)).write_pdf()


def render_fhir(document: dict[str, Any]) -> bytes:
    """The report as a validated FHIR R4 DiagnosticReport bundle (Genomics Reporting IG), JSON bytes."""
    return json.dumps(fhir.report_bundle(document), indent=1, ensure_ascii=False).encode("utf-8")


def render(document: dict[str, Any], fmt: str, overlay: dict[str, Any] | None = None) -> bytes:
    """The report in one of html, pdf or fhir as bytes."""
    if fmt == "html":
        return render_html(document, overlay).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(document, overlay)
    if fmt == "fhir":
        return render_fhir(document)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def file_name(document: dict[str, Any], fmt: str) -> str:
    """A download name: report id, version and the format's suffix (no patient identifiers)."""
    return f"{document['report_id']}-v{document['version']}{SUFFIXES[fmt]}"
