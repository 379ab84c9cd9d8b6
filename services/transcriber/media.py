"""Downloading voice notes the way each provider wants it.

- Twilio: the media URL answers with Basic auth (account SID and auth token)
  and redirects (307) to a signed CDN URL. The credentials go to Twilio's own
  host only: redirects are followed here, step by step, and a hop to another
  host is made without them (httpx's ``follow_redirects`` would not let us
  decide per hop).
- Meta: ``GET {graph}/{version}/{media_id}`` with the bearer token gives a
  short-lived URL (about 5 minutes); that URL is fetched with the same token.
  When it has expired (401/403/404) a fresh one is asked for, once.
- Local: ingest's simulator serves notes at ``http://127.0.0.1:<port>/media/``;
  fetched without credentials.

Every hop must be on the allow-list; the body is read with a size limit.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from schemas import MediaRef
from services.transcriber.allowlist import HostAllowList, same_origin
from services.transcriber.failures import (
    TranscriptionError,
    is_transient_status,
    permanent,
    transient,
)

MAX_REDIRECTS = 5
# What a media server may call a voice note; octet-stream is common on CDNs and the
# decoder has the last word.
ACCEPTED_TYPES = ("audio/", "application/ogg", "video/mp4", "video/3gpp")
NEUTRAL_TYPES = ("application/octet-stream", "binary/octet-stream", "")
EXPIRED_STATUSES = (401, 403, 404)


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class Credentials:
    origin: str  # the only scheme://host:port these headers may be sent to
    headers: dict[str, str]


@dataclass(frozen=True)
class MediaConfig:
    allow: HostAllowList
    max_bytes: int
    twilio_api_base: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None = field(repr=False)
    graph_api_base: str
    graph_api_version: str
    whatsapp_token: str | None = field(repr=False)


class HttpStatus(Exception):
    def __init__(self, status: int, url_host: str) -> None:
        super().__init__(f"HTTP {status} from {url_host}")
        self.status = status
        self.url_host = url_host


def is_accepted_type(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind in NEUTRAL_TYPES or kind.startswith(ACCEPTED_TYPES)


class MediaFetcher:
    def __init__(self, http: httpx.AsyncClient, config: MediaConfig) -> None:
        self.http = http
        self.config = config

    async def fetch(self, provider: str, media: MediaRef) -> Downloaded:
        if provider == "meta" and media.media_id:
            return await self.fetch_meta(media.media_id)
        if not media.url:
            raise permanent("no_media", "the message names no media URL")
        if provider == "twilio":
            return await self.fetch_twilio(media.url)
        return await self._get(media.url, None)

    # --- Twilio ------------------------------------------------------------
    async def fetch_twilio(self, url: str) -> Downloaded:
        cfg = self.config
        credentials = None
        if cfg.twilio_account_sid and cfg.twilio_auth_token:
            pair = f"{cfg.twilio_account_sid}:{cfg.twilio_auth_token}".encode()
            credentials = Credentials(
                cfg.twilio_api_base, {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            )
        try:
            return await self._get(url, credentials)
        except HttpStatus as exc:
            raise _status_failure(exc, "twilio media") from exc

    # --- Meta --------------------------------------------------------------
    async def fetch_meta(self, media_id: str) -> Downloaded:
        cfg = self.config
        if not cfg.whatsapp_token:
            raise permanent("not_configured", "WHATSAPP_TOKEN is not set")
        bearer = {"Authorization": f"Bearer {cfg.whatsapp_token}"}
        for round_number in (1, 2):
            url = await self._meta_media_url(media_id, bearer)
            try:
                return await self._get(url, Credentials(url, bearer))
            except HttpStatus as exc:
                if exc.status in EXPIRED_STATUSES and round_number == 1:
                    continue  # the short-lived URL expired: ask for a fresh one
                raise _status_failure(exc, "meta media") from exc
        raise AssertionError("unreachable")

    async def _meta_media_url(self, media_id: str, bearer: dict[str, str]) -> str:
        cfg = self.config
        base = cfg.graph_api_base.rstrip("/")
        info_url = f"{base}/{cfg.graph_api_version}/{media_id}"
        if not cfg.allow.allows(info_url):
            raise permanent("host_not_allowed", "GRAPH_API_BASE is not on the allow-list")
        try:
            response = await self.http.get(info_url, headers=bearer)
        except httpx.TransportError as exc:
            raise transient("download_failed", f"graph API: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _status_failure(HttpStatus(response.status_code, "graph api"), "meta media info")
        try:
            info = response.json()
            url = str(info["url"])
            size = int(info.get("file_size") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            raise transient("download_failed", "graph API answered without a media URL") from exc
        if size > cfg.max_bytes:
            raise permanent("too_large", f"{size} bytes is over the {cfg.max_bytes} byte limit")
        return url

    # --- one download, hop by hop --------------------------------------------
    async def _get(self, url: str, credentials: Credentials | None) -> Downloaded:
        for _ in range(MAX_REDIRECTS + 1):
            if not self.config.allow.allows(url):
                raise permanent("host_not_allowed", f"{_host(url)} is not on the allow-list")
            headers = (
                credentials.headers if credentials and same_origin(credentials.origin, url) else {}
            )
            try:
                async with self.http.stream("GET", url, headers=headers) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise HttpStatus(response.status_code, _host(url))
                    content_type = response.headers.get("content-type")
                    if not is_accepted_type(content_type):
                        raise permanent("unsupported_type", f"{content_type} is not audio")
                    return Downloaded(await self._read_limited(response), content_type)
            except httpx.TransportError as exc:
                raise transient("download_failed", f"{_host(url)}: {type(exc).__name__}") from exc
        raise permanent("download_failed", f"more than {MAX_REDIRECTS} redirects")

    async def _read_limited(self, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise permanent("too_large", f"{declared} bytes is over the {limit} byte limit")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise permanent("too_large", f"more than the {limit} byte limit")
        return bytes(body)


def _status_failure(exc: HttpStatus, what: str) -> TranscriptionError:
    if is_transient_status(exc.status):
        return transient("download_failed", f"{what}: {exc}")
    if exc.status in (404, 410):
        return permanent("not_found", f"{what}: {exc}")
    return permanent("download_failed", f"{what}: {exc}")


def _host(url: str) -> str:
    return httpx.URL(url).host or "?"
