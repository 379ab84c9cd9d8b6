"""Ingest: the providers' webhooks (Twilio, Meta, ElevenLabs) as events on JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hilo.service import Runtime, Service
from services.ingest import handlers
from services.ingest.expiry import ExpiredRecordings
from services.ingest.files import simulator_token
from services.ingest.handlers import Ingest
from services.ingest.ledger import forget_older_than
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


def build(settings: IngestSettings | None = None) -> Service:
    config = settings or IngestSettings()
    service = Service("ingest")
    router = service.router
    router.add_api_route("/webhooks/twilio/whatsapp", handlers.twilio_whatsapp, methods=["POST"])
    router.add_api_route("/webhooks/twilio/status", handlers.twilio_status, methods=["POST"])
    router.add_api_route("/webhooks/meta", handlers.meta_verify, methods=["GET"])
    router.add_api_route("/webhooks/meta", handlers.meta_webhook, methods=["POST"])
    router.add_api_route("/webhooks/elevenlabs", handlers.elevenlabs_webhook, methods=["POST"])
    router.add_api_route("/media/{sha256}", handlers.media, methods=["GET"])

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        token = None
        unset = config.twilio_token is None or config.elevenlabs_secret is None
        if unset and config.ingest_allow_simulator:
            token = await asyncio.to_thread(simulator_token, runtime.settings.data_dir)
            log.info("a provider secret is unset: accepting simulator-signed webhooks for it")
        runtime.state["ingest"] = Ingest(runtime, config, token)

    @service.background
    async def prune(runtime: Runtime) -> None:
        expired = ExpiredRecordings(runtime.db, runtime.settings.data_dir)
        while True:
            with contextlib.suppress(Exception):
                forgotten = await forget_older_than(runtime.db, config.ingest_dedupe_retention_days)
                if forgotten:
                    log.info("forgot %d old deliveries", forgotten)
            try:
                await expired.delete_new()
            except Exception as exc:
                log.warning("deleting expired recordings failed, retried later: %r", exc)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    return service


service = build()
