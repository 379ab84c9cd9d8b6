"""The voice bridge: hands finished calls over to WhatsApp and relays the chat to the agent."""

from __future__ import annotations

import httpx

from hilo.erasure import erase_on_forget
from hilo.service import Runtime, Service
from hilo.settings import reveal
from services.voice_bridge.agent_session import AgentConfig, SessionPool
from services.voice_bridge.batch_poller import BatchPoller
from services.voice_bridge.call_openers import release_overdue
from services.voice_bridge.handlers import HANDLED_EVENTS, on_event
from services.voice_bridge.ledger import PERSONAL_COLUMNS
from services.voice_bridge.relay import Relay
from services.voice_bridge.settings import VoiceBridgeSettings


def build(settings: VoiceBridgeSettings | None = None) -> Service:
    config = settings or VoiceBridgeSettings()
    service = Service("voice_bridge")
    # One consumer for calls, the router's decisions and messages, in stream order.
    service.subscriber(
        *HANDLED_EVENTS,
        durable="voice-bridge",
        max_deliver=6,
        max_ack_pending=5000,
        batch=256,
    )(on_event)

    # A forgotten contact's rows here are deleted, and the deletion announced.
    erase_on_forget(service, PERSONAL_COLUMNS)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        http = httpx.AsyncClient()
        agent = AgentConfig(
            api_base=config.elevenlabs_api_base,
            agent_id=config.elevenlabs_agent_id or "",
            api_key=reveal(config.elevenlabs_api_key),
            connect_timeout=config.voice_bridge_connect_timeout_seconds,
            reply_timeout=config.voice_bridge_reply_timeout_seconds,
            quiet_seconds=config.voice_bridge_quiet_seconds,
            idle_seconds=config.voice_bridge_idle_seconds,
        )
        pool = SessionPool(agent, http)
        relay = Relay(runtime, pool, config)
        runtime.state.update(
            settings=config, http=http, pool=pool, relay=relay, poller=BatchPoller(config, http)
        )
        # Answers that a previous run queued but never published.
        await relay.resume()

    @service.on_shutdown
    async def stop(runtime: Runtime) -> None:
        await runtime.state["relay"].close()
        await runtime.state["pool"].close_all()
        await runtime.state["http"].aclose()

    @service.background
    async def close_idle_sessions(runtime: Runtime) -> None:
        await runtime.state["pool"].close_idle_forever()

    service.background(release_overdue)

    @service.background
    async def poll_batches(runtime: Runtime) -> None:
        if config.batch_ids:
            await runtime.state["poller"].run_forever(runtime)

    return service


service = build()
