"""Bookings and profile versions in the analyzer's tables (migrations/002_business.sql).

The load-bearing statement is the lane insert: ``analyzer_bookings`` excludes two rows
on one lane overlapping in time, so a booking is taken by trying lanes 0..parallel-1 in
turn with ``ON CONFLICT DO NOTHING``. A concurrent insert of an overlapping range waits
for the other transaction and then conflicts; there is no check-then-write window.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg

from hilo.business import LoadedProfile
from services.analyzer.diff import StoredCalendarEvent
from services.analyzer.models import FollowUpTask
from services.analyzer.slots import Interval


class BookingStore:
    """Methods take the caller's connection (or pool), so writes can share a transaction."""

    async def claim(
        self,
        conn: asyncpg.Connection,
        calendar_event_id: uuid.UUID,
        conversation: str,
        start: datetime,
        end: datetime,
        parallel: int,
    ) -> bool:
        """Book [start, end) for the event (moving its earlier booking); False if full.

        Booking the same event at the same time again (a redelivery, a resumed burst)
        is a success that changes nothing.
        """
        async with conn.transaction():
            held = await conn.fetchval(
                "SELECT during FROM analyzer_bookings WHERE calendar_event_id = $1 FOR UPDATE",
                calendar_event_id,
            )
            if held is not None and (held.lower, held.upper) == (start, end):
                return True
            await conn.execute(
                "DELETE FROM analyzer_bookings WHERE calendar_event_id = $1", calendar_event_id
            )
            for lane in range(parallel):
                status = await conn.execute(
                    "INSERT INTO analyzer_bookings (calendar_event_id, conversation, lane, during)"
                    " VALUES ($1, $2, $3, tstzrange($4, $5)) ON CONFLICT DO NOTHING",
                    calendar_event_id,
                    conversation,
                    lane,
                    start,
                    end,
                )
                if status == "INSERT 0 1":
                    return True
            raise _Full  # rolls back: the earlier booking stands

    async def try_claim(
        self,
        db: asyncpg.Pool | asyncpg.Connection,
        calendar_event_id: uuid.UUID,
        conversation: str,
        start: datetime,
        end: datetime,
        parallel: int,
    ) -> bool:
        try:
            if isinstance(db, asyncpg.Connection):
                return await self.claim(db, calendar_event_id, conversation, start, end, parallel)
            async with db.acquire() as conn:
                return await self.claim(conn, calendar_event_id, conversation, start, end, parallel)
        except _Full:
            return False

    async def release(
        self, db: asyncpg.Pool | asyncpg.Connection, calendar_event_id: uuid.UUID
    ) -> None:
        await db.execute(
            "DELETE FROM analyzer_bookings WHERE calendar_event_id = $1", calendar_event_id
        )

    async def taken_between(
        self,
        db: asyncpg.Pool | asyncpg.Connection,
        start: datetime,
        end: datetime,
        *,
        except_event: uuid.UUID | None = None,
    ) -> list[Interval]:
        rows = await db.fetch(
            "SELECT during FROM analyzer_bookings WHERE during && tstzrange($1, $2)"
            " AND calendar_event_id IS DISTINCT FROM $3",
            start,
            end,
            except_event,
        )
        return [(r["during"].lower, r["during"].upper) for r in rows]

    async def taken_around(
        self, db: asyncpg.Pool | asyncpg.Connection, at: datetime, days: int
    ) -> list[Interval]:
        return await self.taken_between(db, at - timedelta(days=days), at + timedelta(days=days))

    async def with_booked_ends(
        self,
        db: asyncpg.Pool | asyncpg.Connection,
        events: Sequence[tuple[StoredCalendarEvent, datetime, datetime]],
    ) -> list[tuple[StoredCalendarEvent, datetime, datetime]]:
        """Events without a stated end end when their booking does (the service's length)."""
        rows = await db.fetch(
            "SELECT calendar_event_id, upper(during) AS ends FROM analyzer_bookings"
            " WHERE calendar_event_id = ANY($1::uuid[])",
            [e.calendar_event_id for e, _, _ in events],
        )
        ends = {r["calendar_event_id"]: r["ends"] for r in rows}
        return [
            (
                replace(e, end=ends[e.calendar_event_id])
                if e.end is None and e.calendar_event_id in ends
                else e,
                c,
                u,
            )
            for e, c, u in events
        ]


