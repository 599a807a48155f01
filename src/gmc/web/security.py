"""Browser-facing protections: a strict Content-Security-Policy and the other security headers on every response.

Pages run only scripts and styles served from /static (no inline script, no on*= attribute, no inline style,
no eval), may not be framed, and do not leak their URLs (which name participants and cases) to other sites.
The API documentation pages relax style-src alone: ReDoc draws with styled-components, which adds <style>
elements at run time; their scripts are as strict as everywhere else.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: /docs and /redoc: ReDoc's styled-components and its search worker (a blob: URL).
_DOCS = {**_COMMON, "style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:"}


def _policy(directives: dict[str, str]) -> bytes:
    return "; ".join(f"{k} {v}" for k, v in directives.items()).encode()


PAGE_CSP = _policy(_COMMON)
DOCS_CSP = _policy(_DOCS)
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    """Adds CSP, frame, sniffing, referrer, permissions and (in production) HSTS headers, and `no-store` on
    everything but static files, unless a response set its own."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handles one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = [
            (b"content-security-policy", DOCS_CSP if path in DOCS_PATHS else PAGE_CSP),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        ]
        if self.production:
            # Production sits behind TLS: browsers must never fall back to plain HTTP for this host.
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        if not path.startswith("/static/"):
            # Pages and API answers carry patient data: no browser or proxy cache keeps them.
            headers.append((b"cache-control", b"no-store"))

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in headers if k not in present)]
            await send(message)

        await self.app(scope, receive, _send)
