"""Post/redirect/get: a form's outcome travels to the page it redirects to in a one-read cookie.

The message is rendered escaped like any other text and lives for one minute; the next full page that shows it
removes the cookie, so a refresh neither repeats the action nor the message.
"""

from __future__ import annotations

import base64
import json

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

FLASH_COOKIE = "gmc_flash"
_MAX_CHARS = 1000
_KINDS = ("info", "ok", "error")


def redirect_with_message(url: str, message: str, kind: str = "ok", *, secure: bool = False) -> RedirectResponse:
    """A 303 redirect to url that shows message (ok, error or info) on the page there."""
    response = RedirectResponse(url, status_code=303)
    payload = json.dumps({"m": message[:_MAX_CHARS], "k": kind if kind in _KINDS else "info"})
    response.set_cookie(FLASH_COOKIE, base64.urlsafe_b64encode(payload.encode()).decode(), max_age=60, path="/",
                        httponly=True, samesite="strict", secure=secure)
    return response


def pop_message(request: Request) -> tuple[str, str] | None:
    """The waiting message and its kind, if any (a damaged cookie is ignored)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        message, kind = str(data["m"])[:_MAX_CHARS], str(data.get("k", "info"))
    except (ValueError, KeyError, TypeError):
        return None
    return message, kind if kind in _KINDS else "info"


def clear_message(response: Response) -> None:
    """Removes the message cookie once shown."""
    response.delete_cookie(FLASH_COOKIE, path="/")
