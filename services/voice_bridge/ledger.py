"""The bridge's tables (see migrations/001_voice_bridge.sql): handoffs, modes, replies, messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hilo.erasure import ContactColumn
from services.voice_bridge.context import ChatLine
from services.voice_bridge.opener import CallContext


@dataclass(frozen=True)
class Handoff:
    call_id: str
    conversation: str
    cause_event_id: uuid.UUID
    outcome: str
    context: CallContext | None
    opener_text: str | None
    published: bool


@dataclass(frozen=True)
class Question:
    """An inbound message the agent must answer, and (once answered) its answer."""

    message_event_id: uuid.UUID
    conversation: str
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    question: str
    asked_at: datetime
    language: str | None
    reply_event_id: uuid.UUID
    reply_id: uuid.UUID
    call_id: str | None = None
    attempts: int = 0
    text: str | None = None
    outcome: str | None = None
    failure_reason: str | None = None
    published: bool = False


def _handoff(row: Any) -> Handoff:
    context = row["context"]
    return Handoff(
        call_id=row["call_id"],
        conversation=row["conversation"],
        cause_event_id=row["cause_event_id"],
        outcome=row["outcome"],
        context=CallContext.from_json(context) if context else None,
        opener_text=row["opener_text"],
        published=row["published_at"] is not None,
    )


async def claim_handoff(
    db: asyncpg.Pool,
    *,
    call_id: str,
    conversation: str,
    cause_event_id: uuid.UUID,
    outcome: str,
    context: CallContext | None,
    opener_text: str | None,
) -> Handoff:
    """The call's handoff row: this one if the call is new, the first one otherwise."""
    async with db.acquire() as conn:
        await conn.execute(
            "INSERT INTO voice_bridge_handoffs"
            " (call_id, conversation, cause_event_id, outcome, context, opener_text)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (call_id) DO NOTHING",
            call_id,
            conversation,
            cause_event_id,
            outcome,
            json.dumps(context.as_json() if context else {}),
            opener_text,
        )
        row = await conn.fetchrow("SELECT * FROM voice_bridge_handoffs WHERE call_id = $1", call_id)
    return _handoff(row)


async def mark_handoff_published(db: asyncpg.Pool, call_id: str) -> bool:
    """Claim the handoff's one publication (in the caller's transaction); False if taken."""
    status = await db.execute(
        "UPDATE voice_bridge_handoffs SET published_at = now()"
        " WHERE call_id = $1 AND published_at IS NULL",
        call_id,
    )
    return bool(status == "UPDATE 1")


async def stored_handoff(db: asyncpg.Pool, call_id: str) -> Handoff | None:
    row = await db.fetchrow("SELECT * FROM voice_bridge_handoffs WHERE call_id = $1", call_id)
    return _handoff(row) if row else None


async def known_calls(db: asyncpg.Pool, call_ids: list[str]) -> set[str]:
    rows = await db.fetch(
        "SELECT call_id FROM voice_bridge_handoffs WHERE call_id = ANY($1::text[])", call_ids
    )
    return {r["call_id"] for r in rows}


async def call_context(db: asyncpg.Pool, call_id: str | None) -> CallContext | None:
    if call_id is None:
        return None
    row = await db.fetchrow(
        "SELECT * FROM voice_bridge_handoffs WHERE call_id = $1 AND outcome = 'handed_off'",
        call_id,
    )
    return _handoff(row).context if row else None


# --- inbound messages, until routed -------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    message_event_id: uuid.UUID
    conversation: str
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    text: str | None
    language: str | None
    at: datetime
    routed_to_agent: bool
    call_id: str | None


