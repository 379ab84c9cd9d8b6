"""The tables of the opener that waits for a call's analysis (migrations/002_…)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.voice_bridge.opener import CallContext


@dataclass(frozen=True)
class CallAnalysis:
    pending: tuple[str, ...]
    next_steps: tuple[str, ...]


@dataclass(frozen=True)
class HeldOpener:
    call_id: str
    conversation: str
    cause_event_id: Any
    correlation_id: Any
    context: CallContext
    opener_text: str


def _items(value: Any) -> tuple[str, ...]:
    """A jsonb list, decoded by the pool's codec or still as text."""
    items = json.loads(value) if isinstance(value, str | bytes) else value
    return tuple(str(i) for i in items or ())


def _held(row: Any) -> HeldOpener:
    return HeldOpener(
        call_id=row["call_id"],
        conversation=row["conversation"],
        cause_event_id=row["cause_event_id"],
        correlation_id=row["correlation_id"] or row["cause_event_id"],
        context=CallContext.from_json(row["context"]),
        opener_text=row["opener_text"],
    )


class OpenerStore:
    """Each method runs on the pool it is given; the claims are single statements, so two
    releasers (the analysis arriving, the deadline passing) never both win one opener."""

    @staticmethod
    async def remember_analysis(
        db: asyncpg.Pool, call_id: str, conversation: str, analysis: CallAnalysis
    ) -> None:
        await db.execute(
            "INSERT INTO voice_bridge_call_analyses (call_id, conversation, pending, next_steps)"
            " VALUES ($1, $2, $3::jsonb, $4::jsonb) ON CONFLICT (call_id) DO NOTHING",
            call_id,
            conversation,
            json.dumps(list(analysis.pending)),
            json.dumps(list(analysis.next_steps)),
        )

    @staticmethod
    async def analysis_of(db: asyncpg.Pool, call_id: str) -> CallAnalysis | None:
        row = await db.fetchrow(
            "SELECT pending, next_steps FROM voice_bridge_call_analyses WHERE call_id = $1",
            call_id,
        )
        if row is None:
            return None
        return CallAnalysis(_items(row["pending"]), _items(row["next_steps"]))

    @staticmethod
    async def hold(
        db: asyncpg.Pool, call_id: str, until: datetime, correlation_id: uuid.UUID
    ) -> None:
        """The handoff's opener waits (once: a redelivered call keeps the first deadline)."""
        await db.execute(
            "UPDATE voice_bridge_handoffs SET opener_due_at = $2, correlation_id = $3"
            " WHERE call_id = $1 AND published_at IS NULL AND opener_due_at IS NULL"
            " AND opener_released_at IS NULL",
            call_id,
            until,
            correlation_id,
        )

    @staticmethod
    async def is_held(db: asyncpg.Pool, call_id: str) -> bool:
        """Held now, or held once (then the release, not the call, sends the opener)."""
        value = await db.fetchval(
            "SELECT opener_due_at IS NOT NULL OR opener_released_at IS NOT NULL"
            " FROM voice_bridge_handoffs WHERE call_id = $1",
            call_id,
        )
        return bool(value)

    @staticmethod
    async def release(
        db: asyncpg.Pool, call_id: str, context: CallContext | None, opener_text: str | None
    ) -> HeldOpener | None:
        """Claims a held opener (with new words, if given); None if not held any more."""
        row = await db.fetchrow(
            "UPDATE voice_bridge_handoffs SET opener_due_at = NULL, opener_released_at = now(),"
            " context = COALESCE($2::jsonb, context), opener_text = COALESCE($3, opener_text)"
            " WHERE call_id = $1 AND opener_due_at IS NOT NULL AND published_at IS NULL"
            " RETURNING *",
            call_id,
            json.dumps(context.as_json()) if context else None,
            opener_text,
        )
        return _held(row) if row else None

    @staticmethod
    async def overdue(db: asyncpg.Pool, now: datetime) -> list[str]:
        rows = await db.fetch(
            "SELECT call_id FROM voice_bridge_handoffs"
            " WHERE published_at IS NULL AND opener_due_at <= $1 LIMIT 500",
            now,
        )
        return [r["call_id"] for r in rows]

    @staticmethod
    async def released_unpublished(db: asyncpg.Pool, before: datetime) -> list[HeldOpener]:
        """Openers claimed but never published (a crash in between): sent as claimed."""
        rows = await db.fetch(
            "SELECT * FROM voice_bridge_handoffs WHERE published_at IS NULL"
            " AND opener_released_at < $1 LIMIT 500",
            before,
        )
        return [_held(r) for r in rows]
