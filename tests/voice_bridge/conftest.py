"""Fixtures for the voice bridge: the ElevenLabs stand-in, the running service, a bus listener."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from services.voice_bridge.app import build
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.voice_bridge.standin import ElevenLabsStandIn

OUTPUT_TYPES = ("reply.ready", "conversation.mode_changed", "agent.reply_failed", "call.ended")


class Published(testing.Published):
    """Counts every publish, duplicates included: a replayed relay must publish nothing new."""

    async def wait_for(
        self, kind: str, conversation: str | None = None, count: int = 1, timeout: float = 10
    ) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.of(kind, conversation)
            return found if len(found) >= count else None

        return await testing.eventually(enough, timeout=timeout)


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with testing.watching(bus, OUTPUT_TYPES, Published()) as seen:
        yield seen


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
    """The bridge's consumer has handled (acked) everything, and its publishes are recorded."""
    await testing.settled(bus, durable)