async def remember_inbound(
    db: asyncpg.Pool,
    *,
    message_event_id: uuid.UUID,
    conversation: str,
    correlation_id: uuid.UUID,
    text: str | None,
    at: datetime,
) -> Inbound:
    """The message as it stands: its routing may have come first (a crash reorders them)."""
    row = await db.fetchrow(
        "INSERT INTO voice_bridge_inbound (message_event_id, conversation, cause_event_id,"
        " correlation_id, text, at) VALUES ($1, $2, $1, $3, $4, $5)"
        " ON CONFLICT (message_event_id) DO UPDATE SET"
        " text = COALESCE(voice_bridge_inbound.text, EXCLUDED.text), at = EXCLUDED.at,"
        " correlation_id = EXCLUDED.correlation_id RETURNING *",
        message_event_id,
        conversation,
        correlation_id,
        text,
        at,
    )
    return _inbound(row)


async def hear_transcript(
    db: asyncpg.Pool,
    *,
    message_event_id: uuid.UUID,
    cause_event_id: uuid.UUID,
    text: str,
    language: str | None,
) -> Inbound | None:
    """A voice note's words; the message as it stands now (None if never seen)."""
    row = await db.fetchrow(
        "UPDATE voice_bridge_inbound SET text = $2, language = $3, cause_event_id = $4"
        " WHERE message_event_id = $1 AND text IS NULL RETURNING *",
        message_event_id,
        text,
        language,
        cause_event_id,
    )
    return _inbound(row) if row else None


async def route_to_agent(
    db: asyncpg.Pool,
    *,
    message_event_id: uuid.UUID,
    conversation: str,
    correlation_id: uuid.UUID,
    at: datetime,
    call_id: str | None,
) -> Inbound:
    """Mark the message the agent's (kept even before the message itself arrives)."""
    row = await db.fetchrow(
        "INSERT INTO voice_bridge_inbound (message_event_id, conversation, cause_event_id,"
        " correlation_id, at, routed_to_agent, call_id) VALUES ($1, $2, $1, $3, $4, true, $5)"
        " ON CONFLICT (message_event_id) DO UPDATE SET routed_to_agent = true,"
        " call_id = EXCLUDED.call_id RETURNING *",
        message_event_id,
        conversation,
        correlation_id,
        at,
        call_id,
    )
    return _inbound(row)


def _inbound(row: Any) -> Inbound:
    values = dict(row)
    values.pop("created_at", None)
    return Inbound(**values)


async def withdraw_questions(db: asyncpg.Pool, conversation: str) -> int:
    """The agent no longer holds the conversation: questions it has not answered are not its."""
    status = await db.execute(
        "UPDATE voice_bridge_replies SET published_at = now(), outcome = 'withdrawn'"
        " WHERE conversation = $1 AND published_at IS NULL AND text IS NULL",
        conversation,
    )
    return int(status.split()[-1])


_QUESTION_COLUMNS = (
    "message_event_id, conversation, cause_event_id, correlation_id, question, asked_at,"
    " language, reply_event_id, reply_id, call_id, attempts, text, outcome, failure_reason,"
    " published_at IS NOT NULL AS published"
)


def _question(row: Any) -> Question:
    return Question(**dict(row))


async def queue_question(db: asyncpg.Pool, question: Question) -> bool:
    """Queue the question unless it is known; True when it is new."""
    status = await db.execute(
        "INSERT INTO voice_bridge_replies (message_event_id, conversation, cause_event_id,"
        " correlation_id, question, asked_at, language, reply_event_id, reply_id, call_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        question.message_event_id,
        question.conversation,
        question.cause_event_id,
        question.correlation_id,
        question.question,
        question.asked_at,
        question.language,
        question.reply_event_id,
        question.reply_id,
        question.call_id,
    )
    return bool(status == "INSERT 0 1")


async def stored_question(db: asyncpg.Pool, message_event_id: uuid.UUID) -> Question | None:
    row = await db.fetchrow(
        f"SELECT {_QUESTION_COLUMNS} FROM voice_bridge_replies WHERE message_event_id = $1",
        message_event_id,
    )
    return _question(row) if row else None


