"""The flows service: question flows on WhatsApp, answered one question at a time."""

from __future__ import annotations

import asyncio
import logging

import httpx

from hilo.erasure import erase_on_forget
from hilo.flowdefs import InvalidFlows, load_flows
from hilo.service import Runtime, Service
from services.flows.engine import FlowEngine
from services.flows.handlers import HANDLED_EVENTS, on_event
from services.flows.settings import FlowsSettings
from services.flows.store import PERSONAL_COLUMNS

log = logging.getLogger(__name__)
# httpx logs every request's URL at INFO; an outside API's URL may carry a token.
logging.getLogger("httpx").setLevel(logging.WARNING)


def build(settings: FlowsSettings | None = None) -> Service:
    config = settings or FlowsSettings()
    service = Service("flows")
    service.subscriber(
        *HANDLED_EVENTS,
        durable="flows",
        max_deliver=8,
        batch=256,
        ack_wait=config.flows_ack_wait_seconds,
    )(on_event)

    # A forgotten contact's rows here are deleted, and the deletion announced.
    erase_on_forget(service, PERSONAL_COLUMNS)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        try:
            flows = load_flows(config.hilo_flows_dir)
        except InvalidFlows as exc:
            # Refuse to start, saying why (file and line), without a traceback.
            raise SystemExit(f"flows: invalid flow files, not starting:\n{exc}") from exc
        log.info("flows: %d loaded from %s", len(flows.flows), config.hilo_flows_dir)
        http = httpx.AsyncClient()
        runtime.state.update(
            settings=config,
            http=http,
            engine=FlowEngine(runtime.db, runtime.outbox, flows, config, http),
        )

    @service.on_shutdown
    async def stop(runtime: Runtime) -> None:
        await runtime.state["http"].aclose()

    @service.background
    async def timers(runtime: Runtime) -> None:
        engine: FlowEngine = runtime.state["engine"]
        while True:
            try:
                await engine.tick()
            except Exception:
                log.exception("flows: timer round failed")
            await asyncio.sleep(engine.settings.flows_timer_seconds)

    return service


service = build()
