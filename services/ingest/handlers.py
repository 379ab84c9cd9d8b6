"""The webhook routes: read within limits, check the signature, parse, publish once, answer.

Thin: parsing lives in twilio_forms / meta_updates / elevenlabs_calls, signatures in
signatures, publishing in ledger. Every refusal is a JSON ``{error, detail}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from prometheus_client import Counter
from pydantic import ValidationError

from hilo.erasure import pseudonyms
from hilo.service import Runtime
from schemas.messages import Provider
from services.ingest import elevenlabs_calls, ledger, meta_updates, signatures, twilio_forms
from services.ingest.body import parse_form, parse_json, read_limited
from services.ingest.deliveries import Delivery
from services.ingest.files import (
    calls_folder,
    delete_stored,
    find_media,
    forget_media,
    store_content,
)
from services.ingest.ledger import Outcome
from services.ingest.problems import (
    Forbidden,
    NotFound,
    Refused,
    Unavailable,
    Unprocessable,
    json_error,
)
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
WEBHOOKS = Counter("hilo_ingest_webhooks_total", "Webhooks answered", ["route", "outcome"])


@dataclass(frozen=True)
class Ingest:
    """What the routes need, prepared at start-up."""

    runtime: Runtime
    config: IngestSettings
    # Without TWILIO_AUTH_TOKEN: the local simulator's token (None when that is disabled).
    simulator_token: str | None

    @property
    def data_dir(self) -> Path:
        return self.runtime.settings.data_dir

    async def read(self, request: Request, limit: int | None = None) -> bytes:
        return await read_limited(
            request,
            limit or self.config.ingest_max_body_bytes,
            self.config.ingest_body_timeout_seconds,
        )

    async def publish(self, provider: str, deliveries: list[Delivery]) -> Outcome:
        return await ledger.publish_once(
            self.runtime,
            provider,
            deliveries,
            timeout=self.config.ingest_publish_timeout_seconds,
        )


Route = Callable[[Request, Ingest], Awaitable[Response]]


def guarded(name: str) -> Callable[[Route], Callable[[Request], Awaitable[Response]]]:
    """Give the route its Ingest, and turn refusals into their JSON answers."""

    def decorate(route: Route) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            runtime: Runtime | None = request.app.state.service.runtime
            ingest = runtime.state.get("ingest") if runtime else None
            if not isinstance(ingest, Ingest):
                WEBHOOKS.labels(name, "starting").inc()
                return json_error(503, "starting", "ingest is not ready yet")
            try:
                response = await route(request, ingest)
            except ValidationError as exc:
                # A provider value the event's schema does not take (e.g. a wrong type).
                refusal = Unprocessable("invalid_field", _fields(exc))
                response = refusal.response()
            except Refused as refusal:
                WEBHOOKS.labels(name, str(refusal.status)).inc()
                log.info("%s refused: %s %s", name, refusal.status, refusal.error)
                return refusal.response()
            except Exception as exc:
                # Not the provider's fault: 500 makes it retry. Only the type is logged, as
                # the message may quote the payload.
                log.error("%s failed: %s", name, type(exc).__name__)
                WEBHOOKS.labels(name, "500").inc()
                return json_error(500, "internal_error", None)
            WEBHOOKS.labels(name, str(response.status_code)).inc()
            return response

        # Not functools.wraps: FastAPI would read the wrapped signature and see `ingest`.
        handle.__name__ = handle.__qualname__ = route.__name__
        handle.__doc__ = route.__doc__
        return handle

    return decorate


def _fields(exc: ValidationError) -> list[str]:
    return sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")


# --- Twilio ----------------------------------------------------------------------------------
def _twilio_checked(request: Request, ingest: Ingest, form: dict[str, Any]) -> Provider:
    """The provider the request is signed as (Twilio, or the local simulator), or refuse."""
    token, provider = ingest.config.twilio_token, "twilio"
    if token is None:
        token, provider = ingest.simulator_token, "simulator"
    if token is None:
        raise Unavailable("not_configured", "TWILIO_AUTH_TOKEN is not set")
    url = signatures.twilio_signed_url(
        request_url=str(request.url),
        public_url=ingest.runtime.settings.public_url,
        trust_proxy=ingest.config.ingest_trust_proxy,
        headers=request.headers,
    )
    signature = request.headers.get("x-twilio-signature")
    settings_header = request.headers.get("x-twilio-webhooks-signature-settings")
    if not signatures.twilio_valid(token, url, form, signature, settings_header):
        raise Forbidden("invalid_signature", "X-Twilio-Signature does not match")
    return "twilio" if provider == "twilio" else "simulator"


@guarded("twilio_whatsapp")
async def twilio_whatsapp(request: Request, ingest: Ingest) -> Response:
    form = parse_form(request, await ingest.read(request))
    provider = _twilio_checked(request, ingest, form)
    delivery = twilio_forms.inbound_message(form, provider)
    outcome = await ingest.publish("twilio", [delivery])
    log.info(
        "twilio message %s (%s): %s",
        delivery.key,
        getattr(delivery.event, "kind", "?"),
        "published" if outcome.published else "duplicate",
    )
    return twiml()


@guarded("twilio_status")
async def twilio_status(request: Request, ingest: Ingest) -> Response:
    form = parse_form(request, await ingest.read(request))
    provider = _twilio_checked(request, ingest, form)
    await ingest.publish("twilio", [twilio_forms.status_report(form, provider)])
    return twiml()


# --- Meta ------------------------------------------------------------------------------------
@guarded("meta_verify")
async def meta_verify(request: Request, ingest: Ingest) -> Response:
    expected = ingest.config.meta_verify_token
    if expected is None:
        raise Forbidden("not_configured", "WHATSAPP_VERIFY_TOKEN is not set")
    query = request.query_params
    given = query.get("hub.verify_token") or ""
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        given.encode(), expected.encode()
    ):
        raise Forbidden("verification_failed", "hub.mode or hub.verify_token is wrong")
    return PlainTextResponse(query.get("hub.challenge") or "")


@guarded("meta")
async def meta_webhook(request: Request, ingest: Ingest) -> Response:
    secret = ingest.config.meta_app_secret
    if secret is None:
        raise Unavailable("not_configured", "WHATSAPP_APP_SECRET is not set")
    body = await ingest.read(request)
    if not signatures.meta_valid(secret, body, request.headers.get("x-hub-signature-256")):
        raise Forbidden("invalid_signature", "X-Hub-Signature-256 does not match")
    deliveries = meta_updates.deliveries(parse_json(body))
    outcome = await ingest.publish("meta", deliveries)
    log.info("meta: %d published, %d duplicates", outcome.published, outcome.duplicates)
    return JSONResponse(outcome.as_json())


# --- ElevenLabs ------------------------------------------------------------------------------
@guarded("elevenlabs")
async def elevenlabs_webhook(request: Request, ingest: Ingest) -> Response:
    # Without ELEVENLABS_WEBHOOK_SECRET: the local simulator's token (`hilo simulate call`).
    secret = ingest.config.elevenlabs_secret or ingest.simulator_token
    if secret is None:
        raise Unavailable("not_configured", "ELEVENLABS_WEBHOOK_SECRET is not set")
    body = await ingest.read(request, ingest.config.ingest_max_call_body_bytes)
    try:
        signatures.elevenlabs_verify(
            secret,
            body,
            request.headers.get("elevenlabs-signature"),
            now=time.time(),
            tolerance_seconds=ingest.config.ingest_elevenlabs_tolerance_seconds,
        )
    except signatures.ElevenLabsSignatureError as exc:
        raise Forbidden("invalid_signature", str(exc)) from None
    webhook_type, data = elevenlabs_calls.envelope(parse_json(body))
    if webhook_type == elevenlabs_calls.AUDIO:
        return await _call_audio(ingest, elevenlabs_calls.call_audio(data))
    if webhook_type == elevenlabs_calls.INITIATION_FAILURE:
        outcome = await ingest.publish("elevenlabs", [elevenlabs_calls.call_failed(data)])
        return JSONResponse(outcome.as_json())
    ended = elevenlabs_calls.call_ended(data)
    outcome = await ingest.publish("elevenlabs", [ended])
    call_id = elevenlabs_calls.call_id_of(data)
    try:
        pending = await ledger.remember_call(ingest.runtime.db, call_id, ended.event.conversation)
    except ledger.DATABASE_ERRORS as exc:
        raise Unavailable("database_unavailable", type(exc).__name__) from None
    if pending is not None:
        await _publish_audio(ingest, pending, ended.event.conversation)
    return JSONResponse(outcome.as_json())


async def _call_audio(ingest: Ingest, audio: elevenlabs_calls.CallAudio) -> Response:
    stored = await asyncio.to_thread(
        store_content, calls_folder(ingest.data_dir), audio.audio, ".mp3"
    )
    reference = {
        "call_id": audio.call_id,
        "agent_id": audio.agent_id,
        "sha256": stored.sha256,
        "path": str(stored.path.relative_to(ingest.data_dir)),
        "size": stored.size,
    }
    try:
        conversation = await ledger.park_audio(ingest.runtime.db, audio.call_id, reference)
    except ledger.DATABASE_ERRORS as exc:
        raise Unavailable("database_unavailable", type(exc).__name__) from None
    if conversation is None:
        # The transcription webhook (which names the contact) publishes it when it comes.
        return JSONResponse({"status": "stored", "published": 0, "duplicates": 0}, 202)
    outcome = await _publish_audio(ingest, reference, conversation)
    return JSONResponse(outcome.as_json())


async def _publish_audio(ingest: Ingest, reference: dict[str, Any], conversation: str) -> Outcome:
    audio = elevenlabs_calls.CallAudio(reference["call_id"], reference.get("agent_id"), b"")
    delivery = elevenlabs_calls.audio_recorded(
        audio, conversation, reference["sha256"], reference["path"], int(reference["size"])
    )
    outcome = await ingest.publish("elevenlabs", [delivery])
    # Should this fail, the reference stays pending; publishing it again is absorbed by its id.
    with contextlib.suppress(*ledger.DATABASE_ERRORS):
        await ledger.audio_published(ingest.runtime.db, audio.call_id)
    return outcome


# --- local media -----------------------------------------------------------------------------
@guarded("media")
async def media(request: Request, ingest: Ingest) -> Response:
    sha256 = request.path_params.get("sha256", "")
    contact = request.path_params.get("contact", "")
    serve = ingest.config.ingest_serve_media
    found = find_media(ingest.data_dir, contact, sha256) if serve else None
    if found is None:
        raise NotFound("not_found", "no such media")
    path, content_type = found
    return FileResponse(path, media_type=content_type)


async def forget_files(runtime: Runtime, pseudonym: str) -> int:
    """Delete a forgotten contact's call recordings and simulated notes; how many."""
    paths = await ledger.call_audio_of(runtime.db, pseudonym, pseudonyms(runtime))
    data_dir = runtime.settings.data_dir
    calls = await asyncio.to_thread(delete_stored, data_dir, paths)
    return calls + await asyncio.to_thread(forget_media, data_dir, pseudonym)
