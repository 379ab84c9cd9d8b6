"""The transcriber: voice notes from `message.received` turned into `audio.transcribed`."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx

from hilo.service import Runtime, Service
from hilo.settings import reveal
from schemas import MessageReceived
from services.transcriber.addresses import AddressPolicy, guarded_client
from services.transcriber.allowlist import HostAllowList
from services.transcriber.backends import Backend, create_backend
from services.transcriber.expiry import RetentionJob
from services.transcriber.handlers import on_message_received
from services.transcriber.media import MediaConfig, MediaFetcher
from services.transcriber.pipeline import Pipeline
from services.transcriber.settings import TranscriberSettings
from services.transcriber.storage import AudioStore

log = logging.getLogger(__name__)


def media_config(config: TranscriberSettings) -> MediaConfig:
    hosts = (*config.transcriber_media_hosts, config.twilio_api_base, config.graph_api_base)
    return MediaConfig(
        allow=HostAllowList.of(hosts, config.transcriber_local_media_url),
        max_bytes=config.transcriber_max_bytes,
        twilio_api_base=config.twilio_api_base,
        twilio_account_sid=config.twilio_account_sid,
        twilio_auth_token=reveal(config.twilio_auth_token),
        graph_api_base=config.graph_api_base,
        graph_api_version=config.graph_api_version,
        whatsapp_token=reveal(config.whatsapp_token),
        deadline_seconds=config.transcriber_download_deadline_seconds,
    )


def media_client(config: TranscriberSettings) -> httpx.AsyncClient:
    """Connections only to checked public addresses; loopback or private only where configured."""
    local = urlsplit(config.transcriber_local_media_url)
    origins: frozenset[tuple[str, int]] = frozenset()
    if local.hostname:
        port = local.port or (443 if local.scheme == "https" else 80)
        origins = frozenset({(local.hostname.lower(), port)})
    policy = AddressPolicy(config.transcriber_allow_loopback, origins)
    return guarded_client(policy, timeout=config.transcriber_download_timeout_seconds)


def retention_job(runtime: Runtime, config: TranscriberSettings) -> RetentionJob:
    return RetentionJob(
        runtime.db,
        runtime.outbox,
        AudioStore(runtime.settings.data_dir / "audio"),
        config.retention,
        runtime.codec,
    )


def build(settings: TranscriberSettings | None = None, backend: Backend | None = None) -> Service:
    """``backend`` lets tests share one loaded model between several service instances."""
    config = settings or TranscriberSettings()
    service = Service("transcriber")
    service.subscriber(
        MessageReceived,
        durable="transcriber",
        # The handler gives up after transcriber_attempts; the margin covers a failed publish.
        max_deliver=config.transcriber_attempts + 2,
        backoff=config.retry_backoff,
        # Few notes in hand at a time: each may take a while, and inference runs one by one.
        batch=8,
        max_ack_pending=64,
        ack_wait=60.0,
    )(on_message_received)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        # Loading the model takes a moment and fails loudly (BackendUnavailable) when it cannot.
        chosen = (
            backend
            if backend is not None
            else await asyncio.to_thread(create_backend, config, runtime.settings.data_dir)
        )
        http = media_client(config)  # media.py follows redirects itself, hop by hop
        pipeline = Pipeline(
            fetcher=MediaFetcher(http, media_config(config)),
            store=AudioStore(runtime.settings.data_dir / "audio"),
            backend=chosen,
            max_duration_seconds=config.transcriber_max_duration_seconds,
        )
        runtime.state.update(http=http, pipeline=pipeline, attempts=config.transcriber_attempts)

    @service.background
    async def keep_retention(runtime: Runtime) -> None:
        """The retention job, every interval; one replica at a time does the work (its lock)."""
        if config.retention.keeps_everything:
            return
        job = retention_job(runtime, config)
        while True:
            try:
                # The last run's report, for whoever asks how it went (tests, a debugger).
                runtime.state["retention"] = await job.run()
            except Exception:
                log.exception(
                    "retention run failed; next try in %ss",
                    config.transcriber_retention_interval_seconds,
                )
            await asyncio.sleep(config.transcriber_retention_interval_seconds)

    @service.on_shutdown
    async def stop(runtime: Runtime) -> None:
        http = runtime.state.get("http")
        if http is not None:
            await http.aclose()

    return service


service = build()
