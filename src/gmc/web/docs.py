"""API documentation pages (Swagger UI and ReDoc) served from vendored assets, so they work offline.

FastAPI's own pages load their assets from a CDN and start Swagger UI with an inline script; these load
everything from /static and start it from static/swagger-init.js (no inline script, for a strict CSP).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gmc.common.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    """Interactive API documentation (Swagger UI), with the OAuth2 password flow for bearer tokens."""
    return render(request, "web/swagger.html", {"openapi_url": request.app.openapi_url,
                                                "title": request.app.title})


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """Readable API reference (ReDoc)."""
    return render(request, "web/redoc.html", {"openapi_url": request.app.openapi_url, "title": request.app.title})
