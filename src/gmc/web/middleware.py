"""ASGI middleware: request ids, CSRF cookie issuance and one JSON access-log line per request."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gmc.auth.dependencies import CSRF_COOKIE
from gmc.common.context import new_request_id, reset_request_id, set_request_id

log = logging.getLogger("gmc.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives each request an id, a CSRF cookie, and logs it by route template (never the raw path)."""

    def __init__(self, app: ASGIApp, *, cookie_secure: bool) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handles one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_request_id()
        cookies = _parse_cookies(headers.get("cookie", ""))
        csrf = cookies.get(CSRF_COOKIE)
        new_csrf = None
        if not csrf:
            # Templates of this response already embed the token the cookie is about to carry.
            new_csrf = csrf = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["csrf_token"] = csrf
        state.setdefault("principal", None)
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode("latin-1"))]
                if new_csrf:
                    cookie = f"{CSRF_COOKIE}={new_csrf}; Path=/; HttpOnly; SameSite=Strict"
                    if self.cookie_secure:
                        cookie += "; Secure"
                    extra.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = scope.get("route")
            principal = state.get("principal")
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": getattr(route, "path", None) or "unmatched",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(principal, "user_id", None),
                    "request_id": request_id,
                },
            )
            reset_request_id(token)


def _parse_cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value
    return out

