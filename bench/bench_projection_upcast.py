"""What upcasting stored events costs a projection rebuild.

The rebuild reads every stored event and, since events may be older than their class, upcasts
each to its current shape before folding. The peer is the same rebuild with a registry that
knows no class (so `upcast` returns the data as it came): the ratio is the price of the check.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from _common import print_table, servers, service_settings, side_by_side

from hilo.privacy.codec import codec_for
from hilo.privacy.master import master_key
from hilo.projections.runner import ConversationsProjection, rebuild
from hilo.store.eventstore import EventStore, create_pool
from schemas import ConversationModeChanged, MessageReceived
from schemas.registry import EventRegistry

EVENTS = 20_000
CONVERSATIONS = 500


def sample(count: int) -> list[MessageReceived | ConversationModeChanged]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events: list[MessageReceived | ConversationModeChanged] = []
    for i in range(count):
        contact = f"+5730011{i % CONVERSATIONS:05d}"
        at = start + timedelta(seconds=i)
        if i % 10 == 9:
            events.append(
                ConversationModeChanged(
                    conversation=contact, occurred_at=at, mode="voice_agent", reason="call_ended"
                )
            )
        else:
            events.append(
                MessageReceived(
                    conversation=contact,
                    occurred_at=at,
                    provider="twilio",
                    provider_message_id=f"SM{i:030d}",
                    text="Hola, quiero una cita el viernes a las 10",
                )
            )
    return events


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "upcast") as settings_for:
            settings = settings_for("u")
            pool = await create_pool(settings.require_database_url())
            codec = codec_for(master_key(settings), pool)  # both sides open sealed events
            store = EventStore(pool, codec)
            events = sample(EVENTS)
            for start in range(0, len(events), 1000):
                await store.append(events[start : start + 1000])
            projection = ConversationsProjection()

            async def upcasting(_: None) -> int:
                return await rebuild(pool, projection, codec=codec)

            async def not_upcasting(_: None) -> int:
                return await rebuild(pool, projection, events=EventRegistry(), codec=codec)

            ours, theirs = await side_by_side(upcasting, not_upcasting, lambda: None)
            await pool.close()
    print_table(
        f"projection rebuild, {EVENTS:,} stored events ({EVENTS // 10:,} mode changes)",
        [("rebuild, upcasting (peer: no upcasting)", ours, theirs)],
        "events/s",
    )


if __name__ == "__main__":
    asyncio.run(main())
