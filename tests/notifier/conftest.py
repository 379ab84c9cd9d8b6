"""Fixtures for the notifier: the provider stand-ins, the running service, a bus listener."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from hilo.testing import Published, watching
from schemas import MessageReceived, ReplyReady
from services.notifier.app import build
from services.notifier.settings import NotifierSettings
from tests.notifier.standins import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    META_TOKEN,
    PHONE_NUMBER_ID,
    WHATSAPP_FROM,
    ProviderStandIns,
    provider_standins,
)

OUTPUT_TYPES = (
    "message.sent",
    "message.failed",
    "message.blocked",
    "contact.opted_out",
    "contact.opted_in",
    "message.marked_read",
    "reply.ready",
)
CONTACT = "+573001112233"


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, OUTPUT_TYPES, Published()) as seen:
        yield seen


@pytest_asyncio.fixture
async def standins() -> AsyncIterator[ProviderStandIns]:
    async with provider_standins() as servers:
        yield servers


NotifierFactory = Callable[..., contextlib.AbstractAsyncContextManager[Runtime]]


def notifier_settings(standins: ProviderStandIns, mode: str, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "twilio_api_base": standins.base_url,
        "graph_api_base": standins.base_url,
        "graph_api_version": "v20.0",
        "hilo_public_url": "https://hilo.example.com",
        "notifier_rate_per_second": 0,
        "notifier_retry_backoff": (0.05, 0.1, 0.2),
        "notifier_request_timeout_seconds": 2.0,
        "notifier_ack_wait_seconds": 2.0,
        "notifier_max_attempts": 4,
    }
    if mode in ("twilio", "both"):
        values.update(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=WHATSAPP_FROM,
        )
    if mode in ("meta", "both"):
        values.update(whatsapp_token=META_TOKEN, whatsapp_phone_number_id=PHONE_NUMBER_ID)
    values.update(overrides)
    # _env_file=None: a developer's .env must not leak real credentials into tests.
    return NotifierSettings(_env_file=None, **values)


@pytest_asyncio.fixture
async def notifier(settings: HiloSettings, standins: ProviderStandIns) -> NotifierFactory:
    """Start the notifier in-process; ``mode`` is twilio, meta, both or outbox."""

    @contextlib.asynccontextmanager
    async def start(mode: str = "twilio", **overrides: Any) -> AsyncIterator[Runtime]:
        service = build(notifier_settings(standins, mode, **overrides))
        async with service.running(settings, http=False) as runtime:
            yield runtime

    return start


def inbound(
    text: str = "hola",
    *,
    provider: str = "twilio",
    conversation: str = CONTACT,
    ago: timedelta = timedelta(minutes=5),
    wamid: str | None = None,
) -> MessageReceived:
    at = datetime.now(UTC) - ago
    return MessageReceived(
        conversation=conversation,
        provider=provider,
        provider_message_id=wamid or f"SM{abs(hash((text, at))):032x}"[:34],
        text=text,
        sent_at=at,
        occurred_at=at,
    )


def reply(text: str | None = "¡Hola! ¿En qué te ayudo?", **fields: Any) -> ReplyReady:
    import uuid

    fields.setdefault("conversation", CONTACT)
    fields.setdefault("author", "analyzer")
    return ReplyReady(reply_id=uuid.uuid4(), text=text, **fields)


async def drained(bus: EventBus, durable: str = "notifier") -> None:
    """The notifier's consumer has handled (acked) everything, and its publishes are recorded."""
    await testing.settled(bus, durable)
