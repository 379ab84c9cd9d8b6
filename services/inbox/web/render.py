"""Templates and what every page is rendered with: language, clock, CSRF token, labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from services.inbox import feed
from services.inbox.web import i18n, present
from services.inbox.web.api import CSRF_COOKIE, CSRF_FIELD

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals.update(
    mode_label=present.MODE_LABELS.get,
    author_label=present.AUTHOR_LABELS.get,
    window_state=present.window_state,
    is_flow_item=present.is_flow_item,
    seconds=present.seconds,
    FAILED=present.FAILED,
    CSRF_FIELD=CSRF_FIELD,
    # The names the stream gives its events (one per type): the page listens to each.
    stream_types=sorted(feed.ADMIN_TYPES),
)
TEMPLATES.env.filters["urlpart"] = lambda value: quote(str(value), safe="+")
TEMPLATES.env.filters["tojson_attr"] = lambda value: Markup(json.dumps(value))


def zone(request: Request) -> ZoneInfo:
    name = request.app.state.service.runtime.settings.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def language(request: Request) -> str:
    return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    lang = language(request)
    now = datetime.now(UTC)
    base = {
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "t": i18n.translator(lang),
        "clock": present.Clock(zone(request), lang),
        "now": now,
        "csrf": request.cookies.get(CSRF_COOKIE, ""),
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "me": None,
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
