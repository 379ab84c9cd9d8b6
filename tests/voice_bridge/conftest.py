"""Fixtures for the voice bridge: the ElevenLabs stand-in, the running service, a bus listener."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from nats.aio.msg import Msg

from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import Event, registry
from services.voice_bridge.app import build
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.voice_bridge.standin import ElevenLabsStandIn

OUTPUT_TYPES = ("reply.ready", "conversation.mode_changed", "agent.reply_failed", "call.ended")


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

    async def wait_for(
        self, kind: str, conversation: str | None = None, count: int = 1
    ) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.of(kind, conversation)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=10)


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
async def standin() -> AsyncIterator[ElevenLabsStandIn]:
    async with ElevenLabsStandIn() as server:
        yield server


BridgeFactory = Callable[..., contextlib.AbstractAsyncContextManager[Runtime]]


@pytest_asyncio.fixture
async def bridge(settings: HiloSettings, standin: ElevenLabsStandIn) -> BridgeFactory:
    """Start the bridge in-process against the stand-in; keyword arguments override settings."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Runtime]:
        values: dict[str, Any] = {
            "elevenlabs_api_base": standin.url,
            "elevenlabs_agent_id": standin.agent_id,
            "elevenlabs_api_key": standin.api_key,
            "voice_bridge_reply_timeout_seconds": 3.0,
            "voice_bridge_quiet_seconds": 0.3,
            "voice_bridge_connect_timeout_seconds": 2.0,
        }
        values.update(overrides)
        service = build(VoiceBridgeSettings(**values))
        async with service.running(settings, http=False) as runtime:
            yield runtime

    return start


async def drained(bus: EventBus, durable: str = "voice-bridge") -> None:
    """Wait until the bridge's consumer has handled (acked) everything in the stream."""

    async def done() -> bool:
        info = await bus.js.consumer_info(bus.naming.events_stream, bus.naming.durable(durable))
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    await eventually(done, timeout=15)
    await asyncio.sleep(0.1)  # let publishes made by the last handler reach the listener
