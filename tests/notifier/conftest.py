"""Fixtures for the notifier: the provider stand-ins, the running service, a bus listener."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from nats.aio.msg import Msg

from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import Event, MessageReceived, ReplyReady, registry
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


@dataclass
class Published:
    """Every publish on the bus of the types we watch (core NATS sees even deduplicated ones)."""

    events: list[Event] = field(default_factory=list)

    def of(self, kind: str, conversation: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if e.type == kind and (conversation is None or e.conversation == conversation)
        ]

    def distinct(self, kind: str) -> list[Any]:
        seen: dict[Any, Event] = {}
        for event in self.of(kind):
            seen.setdefault(event.event_id, event)
        return list(seen.values())

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 10) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.distinct(kind)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    seen = Published()

    async def keep(msg: Msg) -> None:
        seen.events.append(registry.decode_json(msg.data))

    subs = [await bus.nc.subscribe(bus.naming.type_filter(t), cb=keep) for t in OUTPUT_TYPES]
    yield seen
    for sub in subs:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


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
    """Wait until the notifier's consumer has handled (acked) everything in the stream."""

    async def done() -> bool:
        info = await bus.js.consumer_info(bus.naming.events_stream, bus.naming.durable(durable))
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    await eventually(done, timeout=15)
