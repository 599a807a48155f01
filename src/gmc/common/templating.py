"""One Jinja2 environment over every feature's templates folder."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape

from gmc import __version__
from gmc.common import links
from gmc.common.charts import format_value
from gmc.common.flash import clear_message, pop_message
from gmc.common.labels import event_sentence, label, readable, tone
from gmc.common.nav import current_nav, menu_for, nav_for
from gmc.common.time import as_utc
from gmc.refdata.manifest import missing_sets

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def template_dirs() -> list[Path]:
    """Every `templates/` folder inside the gmc package, the shared layout first."""
    dirs = [_PACKAGE_ROOT / "common" / "templates"]
    dirs += sorted(p for p in _PACKAGE_ROOT.glob("*/templates") if p.is_dir() and p not in dirs)
    return dirs


@lru_cache
def get_templates() -> Jinja2Templates:
    """The process-wide template renderer (features name templates `<feature>/<page>.html`)."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in template_dirs()]),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["nav_items"] = lambda principal: nav_for(principal.permissions) if principal else []
    env.globals["menu"] = menu_for
    env.globals["current_nav"] = current_nav
    env.globals["gmc_version"] = __version__
    # Pages of features that need reference data call refdata_notices("set", ...) to say what is missing.
    env.globals["refdata_notices"] = missing_sets
    env.filters["dt"] = _format_datetime
    env.filters["chart_value"] = format_value
    env.globals["url_for"] = _url_for  # before Jinja2Templates, which only sets its own when none is there
    env.filters["label"] = label
    env.filters["tone"] = tone
    env.filters["readable"] = readable
    env.globals["links"] = links
    env.globals["event_sentence"] = event_sentence
    return Jinja2Templates(env=env)


@pass_context
def _url_for(context: Any, name: str, /, **path_params: Any) -> str:
    """A URL path for a route or static file, never an absolute URL: Starlette's own builds scheme and host from
    the request's Host header, which a client controls, into every <script src> and <link href>."""
    request = context["request"]
    return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **path_params))


def _format_datetime(value: datetime | None) -> str:
    """Shows a stored timestamp in UTC to the minute ('' when empty)."""
    return "" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Response:
    """Renders a page template with the request in its context (a full page shows a redirected form's message)."""
    context = dict(context or {})
    flashed = None if request.headers.get("hx-request") else pop_message(request)
    if flashed and not context.get("message"):
        context["message"], context["message_kind"] = flashed
    response = get_templates().TemplateResponse(request, name, context, status_code=status_code)
    if flashed:
        clear_message(response)
    return response
