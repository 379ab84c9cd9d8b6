"""The analyzer's table of calls (migrations/002_analyzer_calls.sql)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg


class CallStore:
    """Which inbox trigger is a call; the caller's pool or connection runs each query."""

    @staticmethod
    async def remember(
        db: asyncpg.Pool | asyncpg.Connection,
        *,
        trigger_id: uuid.UUID,
        call_id: str,
        conversation: str,
        call_at: datetime,
        turns: int,
    ) -> None:
        await db.execute(
            "INSERT INTO analyzer_calls (trigger_id, call_id, conversation, call_at, turns)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            trigger_id,
            call_id,
            conversation,
            call_at,
            turns,
        )

    @staticmethod
    async def calls_among(
        db: asyncpg.Pool | asyncpg.Connection, trigger_ids: Sequence[uuid.UUID]
    ) -> list[str]:
        """The ids of the calls that some of these inbox triggers stand for."""
        rows = await db.fetch(
            "SELECT call_id FROM analyzer_calls WHERE trigger_id = ANY($1::uuid[])"
            " ORDER BY call_at",
            list(trigger_ids),
        )
        return [r["call_id"] for r in rows]
