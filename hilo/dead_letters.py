"""Reading the dead-letter stream: events consumers gave up on, and why."""

from __future__ import annotations

import contextlib
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from hilo.bus import EventBus


async def read_dead_letters(bus: EventBus, limit: int = 100) -> list[dict[str, Any]]:
    """The oldest ``limit`` dead letters, without consuming them (ephemeral, no acks)."""
    stream = bus.naming.dead_letter_stream
    info = await bus.js.stream_info(stream)
    if not info.state.messages:
        return []
    sub = await bus.js.pull_subscribe(
        bus.naming.dead_letter_filter(),
        stream=stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=30.0,
        ),
    )
    letters: list[dict[str, Any]] = []
    try:
        while len(letters) < limit:
            try:
                msgs = await sub.fetch(min(100, limit - len(letters)), timeout=1.0)
            except NatsTimeoutError:
                break
            for msg in msgs:
                headers = msg.headers or {}
                letters.append(
                    {
                        "sequence": msg.metadata.sequence.stream,
                        "consumer": headers.get("Hilo-Consumer"),
                        "subject": headers.get("Hilo-Original-Subject"),
                        "reason": headers.get("Hilo-Dead-Reason"),
                        "deliveries": headers.get("Hilo-Deliveries"),
                        "body": msg.data.decode(errors="replace"),
                    }
                )
            if len(letters) >= info.state.messages:
                break
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return letters
