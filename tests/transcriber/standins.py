"""Local stand-ins for the providers' media endpoints, speaking their documented protocols.

- Twilio: ``GET /2010-04-01/Accounts/{sid}/Messages/{msg}/Media/{media}`` needs HTTP Basic
  auth and answers 307 to a signed URL on a CDN host; the CDN refuses any request that
  carries an ``Authorization`` header (as S3 does for pre-signed URLs).
- Meta: ``GET /{version}/{media_id}`` with a bearer token answers
  ``{url, mime_type, sha256, file_size, id}``; the URL is on another host (lookaside),
  needs the bearer token too, and stops working after it expires.

The API runs on 127.0.0.1, the CDN/lookaside on 127.0.0.2: different hosts, as in production.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse

from hilo.testing import serving

API_HOST = "127.0.0.1"
CDN_HOST = "127.0.0.2"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-token"
WHATSAPP_TOKEN = "EAAG-test-token"
GRAPH_VERSION = "v20.0"


@dataclass
class Media:
    data: bytes
    content_type: str
    # Serve without Content-Length (chunked), as some CDNs do.
    chunked: bool = False
    # The API answers 503 this many times before it works.
    fail_times: int = 0
    # Meta: the first URL handed out is already expired.
    expire_first_url: bool = False
    # Twilio: redirect somewhere else instead of the CDN.
    redirect_to: str | None = None


@dataclass
class ProviderStandIn:
    media: dict[str, Media] = field(default_factory=dict)
    api_base: str = ""
    cdn_base: str = ""
    # What the CDN saw: (path, had an Authorization header).
    cdn_requests: list[tuple[str, bool]] = field(default_factory=list)
    api_requests: list[str] = field(default_factory=list)
    meta_urls: dict[str, str] = field(default_factory=dict)  # url token → media id
    expired_tokens: set[str] = field(default_factory=set)

    def add(self, media_id: str, data: bytes, content_type: str, **options: object) -> None:
        self.media[media_id] = Media(data, content_type, **options)  # type: ignore[arg-type]

    def twilio_url(self, media_id: str) -> str:
        return (
            f"{self.api_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{media_id}"
            f"/Media/{media_id}"
        )

    # --- the API host ------------------------------------------------------
    def api_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media/{media_id}")
        async def twilio_media(
            sid: str, message_sid: str, media_id: str, request: Request
        ) -> Response:
            self.api_requests.append(request.url.path)
            expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if sid != ACCOUNT_SID or request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse(
                    {"code": 20003, "message": "Authenticate", "status": 401}, status_code=401
                )
            media = self.media.get(media_id)
            if media is None:
                return JSONResponse({"code": 20404, "status": 404}, status_code=404)
            if media.fail_times > 0:
                media.fail_times -= 1
                return JSONResponse({"code": 20500, "status": 503}, status_code=503)
            signed = (
                f"{self.cdn_base}/twilio/{media_id}?Expires=600&Signature={secrets.token_hex(8)}"
            )
            return RedirectResponse(media.redirect_to or signed, status_code=307)

        @app.get(f"/{GRAPH_VERSION}/{{media_id}}")
        async def meta_media(media_id: str, request: Request) -> Response:
            self.api_requests.append(request.url.path)
            if request.headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
                return JSONResponse(
                    {"error": {"message": "Invalid OAuth access token.", "code": 190}},
                    status_code=401,
                )
            media = self.media.get(media_id)
            if media is None:
                return JSONResponse({"error": {"code": 100}}, status_code=404)
            token = secrets.token_hex(8)
            self.meta_urls[token] = media_id
            if media.expire_first_url:
                media.expire_first_url = False
                self.expired_tokens.add(token)
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.cdn_base}/whatsapp_business/attachments/?mid={media_id}"
                    f"&ext={token}&hash=h",
                    "mime_type": media.content_type,
                    "sha256": hashlib.sha256(media.data).hexdigest(),
                    "file_size": len(media.data),
                    "id": media_id,
                }
            )

        return app

    # --- the CDN host --------------------------------------------------------
    def cdn_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/twilio/{media_id}")
        async def twilio_cdn(media_id: str, request: Request) -> Response:
            has_auth = "authorization" in request.headers
            self.cdn_requests.append((request.url.path, has_auth))
            if has_auth:
                return Response(
                    "<Error><Code>InvalidArgument</Code>"
                    "<Message>Only one auth mechanism allowed</Message></Error>",
                    status_code=400,
                    media_type="application/xml",
                )
            return self._serve(media_id)

        @app.get("/whatsapp_business/attachments/")
        async def lookaside(mid: str, ext: str, request: Request) -> Response:
            self.cdn_requests.append((request.url.path, "authorization" in request.headers))
            if request.headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
                return Response(status_code=401)
            if ext in self.expired_tokens or self.meta_urls.get(ext) != mid:
                return Response(status_code=404)
            return self._serve(mid)

        return app

    def _serve(self, media_id: str) -> Response:
        media = self.media.get(media_id)
        if media is None:
            return Response(status_code=404)
        if media.chunked:
            data = media.data

            async def chunks() -> AsyncIterator[bytes]:
                for start in range(0, len(data), 64 * 1024):
                    yield data[start : start + 64 * 1024]

            return StreamingResponse(chunks(), media_type=media.content_type)
        return Response(media.data, media_type=media.content_type)


@contextlib.asynccontextmanager
async def provider_standin() -> AsyncIterator[ProviderStandIn]:
    standin = ProviderStandIn()
    async with (
        serving(standin.api_app(), API_HOST) as api,
        serving(standin.cdn_app(), CDN_HOST) as cdn,
    ):
        standin.api_base, standin.cdn_base = api, cdn
        yield standin
