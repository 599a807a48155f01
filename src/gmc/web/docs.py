"""API documentation pages (Swagger UI and ReDoc) served from vendored assets, so they work offline.

FastAPI's own pages load their assets from a CDN and start Swagger UI with an inline script; these load
everything from /static and start it from static/swagger-init.js (no inline script, for a strict CSP).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from gmc.auth.dependencies import optional_principal
from gmc.auth.principal import Principal
from gmc.common.errors import NotAuthenticated
from gmc.common.templating import render

OPENAPI_URL = "/openapi.json"


def docs_access(request: Request, principal: Principal | None = Depends(optional_principal)) -> None:
    """In production the API's description is for signed-in users only (it maps every route an attacker could
    try); elsewhere it is open."""
    if request.app.state.settings.is_production and principal is None:
        raise NotAuthenticated("sign in to read the API documentation")


router = APIRouter(include_in_schema=False, dependencies=[Depends(docs_access)])


@router.get(OPENAPI_URL)
def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI description of the API."""
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    """Interactive API documentation (Swagger UI), with the OAuth2 password flow for bearer tokens."""
    return render(request, "web/swagger.html", {"openapi_url": OPENAPI_URL, "title": request.app.title})


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """Readable API reference (ReDoc)."""
    return render(request, "web/redoc.html", {"openapi_url": OPENAPI_URL, "title": request.app.title})
