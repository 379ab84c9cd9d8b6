"""Replicas sharing a partitioned stream: every event once, each conversation in order,
the work spread, and a stopped replica's partitions taken over."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import asyncpg

from hilo.bus import EventBus
from hilo.partitions import MEMBER_BASE, group_key, preferred_order, share
from hilo.service import Context, Service
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import MessageReceived

PARTITIONS = 4


def test_members_share_the_partitions_evenly() -> None:
    assert [share(8, n) for n in (1, 2, 3, 8, 9)] == [8, 4, 3, 1, 1]
    first, second = preferred_order(8, 0, 2), preferred_order(8, 1, 2)
    assert first[:4] == [0, 1, 2, 3] and second[:4] == [4, 5, 6, 7]


@dataclass
class Handled:
    """(replica, conversation, n) for every handling, in the order they happened."""

    log: list[tuple[str, str, int]] = field(default_factory=list)

    def per_conversation(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = defaultdict(list)
        for _, conversation, n in self.log:
            found[conversation].append(n)
        return found


def replica(name: str, handled: Handled) -> Service:
    service = Service("partitioned")

    @service.subscriber(MessageReceived, durable="partitioned")
    async def on_message(event: MessageReceived, ctx: Context) -> None:
        await asyncio.sleep(0)  # let other conversations interleave
        handled.log.append((name, event.conversation, int(event.text or "0")))

    return service


def message(contact: str, n: int) -> MessageReceived:
    return MessageReceived(
        conversation=contact, provider="twilio", provider_message_id=uuid.uuid4().hex, text=str(n)
    )


async def test_two_replicas_share_the_work_in_order_and_one_takes_over(
    settings: HiloSettings, bus: EventBus, pool: asyncpg.Pool
) -> None:
    partitioned = settings.model_copy(update={"partitions": PARTITIONS, "rebalance_seconds": 0.1})
    handled = Handled()
    contacts = [f"+3460010{i:04d}" for i in range(24)]
    a, b = replica("a", handled), replica("b", handled)
    async with a.running(partitioned, http=False):
        async with b.running(partitioned, http=False):

            async def balanced() -> bool:
                rows = await pool.fetch(
                    "SELECT pid, count(*) AS held FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND objsubid = 2 AND classid::bigint = $1"
                    " AND objid::bigint < $2 GROUP BY pid",
                    group_key(bus.naming.durable("partitioned")),
                    MEMBER_BASE,
                )
                return sorted(r["held"] for r in rows) == [2, 2]

            await eventually(balanced)
            for n in range(5):
                for contact in contacts:
                    await bus.publish(message(contact, n))

            async def all_handled() -> bool:
                return len(handled.log) >= 5 * len(contacts)

            await eventually(all_handled, timeout=30)
        # b stopped: a takes its partitions over and handles what comes next.
        for contact in contacts:
            await bus.publish(message(contact, 5))

        async def the_rest_handled() -> bool:
            return len(handled.log) >= 6 * len(contacts)

        await eventually(the_rest_handled, timeout=30)

    per_conversation = handled.per_conversation()
    assert all(numbers == [0, 1, 2, 3, 4, 5] for numbers in per_conversation.values())
    assert len(handled.log) == 6 * len(contacts)
    first_rounds = handled.log[: 5 * len(contacts)]
    assert {name for name, _, _ in first_rounds} == {"a", "b"}  # the work was shared
    assert {name for name, _, _ in handled.log[5 * len(contacts) :]} == {"a"}
    # One conversation was never handled by both replicas in the same round.
    for contact in contacts:
        assert len({name for name, c, _ in first_rounds if c == contact}) == 1
