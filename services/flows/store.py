"""The flows service's tables (``migrations/001_flows.sql``). Methods take the caller's
connection, so a decision, the session it changes and the round it opens commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from hilo.erasure import ContactColumn
from services.flows.session import Session


@dataclass(frozen=True)
class StoredMessage:
    message_event_id: uuid.UUID
    contact: str
    kind: str
    text: str | None
    reply_id: str | None
    routed: bool
    routed_flow_id: str | None
    routed_reason: str | None


@dataclass(frozen=True)
class ApiCall:
    session_id: uuid.UUID
    round: int
    contact: str
    flow_id: str
    language: str
    payload: dict[str, Any]
    status: str
    attempts: int
    outcome: dict[str, Any] | None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class FlowStore:
    # --- sessions ------------------------------------------------------------------------

    async def lock_session(self, conn: asyncpg.Connection, contact: str) -> Session | None:
        """The contact's active session, its row locked until the transaction ends."""
        # One round trip: the upsert's update takes the row lock (a first contact gets a row).
        raw = await conn.fetchval(
            "INSERT INTO flow_contacts (contact) VALUES ($1) ON CONFLICT (contact) "
            "DO UPDATE SET contact = EXCLUDED.contact RETURNING session",
            contact,
        )
        return Session.model_validate(raw) if raw is not None else None

    async def save_session(
        self,
        conn: asyncpg.Connection,
        contact: str,
        session: Session | None,
        deadline: datetime | None,
    ) -> None:
        await conn.execute(
            "UPDATE flow_contacts SET session = $2::jsonb, deadline = $3, updated_at = now() "
            "WHERE contact = $1",
            contact,
            session.model_dump_json() if session is not None else None,
            deadline,
        )

    async def due(self, conn: asyncpg.Connection, limit: int) -> list[str]:
        rows = await conn.fetch(
            "SELECT contact FROM flow_contacts WHERE deadline <= now() ORDER BY deadline LIMIT $1",
            limit,
        )
        return [r["contact"] for r in rows]

    async def prune(self, conn: asyncpg.Connection, days: float) -> int:
        """Forget the texts of old inbound messages (personal data) past any redelivery."""
        status = await conn.execute(
            "DELETE FROM flow_messages WHERE received_at < now() - make_interval(days => $1)",
            int(days),
        )
        return int(status.split()[-1])

    # --- inbound messages ------------------------------------------------------------------

    async def keep_message(
        self,
        conn: asyncpg.Connection,
        message_event_id: uuid.UUID,
        contact: str,
        kind: str,
        text: str | None,
        reply_id: str | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO flow_messages (message_event_id, contact, kind, text, reply_id) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            message_event_id,
            contact,
            kind,
            text,
            reply_id,
        )

    async def recent_texts(self, conn: asyncpg.Connection, contact: str, limit: int) -> list[str]:
        rows = await conn.fetch(
            "SELECT text FROM flow_messages WHERE contact = $1 AND text IS NOT NULL "
            "ORDER BY received_at DESC LIMIT $2",
            contact,
            limit,
        )
        return [r["text"] for r in rows]

    async def transcribed(
        self, conn: asyncpg.Connection, message_event_id: uuid.UUID, contact: str, text: str
    ) -> StoredMessage:
        row = await conn.fetchrow(
            "INSERT INTO flow_messages (message_event_id, contact, kind, text) "
            "VALUES ($1, $2, 'audio', $3) ON CONFLICT (message_event_id) "
            "DO UPDATE SET text = EXCLUDED.text RETURNING *",
            message_event_id,
            contact,
            text,
        )
        return _message(row)

    async def mark_routed(
        self,
        conn: asyncpg.Connection,
        message_event_id: uuid.UUID,
        flow_id: str | None,
        reason: str,
    ) -> StoredMessage | None:
        row = await conn.fetchrow(
            "UPDATE flow_messages SET routed = true, routed_flow_id = $2, routed_reason = $3 "
            "WHERE message_event_id = $1 RETURNING *",
            message_event_id,
            flow_id,
            reason,
        )
        return _message(row) if row is not None else None

    # --- the outside API's rounds ----------------------------------------------------------

    async def open_round(
        self,
        conn: asyncpg.Connection,
        session: Session,
        contact: str,
        payload: dict[str, Any],
    ) -> None:
        await conn.execute(
            "INSERT INTO flow_api_calls (session_id, round, contact, flow_id, language, payload) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING",
            session.session_id,
            session.round,
            contact,
            session.flow_id,
            session.language,
            _json(payload),
        )

    async def claim_round(
        self, conn: asyncpg.Connection, session_id: uuid.UUID, round_: int, lease: float
    ) -> ApiCall | None:
        """The round for this process alone for ``lease`` seconds (or None: another has it)."""
        row = await conn.fetchrow(
            "UPDATE flow_api_calls SET claimed_until = now() + make_interval(secs => $3), "
            "updated_at = now() WHERE session_id = $1 AND round = $2 AND NOT applied "
            "AND (claimed_until IS NULL OR claimed_until < now()) RETURNING *",
            session_id,
            round_,
            lease,
        )
        return _call(row) if row is not None else None

    async def count_attempt(
        self, conn: asyncpg.Connection, session_id: uuid.UUID, round_: int, lease: float
    ) -> None:
        await conn.execute(
            "UPDATE flow_api_calls SET attempts = attempts + 1, updated_at = now(), "
            "claimed_until = now() + make_interval(secs => $3) "
            "WHERE session_id = $1 AND round = $2",
            session_id,
            round_,
            lease,
        )

    async def settle_round(
        self,
        conn: asyncpg.Connection,
        session_id: uuid.UUID,
        round_: int,
        status: str,
        outcome: dict[str, Any],
    ) -> None:
        await conn.execute(
            "UPDATE flow_api_calls SET status = $3, outcome = $4::jsonb, updated_at = now() "
            "WHERE session_id = $1 AND round = $2",
            session_id,
            round_,
            status,
            _json(outcome),
        )

    async def mark_applied(
        self, conn: asyncpg.Connection, session_id: uuid.UUID, round_: int
    ) -> None:
        await conn.execute(
            "UPDATE flow_api_calls SET applied = true, claimed_until = NULL, updated_at = now() "
            "WHERE session_id = $1 AND round = $2",
            session_id,
            round_,
        )

    async def stalled_rounds(self, conn: asyncpg.Connection) -> list[tuple[uuid.UUID, int]]:
        """Rounds nobody is working on (a crashed process's), to finish."""
        rows = await conn.fetch(
            "SELECT session_id, round FROM flow_api_calls WHERE NOT applied "
            "AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY created_at LIMIT 50"
        )
        return [(r["session_id"], r["round"]) for r in rows]


def _message(row: asyncpg.Record) -> StoredMessage:
    return StoredMessage(
        message_event_id=row["message_event_id"],
        contact=row["contact"],
        kind=row["kind"],
        text=row["text"],
        reply_id=row["reply_id"],
        routed=row["routed"],
        routed_flow_id=row["routed_flow_id"],
        routed_reason=row["routed_reason"],
    )


def _call(row: asyncpg.Record) -> ApiCall:
    return ApiCall(
        session_id=row["session_id"],
        round=row["round"],
        contact=row["contact"],
        flow_id=row["flow_id"],
        language=row["language"],
        payload=row["payload"],
        status=row["status"],
        attempts=row["attempts"],
        outcome=row["outcome"],
    )


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (
    ContactColumn("flow_contacts", "contact"),
    ContactColumn("flow_messages", "contact"),
    ContactColumn("flow_api_calls", "contact"),
)
