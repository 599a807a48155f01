"""Maps domain errors to JSON for the API and to pages (or a sign-in redirect) for browsers."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gmc.common.errors import DomainError, NotAuthenticated
from gmc.common.templating import render
from gmc.db.core import is_database_busy, is_lock_timeout, is_nul_in_text, is_value_out_of_range
from gmc.refdata.errors import MissingReferenceData

log = logging.getLogger("gmc.errors")

_TITLES = {400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
           422: "Check the details", 429: "Too many attempts", 500: "Something went wrong",
           503: "Busy"}


def wants_json(request: Request) -> bool:
    """True for API calls (path under /api or a JSON Accept header without HTML)."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api") or request.url.path in ("/health", "/openapi.json") or (
        "application/json" in accept and "text/html" not in accept)


def _page(request: Request, status: int, detail: str) -> Response:
    return render(request, "error.html", {"status_code": status, "title": _TITLES.get(status, "Error"),
                                          "detail": detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers on the app."""

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        if isinstance(exc, MissingReferenceData):
            return render(request, "refdata/missing.html", {"detail": exc.message, "notice": exc},
                          status_code=exc.status_code)
        return _page(request, exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")),
             "message": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors)
        if wants_json(request):
            return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
        return _page(request, 422, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _page(request, exc.status_code, str(exc.detail))

    async def _out_of_range(request: Request, exc: Exception) -> Response:
        if is_nul_in_text(exc):
            # e.g. /api/participants/%00 on PostgreSQL, which cannot store a NUL byte: nothing was read or changed.
            detail = "text in the request holds a NUL byte, which gmc does not accept"
        elif is_value_out_of_range(exc):
            # e.g. /api/users/99999999999999999999: no record can have that number; nothing was read or changed.
            detail = "a number in the request is out of range"
        else:
            raise exc
        if wants_json(request):
            return JSONResponse({"detail": detail}, status_code=422)
        return _page(request, 422, detail)

    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if is_lock_timeout(exc):
            # Another request held the record longer than the lock timeout: nothing was changed.
            detail = "the record is being changed by another request; nothing was saved, try again"
            if wants_json(request):
                return JSONResponse({"detail": detail}, status_code=409)
            return _page(request, 409, detail)
        if is_database_busy(exc):
            # SQLite's one writer held the lock past the busy timeout (a long import): queue, don't fail.
            detail = "the database is busy with other changes; nothing was saved, try again shortly"
            headers = {"Retry-After": "5"}
            if wants_json(request):
                return JSONResponse({"detail": detail}, status_code=503, headers=headers)
            response = _page(request, 503, detail)
            response.headers.update(headers)
            return response
        log.error("unhandled error", exc_info=exc)
        if wants_json(request):
            return JSONResponse({"detail": "internal error", "request_id": request.state.request_id},
                                status_code=500)
        return _page(request, 500, f"An unexpected error occurred (request {request.state.request_id}).")
