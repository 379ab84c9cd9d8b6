"""Append every event to the store, batch by batch, in JetStream order."""

from __future__ import annotations

from collections.abc import Sequence

from nats.aio.msg import Msg

from hilo.consumer import BatchHandler
from hilo.service import Runtime
from hilo.store.eventstore import EventStore, NewEvent
from services.recorder.records import NotAnEvent, to_new_event


def record_batches(runtime: Runtime) -> BatchHandler:
    store = EventStore(runtime.db)

    async def record(msgs: Sequence[Msg]) -> Sequence[tuple[Msg, str]]:
        rejected: list[tuple[Msg, str]] = []
        events: list[NewEvent] = []
        for msg in msgs:
            try:
                events.append(to_new_event(msg.data))
            except NotAnEvent as exc:
                rejected.append((msg, f"not an event: {exc}"))
        # Idempotent on event_id: a redelivered batch appends only what is new.
        await store.append(events)
        return rejected

    return record
