"""The shared outbox and tracking records (hilo/outbox.py), on real NATS and PostgreSQL.

One suite for the mechanism every service uses: a duplicate is skipped, a crash before
the commit leaves nothing behind, rows left by a crash are published in order, a
published row is never sent again, and a row NATS keeps refusing goes dead with its reason.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from hilo.bus import EventBus
from hilo.outbox import Outbox, dead_letters
from hilo.testing import Published, eventually, marker_round_trip, watching
from schemas import MessageRouted
from schemas.registry import UnknownEvent

CONTACT = "+34600999000"


def routed(n: int, contact: str = CONTACT) -> MessageRouted:
    return MessageRouted(
        conversation=contact, message_event_id=uuid.uuid4(), answerer="analyzer", reason=f"n{n}"
    )


async def outbox_state(pool: asyncpg.Pool) -> list[tuple[str, bool, bool]]:
    rows = await pool.fetch(
        "SELECT reason, published_at IS NOT NULL AS published, dead_at IS NOT NULL AS dead"
        " FROM (SELECT payload::jsonb ->> 'reason' AS reason, published_at, dead_at, id"
        " FROM hilo_outbox) r ORDER BY id"
    )
    return [(r["reason"], r["published"], r["dead"]) for r in rows]


async def test_a_transaction_publishes_its_events_in_order_once(
    bus: EventBus, pool: asyncpg.Pool
) -> None:
    outbox = Outbox("test", pool, bus)
    event_id = uuid.uuid4()
    async with watching(bus, ("message.routed",), Published()) as seen:
        async with outbox.transaction("consumer-a", event_id) as tx:
            assert await tx.track()
            await tx.publish(routed(1))
            await tx.publish_all([routed(2), routed(3)])
        # The same event again (a redelivery): its tracking record says it was handled.
        async with outbox.transaction("consumer-a", event_id) as tx:
            assert not await tx.track()
        async with outbox.transaction("consumer-b", event_id) as tx:
            assert await tx.track()  # another consumer has its own record
        await marker_round_trip(bus)
    assert [e.reason for e in seen.of("message.routed")] == ["n1", "n2", "n3"]
    assert await outbox_state(pool) == [
        ("n1", True, False),
        ("n2", True, False),
        ("n3", True, False),
    ]


async def test_a_crash_before_the_commit_leaves_nothing(bus: EventBus, pool: asyncpg.Pool) -> None:
    outbox = Outbox("test", pool, bus)
    event_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with outbox.transaction("consumer-a", event_id) as tx:
            assert await tx.track()
            await tx.publish(routed(1))
            raise RuntimeError("the handler crashed")
    assert await outbox_state(pool) == []
    async with outbox.transaction("consumer-a", event_id) as tx:
        assert await tx.track()  # the redelivery is handled as new


async def test_rows_a_crash_left_are_relayed_in_order_and_never_twice(
    bus: EventBus, pool: asyncpg.Pool
) -> None:
    outbox = Outbox("test", pool, bus, poll_seconds=0.05)
    # Committed but never published: the process died right after the commit.
    async with pool.acquire() as conn, conn.transaction():
        from hilo.outbox import _Pending

        await outbox.add_many(conn, [_Pending.of(await bus.seal(routed(n))) for n in (1, 2, 3)])
        await outbox.add_many(conn, [_Pending.of(await bus.seal(routed(4, "+34600999001")))])
    await pool.execute("UPDATE hilo_outbox SET created_at = now() - interval '1 minute'")
    async with watching(bus, ("message.routed",), Published()) as seen:
        import asyncio

        relay = asyncio.create_task(outbox.relay())
        try:

            async def all_published() -> bool:
                return all(published for _, published, _ in await outbox_state(pool))

            await eventually(all_published)
            # Another pass over a published outbox sends nothing.
            assert await outbox.flush(CONTACT, now=True) == 0
            await marker_round_trip(bus)
        finally:
            relay.cancel()
    assert [e.reason for e in seen.of("message.routed", CONTACT)] == ["n1", "n2", "n3"]
    assert [e.reason for e in seen.of("message.routed", "+34600999001")] == ["n4"]


async def test_a_row_nats_keeps_refusing_goes_dead_with_its_reason(
    bus: EventBus, pool: asyncpg.Pool
) -> None:
    outbox = Outbox("test", pool, bus, max_attempts=2)
    # No stream takes this subject: JetStream answers "no responders", a refusal.
    stray = UnknownEvent(type="zz.never_declared", conversation=CONTACT)
    async with outbox.transaction() as tx:
        await tx.publish(stray)
        await tx.publish(routed(1))  # behind it, it waits
    for _ in range(2):
        assert await outbox.flush(CONTACT, now=True) == 0
    [dead] = await dead_letters(pool)
    assert dead.source == "outbox" and dead.owner == "test" and dead.attempts == 2
    assert "zz.never_declared" in dead.key and dead.reason
    # The dead row no longer holds the conversation back.
    assert await outbox.flush(CONTACT, now=True) == 1
