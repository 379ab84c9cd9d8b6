"""The event store against real PostgreSQL: append, read, idempotency, concurrency, order."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from hilo.store.eventstore import ConcurrencyConflict, EventStore
from schemas import MessageReceived


def received(conversation: str = "+573001112233", text: str = "hola") -> MessageReceived:
    return MessageReceived(
        conversation=conversation,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        text=text,
    )


async def test_append_then_read_in_order(store: EventStore) -> None:
    events = [received(text=f"m{i}") for i in range(5)]
    result = await store.append(events)
    assert result.positions == (1, 2, 3, 4, 5)
    stored = await store.read_all()
    assert [r.event_id for r in stored] == [e.event_id for e in events]
    assert [r.stream_version for r in stored] == [1, 2, 3, 4, 5]
    assert stored[2].to_event() == events[2]


async def test_second_append_of_same_event_changes_nothing_and_says_so(store: EventStore) -> None:
    event = received()
    first = await store.append([event])
    second = await store.append([event])
    assert first.positions == (1,)
    assert second.positions == ()
    assert second.duplicates == (event.event_id,)
    assert await store.head() == 1
    assert await store.stream_version(event.conversation) == 1


async def test_batch_with_a_duplicate_inside_appends_the_rest(store: EventStore) -> None:
    old = received()
    await store.append([old])
    fresh = received()
    result = await store.append([old, fresh, fresh])
    assert result.positions == (2,)
    assert set(result.duplicates) == {old.event_id, fresh.event_id}


async def test_expected_version_conflict_is_raised_not_hidden(store: EventStore) -> None:
    stream = "+34600111222"
    await store.append([received(stream)], expected_versions={stream: 0})
    with pytest.raises(ConcurrencyConflict) as info:
        await store.append([received(stream)], expected_versions={stream: 0})
    assert info.value.actual == 1
    await store.append([received(stream)], expected_versions={stream: 1})
    assert await store.stream_version(stream) == 2


async def test_events_cannot_be_updated_or_deleted(store: EventStore, pool: asyncpg.Pool) -> None:
    await store.append([received()])
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError):
            await conn.execute("UPDATE events SET type = 'x'")
        with pytest.raises(asyncpg.RaiseError):
            await conn.execute("DELETE FROM events")


async def test_concurrent_writers_leave_no_gap_a_follower_could_miss(store: EventStore) -> None:
    """A follower reading by position while 8 writers append must see every event."""
    writers, per_writer = 8, 40
    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        position = 0
        while True:
            finished = done.is_set()
            batch = await store.read_all(position, limit=500)
            for record in batch:
                seen.append(record.position)
                position = record.position
            if finished and not batch:
                return
            await asyncio.sleep(0)

    async def write(n: int) -> None:
        for i in range(per_writer):
            await store.append([received(f"+3460000{n:04d}", f"{n}-{i}")])

    follower = asyncio.create_task(follow())
    await asyncio.gather(*(write(n) for n in range(writers)))
    done.set()
    await follower
    total = writers * per_writer
    assert seen == list(range(1, total + 1))


async def test_concurrent_appends_of_one_event_store_it_once(store: EventStore) -> None:
    event = received()
    results = await asyncio.gather(*(store.append([event]) for _ in range(6)))
    assert sum(len(r.positions) for r in results) == 1
    assert await store.head() == 1
