"""Append every event to the store, batch by batch, in JetStream order.

Events come off the bus already sealed (a contact's under its pseudonym) and are stored
as they came. A contact's event that arrives in clear (a publisher from before sealing)
is sealed first, so the store never keeps a number or a text readable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import orjson
from nats.aio.msg import Msg

from hilo.consumer import BatchHandler
from hilo.privacy.sealing import is_contact
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
                event = to_new_event(msg.data)
            except NotAnEvent as exc:
                rejected.append((msg, f"not an event: {exc}"))
                continue
            if is_contact(event.stream):
                sealed = await runtime.codec.seal_data(orjson.loads(msg.data))
                event = dataclasses.replace(
                    event,
                    stream=str(sealed["conversation"]),
                    data_json=orjson.dumps(sealed).decode(),
                )
            events.append(event)
        # Idempotent on event_id: a redelivered batch appends only what is new.
        await store.append(events)
        return rejected

    return record
