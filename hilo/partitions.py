"""Which partitions this replica consumes: PostgreSQL advisory locks held by one session.

Replicas of a service share a partitioned stream (``HILO_PARTITIONS``; NATS stores each
event with its conversation's partition token): each replica takes a member slot and
about partitions / members partitions, each under a session-level advisory lock, so two
replicas never consume one partition, hence one conversation, at the same time.

- A replica that dies loses its database session and with it its locks; the others take
  its partitions at their next look (``interval``), and JetStream redelivers what it held
  once the ack wait runs out.
- A replica that must give partitions up (a new member joined) stops their consumers
  first, finishing the event in hand and handing the queued ones back in order, and only
  then unlocks: a partition is drained before it moves.
- A lost database session stops every consumer of this replica before anything else is
  tried: without its locks it may no longer consume.

No protocol of our own: PostgreSQL's lock manager is the arbiter, ``pg_locks`` the roster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import zlib
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)

# Member slots are lock keys from MEMBER_BASE on; partitions are 0 … partitions-1.
MEMBER_BASE = 100_000
MAX_MEMBERS = 256

Stop = Callable[[], Awaitable[None]]
Start = Callable[[int], Awaitable[Stop]]


def group_key(group: str) -> int:
    """A stable positive int4 for the group (the namespaced consumer name)."""
    return zlib.crc32(group.encode()) & 0x7FFFFFFF


def share(partitions: int, members: int) -> int:
    """How many partitions one member should hold."""
    return math.ceil(partitions / max(members, 1))


def preferred_order(partitions: int, member: int, members: int) -> list[int]:
    """The member's own stretch of partitions first, so members rarely contend."""
    start = (member % max(members, 1)) * share(partitions, members)
    return [(start + i) % partitions for i in range(partitions)]


class PartitionOwner:
    def __init__(
        self,
        database_url: str,
        group: str,
        partitions: int,
        start: Start,
        *,
        interval: float = 2.0,
    ) -> None:
        self.database_url = database_url
        self.group = group
        self.key = group_key(group)
        self.partitions = partitions
        self.start = start
        self.interval = interval
        self.owned: dict[int, Stop] = {}

    async def run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.database_url)
                member = await self._join(conn)
                while True:
                    await self._balance(conn, member)
                    await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: partition ownership lost (%r); rejoining", self.group, exc)
                await asyncio.sleep(self.interval)
            finally:
                await self._stop_all()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _join(self, conn: asyncpg.Connection) -> int:
        for slot in range(MAX_MEMBERS):
            if await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", self.key, MEMBER_BASE + slot
            ):
                return slot
        raise RuntimeError(f"{self.group}: more than {MAX_MEMBERS} replicas")

    async def _members(self, conn: asyncpg.Connection) -> int:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 2 AND classid::bigint = $1 AND objid::bigint >= $2",
            self.key,
            MEMBER_BASE,
        )
        return max(int(count), 1)

    async def _balance(self, conn: asyncpg.Connection, member: int) -> None:
        members = await self._members(conn)
        target = share(self.partitions, members)
        for partition in sorted(self.owned, reverse=True)[: max(len(self.owned) - target, 0)]:
            await self._release(conn, partition)
        if len(self.owned) >= target:
            return
        for partition in preferred_order(self.partitions, member, members):
            if len(self.owned) >= target:
                break
            if partition in self.owned:
                continue
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.key, partition):
                log.info("%s: consuming partition %d", self.group, partition)
                self.owned[partition] = await self.start(partition)

    async def _release(self, conn: asyncpg.Connection, partition: int) -> None:
        stop = self.owned.pop(partition)
        await stop()  # drained first, then handed over
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", self.key, partition)
        log.info("%s: handed partition %d over", self.group, partition)

    async def _stop_all(self) -> None:
        owned, self.owned = self.owned, {}
        for stop in owned.values():
            with contextlib.suppress(Exception):
                await stop()
