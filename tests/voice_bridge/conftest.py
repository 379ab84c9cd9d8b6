"""Fixtures for the voice bridge: the ElevenLabs stand-in, the running service, a bus listener."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from services.voice_bridge.app import build
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.voice_bridge.standin import ElevenLabsStandIn

OUTPUT_TYPES = (
    "reply.ready",
    "conversation.mode_changed",
    "message.routed",
    "agent.reply_failed",
    "call.ended",
)


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
async def bridge(
    settings: HiloSettings, standin: ElevenLabsStandIn, tmp_path: Path
) -> BridgeFactory:
    """Start the bridge in-process against the stand-in, with the router that hands it the
    conversations it answers; keyword arguments override the bridge's settings
    (``router_*`` ones the router's)."""

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
        routing = {k: v for k, v in overrides.items() if k.startswith("router_")}
        values.update({k: v for k, v in overrides.items() if not k.startswith("router_")})
        service = build(VoiceBridgeSettings(**values))
        router = build_router(RouterSettings(hilo_flows_dir=tmp_path / "no-flows", **routing))
        async with (
            router.running(settings, http=False),
            service.running(settings, http=False) as runtime,
        ):
            yield runtime

    return start


async def drained(bus: EventBus, runtime: Runtime | None = None) -> None:
    """Wait until the router and the bridge have handled everything in the stream, the
    outbox is empty, and everything published before has reached this connection."""

    async def done() -> bool:
        for durable in ("router", "voice-bridge"):
            info = await bus.js.consumer_info(bus.naming.events_stream, bus.naming.durable(durable))
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    await testing.eventually(done, timeout=15)
    if runtime is not None:

        async def published_all() -> bool:
            value = await runtime.db.fetchval(
                "SELECT count(*) FROM hilo_outbox WHERE published_at IS NULL"
            )
            return bool(value == 0)

        await testing.eventually(published_all, timeout=15)
    await testing.marker_round_trip(bus)
