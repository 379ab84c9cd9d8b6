"""The transcriber's tables (migrations/001_transcriber.sql): the retention job's read model.

Every method takes the caller's connection, so the job can mark a recording and record its
expiry event (an outbox row) in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from hilo.privacy.codec import EventCodec
from hilo.privacy.sealing import Opened
from services.transcriber.retention import ANNOUNCING_TYPES, Recording, recording_from

_COLUMNS = (
    "source_event_id, correlation_id, recorded_at, message_event_id, call_id, audio_sha256,"
    " has_transcript"
)
# A due recording and the stored event that announced it (sealed: the job opens it for the
# conversation, which the table never keeps).
_DUE = (
    "SELECT r.source_event_id, r.correlation_id, r.recorded_at, r.message_event_id, r.call_id,"
    " r.audio_sha256, r.has_transcript, e.stream, e.data::text AS announced"
    " FROM transcriber_recordings r JOIN events e ON e.event_id = r.source_event_id"
)

# A due recording and the stored JSON of the event that announced it.
Due = tuple[Recording, dict[str, Any]]


def _due(row: asyncpg.Record) -> Due:
    fields = dict(row)
    announced = orjson.loads(fields.pop("announced"))
    return Recording(**fields), announced


class RecordingStore:
    async def catch_up(
        self, conn: asyncpg.Connection, codec: EventCodec, *, page: int = 1000
    ) -> int:
        """Read the announcing events after the checkpoint into the table; return how many.

        Store positions commit in order (gap-free), so following them misses nothing. Call
        it inside a transaction: the rows and the checkpoint move together. Events are
        opened first (a call's transcript is sealed); a forgotten contact's are skipped:
        forgetting deleted their files and keys already.
        """
        after = await conn.fetchval(
            "SELECT position FROM transcriber_retention_checkpoint FOR UPDATE"
        )
        # The head first: every position up to it has committed, and is read below.
        head = int(await conn.fetchval("SELECT position FROM event_store_head") or 0)
        total = 0
        while True:
            rows = await conn.fetch(
                "SELECT position, occurred_at, data::text FROM events"
                " WHERE position > $1 AND position <= $2 AND type = ANY($3::text[])"
                " ORDER BY position LIMIT $4",
                after,
                head,
                list(ANNOUNCING_TYPES),
                page,
            )
            if not rows:
                break
            opened = await codec.open_many([orjson.loads(r[2]) for r in rows])
            found = [
                recording_from(o.data, r[1])
                for o, r in zip(opened, rows, strict=True)
                if isinstance(o, Opened)
            ]
            await self._insert(conn, [r for r in found if r is not None])
            total += len(rows)
            after = rows[-1][0]
        await conn.execute(
            "UPDATE transcriber_retention_checkpoint SET position = GREATEST(position, $1)", head
        )
        return total

    async def _insert(self, conn: asyncpg.Connection, recordings: Sequence[Recording]) -> None:
        if not recordings:
            return
        await conn.executemany(
            f"INSERT INTO transcriber_recordings ({_COLUMNS})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [
                (
                    r.source_event_id,
                    r.correlation_id,
                    r.recorded_at,
                    r.message_event_id,
                    r.call_id,
                    r.audio_sha256,
                    r.has_transcript,
                )
                for r in recordings
            ],
        )

    async def audio_due(self, conn: asyncpg.Connection, before: datetime, limit: int) -> list[Due]:
        rows = await conn.fetch(
            f"{_DUE} WHERE r.audio_expired_at IS NULL AND r.audio_sha256 IS NOT NULL"
            " AND r.recorded_at < $1 ORDER BY r.recorded_at, r.source_event_id LIMIT $2",
            before,
            limit,
        )
        return [_due(r) for r in rows]

    async def transcripts_due(
        self, conn: asyncpg.Connection, before: datetime, limit: int
    ) -> list[Due]:
        rows = await conn.fetch(
            f"{_DUE} WHERE r.transcript_expired_at IS NULL AND r.has_transcript"
            " AND r.recorded_at < $1 ORDER BY r.recorded_at, r.source_event_id LIMIT $2",
            before,
            limit,
        )
        return [_due(r) for r in rows]

    async def still_needed(
        self, conn: asyncpg.Connection, sha256s: Sequence[str], before: datetime
    ) -> set[str]:
        """Of these files, those a recording still within the retention shares (the same
        bytes sent again: content addressing keeps one file for both)."""
        rows = await conn.fetch(
            "SELECT DISTINCT audio_sha256 FROM transcriber_recordings"
            " WHERE audio_sha256 = ANY($1::text[]) AND audio_expired_at IS NULL"
            " AND recorded_at >= $2",
            list(sha256s),
            before,
        )
        return {r[0] for r in rows}

    async def let_go(
        self, conn: asyncpg.Connection | asyncpg.Pool, message_event_id: uuid.UUID
    ) -> bool:
        """Whether retention let this voice note's audio or transcript go: a replay must not
        fetch it or transcribe it again."""
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM transcriber_recordings WHERE message_event_id = $1"
                " AND (audio_expired_at IS NOT NULL OR transcript_expired_at IS NOT NULL))",
                message_event_id,
            )
        )

    async def mark_audio_expired(
        self, conn: asyncpg.Connection, ids: Sequence[uuid.UUID], at: datetime
    ) -> set[uuid.UUID]:
        """Mark these recordings' audio expired; return those not marked before (the ones
        whose event is this transaction's to record)."""
        rows = await conn.fetch(
            "UPDATE transcriber_recordings SET audio_expired_at = $2"
            " WHERE source_event_id = ANY($1::uuid[]) AND audio_expired_at IS NULL"
            " RETURNING source_event_id",
            list(ids),
            at,
        )
        return {r[0] for r in rows}

    async def mark_transcripts_expired(
        self, conn: asyncpg.Connection, ids: Sequence[uuid.UUID], at: datetime
    ) -> set[uuid.UUID]:
        rows = await conn.fetch(
            "UPDATE transcriber_recordings SET transcript_expired_at = $2"
            " WHERE source_event_id = ANY($1::uuid[]) AND transcript_expired_at IS NULL"
            " RETURNING source_event_id",
            list(ids),
            at,
        )
        return {r[0] for r in rows}

    async def count_audio_due(self, conn: asyncpg.Connection, before: datetime) -> int:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM transcriber_recordings"
                " WHERE audio_expired_at IS NULL AND audio_sha256 IS NOT NULL AND recorded_at < $1",
                before,
            )
        )

    async def count_transcripts_due(self, conn: asyncpg.Connection, before: datetime) -> int:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM transcriber_recordings"
                " WHERE transcript_expired_at IS NULL AND has_transcript AND recorded_at < $1",
                before,
            )
        )
