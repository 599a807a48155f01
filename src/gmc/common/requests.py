"""Request bodies for plain `def` handlers, and each route's limit on how large a body may be.

FastAPI runs a `def` handler in a worker thread and an `async def` one on the event loop, where any blocking
work (database, parsing) stalls every other request. Handlers that need the raw body or the whole form take it
from these dependencies (read on the loop, without blocking) and stay plain `def`.

Every request body is limited by FastAPI's `max_body_size` (GMC_MAX_BODY_BYTES, 1 MiB by default: 413 past it);
routes that take files declare `max_body_size=import_max_bytes()` (GMC_MAX_IMPORT_BYTES).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def request_body(request: Request) -> bytes:
    """The raw body, read on the event loop so that the handler can be a plain def."""
    return await request.body()


async def request_form(request: Request) -> FormData:
    """The parsed form (fields and uploaded files), read on the event loop."""
    return await request.form()


#: `body: RawBody` in a handler's parameters.
RawBody = Annotated[bytes, Depends(request_body)]
#: `form: FormFields` in a handler's parameters.
FormFields = Annotated[FormData, Depends(request_form)]


def import_max_bytes() -> int:
    """The body limit of import routes (GMC_MAX_IMPORT_BYTES, read when the routes are defined at start-up)."""
    from gmc.settings import get_settings

    return get_settings().max_import_bytes


def decode_text(raw: bytes, what: str, *, field: str = "body") -> str:
    """UTF-8 text of an uploaded file (a BOM is dropped); a clear error when it is not text or is empty."""
    from gmc.common.errors import ValidationFailed

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"the {what} is not UTF-8 text (byte {exc.start})", field=field) from exc
    if "\x00" in text:
        raise ValidationFailed(f"the {what} holds a NUL byte: it is not a text file", field=field)
    if not text.strip():
        raise ValidationFailed(f"send the {what} as the request body", field=field)
    return text
