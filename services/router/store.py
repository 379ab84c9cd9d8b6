"""The router's table (migrations/001_router.sql), used inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from hilo.erasure import ContactColumn
from services.router.routing import Holder

_COLUMNS = (
    "mode, mode_event_id, call_id, flow_id, session_id, operator, last_activity_at, expires_at"
)


class RouterStore:
    async def hold(self, conn: asyncpg.Connection, conversation: str) -> Holder:
        """The conversation's holder, locked until the transaction ends (one round trip: the
        upsert creates the default row or locks the existing one, and returns it)."""
        row = await conn.fetchrow(
            "INSERT INTO router_holders (conversation) VALUES ($1) ON CONFLICT (conversation)"
            f" DO UPDATE SET conversation = EXCLUDED.conversation RETURNING {_COLUMNS}",
            conversation,
        )
        return Holder(**dict(row))

    async def save(self, conn: asyncpg.Connection, conversation: str, holder: Holder) -> None:
        await conn.execute(
            "UPDATE router_holders SET mode = $2, mode_event_id = $3, call_id = $4, flow_id = $5,"
            " session_id = $6, operator = $7, last_activity_at = $8, expires_at = $9,"
            " updated_at = now() WHERE conversation = $1",
            conversation,
            holder.mode,
            holder.mode_event_id,
            holder.call_id,
            holder.flow_id,
            holder.session_id,
            holder.operator,
            holder.last_activity_at,
            holder.expires_at,
        )

    async def expired(self, conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> list[str]:
        rows = await conn.fetch(
            "SELECT conversation FROM router_holders WHERE expires_at <= $1"
            " ORDER BY expires_at LIMIT 500",
            now,
        )
        return [r["conversation"] for r in rows]

    async def in_event_store(self, conn: asyncpg.Connection, event_id: uuid.UUID) -> bool:
        """Whether a decision is already in the event store (the router's rows were lost)."""
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)", event_id
            )
        )


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (ContactColumn("router_holders", "conversation"),)