class _Full(Exception):
    """Every lane is taken at that time."""


@dataclass(frozen=True)
class ProfileVersion:
    version: str
    source: str


class ProfileStore:
    """The profile versions answered with, and when each became current."""

    async def record(
        self, db: asyncpg.Pool, loaded: LoadedProfile, effective_from: datetime
    ) -> uuid.UUID | None:
        """Make ``loaded`` the current version from ``effective_from``; its event id if new."""
        async with db.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE analyzer_business_profile_history IN EXCLUSIVE MODE")
            latest = await conn.fetchrow(
                "SELECT version, effective_from FROM analyzer_business_profile_history"
                " ORDER BY effective_from DESC, seq DESC LIMIT 1"
            )
            if latest is not None and latest["version"] == loaded.version:
                return None
            if latest is not None and effective_from < latest["effective_from"]:
                effective_from = latest["effective_from"]
            event_id = uuid.uuid4()
            await self._insert(conn, event_id, loaded, effective_from, published=False)
            return event_id

    async def remember(
        self, db: asyncpg.Pool, event_id: uuid.UUID, loaded: LoadedProfile, effective_from: datetime
    ) -> None:
        """A ``business.profile_loaded`` read back (a replay, a fresh database): known now."""
        async with db.acquire() as conn, conn.transaction():
            await self._insert(conn, event_id, loaded, effective_from, published=True)

    @staticmethod
    async def _insert(
        conn: asyncpg.Connection,
        event_id: uuid.UUID,
        loaded: LoadedProfile,
        effective_from: datetime,
        *,
        published: bool,
    ) -> None:
        await conn.execute(
            "INSERT INTO analyzer_business_profiles (version, name, source)"
            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            loaded.version,
            loaded.profile.name,
            loaded.source,
        )
        await conn.execute(
            "INSERT INTO analyzer_business_profile_history"
            " (version, effective_from, event_id, published) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (event_id) DO NOTHING",
            loaded.version,
            effective_from,
            event_id,
            published,
        )

    async def unpublished(
        self, db: asyncpg.Pool
    ) -> Sequence[tuple[uuid.UUID, str, str, str, datetime]]:
        rows = await db.fetch(
            "SELECT h.event_id, h.version, p.name, p.source, h.effective_from"
            " FROM analyzer_business_profile_history h JOIN analyzer_business_profiles p"
            " USING (version) WHERE NOT h.published ORDER BY h.seq"
        )
        return [tuple(r.values()) for r in rows]

    async def mark_published(self, db: asyncpg.Pool, event_id: uuid.UUID) -> None:
        await db.execute(
            "UPDATE analyzer_business_profile_history SET published = true WHERE event_id = $1",
            event_id,
        )

    async def version_at(self, db: asyncpg.Pool, at: datetime) -> ProfileVersion | None:
        """The version current at ``at`` (the earliest one for a time before them all)."""
        row = await db.fetchrow(
            "SELECT p.version, p.source FROM analyzer_business_profile_history h"
            " JOIN analyzer_business_profiles p USING (version)"
            " ORDER BY (h.effective_from <= $1) DESC,"
            " CASE WHEN h.effective_from <= $1 THEN h.effective_from END DESC,"
            " h.effective_from, h.seq DESC LIMIT 1",
            at,
        )
        return ProfileVersion(row["version"], row["source"]) if row else None


class AnsweredTasks:
    """Tasks the profile answered (``analyzer_answered_tasks``), kept out for good."""

    async def mark(
        self, db: asyncpg.Pool | asyncpg.Connection, conversation: str, keys: Sequence[str]
    ) -> None:
        await db.execute(
            "INSERT INTO analyzer_answered_tasks (conversation, key)"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            conversation,
            list(keys),
        )

    async def without_answered(
        self, db: asyncpg.Pool | asyncpg.Connection, conversation: str, tasks: list[FollowUpTask]
    ) -> list[FollowUpTask]:
        rows = await db.fetch(
            "SELECT key FROM analyzer_answered_tasks WHERE conversation = $1", conversation
        )
        answered = {r["key"] for r in rows}
        return [t for t in tasks if t.key not in answered]