async def next_unpublished(db: asyncpg.Pool, conversation: str) -> Question | None:
    row = await db.fetchrow(
        f"SELECT {_QUESTION_COLUMNS} FROM voice_bridge_replies"
        " WHERE conversation = $1 AND published_at IS NULL"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= now()) ORDER BY position LIMIT 1",
        conversation,
    )
    return _question(row) if row else None


async def conversations_waiting(db: asyncpg.Pool) -> list[str]:
    rows = await db.fetch(
        "SELECT DISTINCT conversation FROM voice_bridge_replies WHERE published_at IS NULL"
    )
    return [r["conversation"] for r in rows]


async def record_answer(
    db: asyncpg.Pool, message_event_id: uuid.UUID, text: str, outcome: str, reason: str | None
) -> Question:
    """Keep the answer; an answer kept earlier (by a worker that died before publishing) wins."""
    row = await db.fetchrow(
        "UPDATE voice_bridge_replies SET text = COALESCE(text, $2),"
        " outcome = COALESCE(outcome, $3), failure_reason = COALESCE(failure_reason, $4),"
        " answered_at = COALESCE(answered_at, now())"
        f" WHERE message_event_id = $1 RETURNING {_QUESTION_COLUMNS}",
        message_event_id,
        text,
        outcome,
        reason,
    )
    return _question(row)


async def mark_reply_published(db: asyncpg.Pool, question: Question) -> bool:
    """The reply goes out (in the caller's transaction, with its outbox row): remember it as
    the agent's line of the chat, and never send it again. False if it was withdrawn."""
    status = await db.execute(
        "WITH line AS (INSERT INTO voice_bridge_messages (conversation, event_id, role, text, at)"
        " VALUES ($2, $3, 'agent', $4, now()) ON CONFLICT DO NOTHING)"
        " UPDATE voice_bridge_replies SET published_at = now()"
        " WHERE message_event_id = $1 AND published_at IS NULL",
        question.message_event_id,
        question.conversation,
        question.reply_event_id,
        question.text or "",
    )
    return bool(status == "UPDATE 1")


async def question_failed(
    db: asyncpg.Pool, question: Question, error: str, retry_in: float | None
) -> None:
    """Count a failed attempt; with no ``retry_in`` the question is given up."""
    await db.execute(
        "UPDATE voice_bridge_replies SET attempts = attempts + 1, failure_reason = $2,"
        " next_attempt_at = CASE WHEN $3::float8 IS NULL THEN NULL"
        " ELSE now() + make_interval(secs => $3::float8) END,"
        " published_at = CASE WHEN $3::float8 IS NULL THEN now() END,"
        " outcome = CASE WHEN $3::float8 IS NULL THEN 'dead' ELSE outcome END"
        " WHERE message_event_id = $1 AND published_at IS NULL",
        question.message_event_id,
        error[:1000],
        retry_in,
    )


async def add_line(
    db: asyncpg.Pool, conversation: str, event_id: uuid.UUID, role: str, text: str, at: datetime
) -> None:
    await db.execute(
        "INSERT INTO voice_bridge_messages (conversation, event_id, role, text, at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        conversation,
        event_id,
        role,
        text,
        at,
    )


async def recent_lines(
    db: asyncpg.Pool, conversation: str, limit: int, *, excluding: uuid.UUID | None = None
) -> list[ChatLine]:
    if limit <= 0:
        return []
    rows = await db.fetch(
        "SELECT role, text FROM voice_bridge_messages"
        " WHERE conversation = $1 AND event_id IS DISTINCT FROM $2"
        " ORDER BY at DESC LIMIT $3",
        conversation,
        excluding,
        limit,
    )
    return [ChatLine(r["role"], r["text"]) for r in reversed(rows)]


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (
    ContactColumn("voice_bridge_handoffs", "conversation"),
    ContactColumn("voice_bridge_replies", "conversation"),
    ContactColumn("voice_bridge_messages", "conversation"),
    ContactColumn("voice_bridge_inbound", "conversation"),
    ContactColumn("voice_bridge_call_analyses", "conversation"),
)
