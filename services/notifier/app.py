"""The notifier: reply.ready becomes a WhatsApp message (Twilio, Meta, or the local outbox)."""

from __future__ import annotations

from hilo.erasure import erase_on_forget
from hilo.service import Runtime, Service
from services.notifier.delivery import Notifier
from services.notifier.handlers import HANDLED_EVENTS, on_event
from services.notifier.settings import NotifierSettings
from services.notifier.store import PERSONAL_COLUMNS


def build(settings: NotifierSettings | None = None) -> Service:
    config = settings or NotifierSettings()
    service = Service("notifier")
    # Failed sends are retried in place by the consumer (the conversation's later events
    # wait behind them); the outbox row counts provider attempts and decides when to give
    # up, so the consumer's own limit is only a backstop for lookups that keep failing.
    service.subscriber(
        *HANDLED_EVENTS,
        durable="notifier",
        max_deliver=config.notifier_max_attempts * 2 + 5,
        backoff=config.notifier_retry_backoff,
        ack_wait=config.notifier_ack_wait_seconds,
        max_ack_pending=5000,
        batch=256,
    )(on_event)

    # A forgotten contact's rows here are deleted, and the deletion announced.
    erase_on_forget(service, PERSONAL_COLUMNS)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        runtime.state.update(settings=config, notifier=Notifier(config, runtime.db, runtime.outbox))

    @service.on_shutdown
    async def stop(runtime: Runtime) -> None:
        await runtime.state["notifier"].close()

    return service


service = build()
