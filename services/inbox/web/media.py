"""Voice notes for the page's audio player, and the address of the calendar feed.

A voice note lives with the provider (or, for `hilo simulate`, with ingest): the
browser cannot fetch it itself, since Twilio's media needs Basic auth and Meta's a
token and two steps. The page asks Hilo, which fetches it with the credentials
the deployment already has (never sent on to a redirect's other host: httpx drops
the Authorization header when a redirect leaves the origin) and streams it on.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from hilo import registry

MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio


class MediaSettings(BaseSettings):
    """The provider credentials the notifier and transcriber use too (CONTRACT.md names)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    whatsapp_token: str | None = None
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v20.0"
    inbox_calendar_url: str | None = None


async def _get(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = await client.get(url, follow_redirects=True, **kwargs)
    except httpx.HTTPError as exc:
        raise HTTPException(502, detail=f"the voice note could not be fetched: {exc}") from None
    if response.status_code != 200:
        raise HTTPException(502, detail=f"the voice note's host answered {response.status_code}")
    return response


async def fetch(ref: dict[str, Any], provider: str | None) -> Response:
    cfg = MediaSettings()
    async with httpx.AsyncClient(timeout=20) as client:
        if provider == "meta" and ref.get("media_id") and cfg.whatsapp_token:
            auth = {"Authorization": f"Bearer {cfg.whatsapp_token}"}
            base = f"{cfg.graph_api_base.rstrip('/')}/{cfg.graph_api_version}"
            info = (await _get(client, f"{base}/{ref['media_id']}", headers=auth)).json()
            response = await _get(client, str(info.get("url")), headers=auth)
        elif ref.get("url"):
            url = str(ref["url"])
            basic = None
            if url.startswith(cfg.twilio_api_base) and cfg.twilio_account_sid:
                basic = (cfg.twilio_account_sid, cfg.twilio_auth_token or "")
            response = await _get(client, url, auth=basic)
        else:
            raise HTTPException(404, detail="this voice note has no address")
    if len(response.content) > MAX_BYTES:
        raise HTTPException(502, detail="the voice note is larger than WhatsApp allows")
    kind = ref.get("content_type") or response.headers.get("content-type") or "audio/ogg"
    return Response(
        response.content, media_type=kind, headers={"Cache-Control": "private, max-age=300"}
    )


def calendar_feed_url(request: Request) -> str:
    """INBOX_CALENDAR_URL, else the analyzer's feed on this host at its port in `hilo up`.

    `hilo up` gives each child its own HILO_HTTP_PORT; the base port (ingest's) reaches the
    inbox only inside TRANSCRIBER_LOCAL_MEDIA_URL, which `hilo up` sets for every child.
    """
    configured = MediaSettings().inbox_calendar_url
    if configured:
        return configured
    base = urlsplit(os.environ.get("TRANSCRIBER_LOCAL_MEDIA_URL", "")).port
    if base is None:
        base = request.app.state.service.runtime.settings.http_port
    try:
        port = registry.info("analyzer").port(base, {})
    except registry.UnknownService:
        port = base + 4
    host = request.url.hostname or "127.0.0.1"
    return f"{request.url.scheme}://{host}:{port}/calendar/default.ics"
