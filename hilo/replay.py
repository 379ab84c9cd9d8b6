"""Republishing stored events so that fixed or new consumers process history again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from hilo.bus import EventBus
from hilo.store.eventstore import EventStore


async def replay(
    pool: asyncpg.Pool,
    bus: EventBus | None,
    first: int = 1,
    last: int | None = None,
    types: Sequence[str] | None = None,
) -> int:
    """Republish events with positions in [first, last]; with no bus, only count (dry run)."""
    store = EventStore(pool)
    replay_id = uuid.uuid4().hex[:12]
    count = 0
    async for batch in store.iterate_all(max(first - 1, 0), types=types or None, up_to=last):
        for record in batch:
            if bus is not None:
                await bus.publish_stored(record.data, replay_id=replay_id)
            count += 1
    return count
