"""The analyzer's tables (migrations/001_analyzer.sql): contacts, messages, inbox, calendar."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from hilo.business_time import zone_or_utc
from hilo.erasure import ContactColumn
from services.analyzer.burst import InboxRow
from services.analyzer.diff import StoredCalendarEvent, StoredTask
from services.analyzer.models import ConversationMessage

# --- contacts -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    conversation: str
    contact_name: str | None = None
    business_number: str | None = None
    call_summary: str | None = None


async def note_call(
    db: asyncpg.Pool, conversation: str, call_id: str, summary: str, at: datetime
) -> None:
    await db.execute(
        "INSERT INTO analyzer_contacts (conversation, call_summary, call_id, call_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (conversation) DO UPDATE SET"
        " call_summary = EXCLUDED.call_summary, call_id = EXCLUDED.call_id,"
        " call_at = EXCLUDED.call_at, updated_at = now() WHERE analyzer_contacts.call_at IS NULL"
        " OR analyzer_contacts.call_at <= EXCLUDED.call_at",
        conversation,
        summary,
        call_id,
        at,
    )


async def contact(db: asyncpg.Pool, conversation: str) -> ContactRow:
    row = await db.fetchrow(
        "SELECT conversation, contact_name, business_number, call_summary"
        " FROM analyzer_contacts WHERE conversation = $1",
        conversation,
    )
    return ContactRow(**dict(row)) if row else ContactRow(conversation)


# --- messages -------------------------------------------------------------------------


async def add_message(
    db: asyncpg.Pool,
    *,
    message_id: uuid.UUID,
    conversation: str,
    direction: str,
    at: datetime,
    text: str,
    source: str = "text",
    audio_pending: bool = False,
) -> None:
    await db.execute(
        "INSERT INTO analyzer_messages"
        " (message_id, conversation, direction, at, text, source, audio_pending)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING",
        message_id,
        conversation,
        direction,
        at,
        text,
        source,
        audio_pending,
    )


async def add_transcript(
    db: asyncpg.Pool, *, message_id: uuid.UUID, conversation: str, at: datetime, text: str
) -> None:
    """The voice note's words replace the pending audio (or stand alone if it was unseen)."""
    await db.execute(
        "INSERT INTO analyzer_messages"
        " (message_id, conversation, direction, at, text, source)"
        " VALUES ($1, $2, 'inbound', $3, $4, 'voice_note') ON CONFLICT (message_id) DO UPDATE"
        " SET text = EXCLUDED.text, source = 'voice_note', audio_pending = false,"
        " audio_failed = false",
        message_id,
        conversation,
        at,
        text,
    )


async def audio_failed(db: asyncpg.Pool, message_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE analyzer_messages SET audio_pending = false, audio_failed = true"
        " WHERE message_id = $1 AND source <> 'voice_note'",
        message_id,
    )


async def messages_up_to(
    db: asyncpg.Pool, conversation: str, message_ids: Sequence[uuid.UUID], limit: int
) -> list[ConversationMessage]:
    """Both directions, up to the last of ``message_ids`` as recorded, newest ``limit``."""
    rows = await db.fetch(
        "SELECT message_id, direction, at, text, source FROM analyzer_messages"
        " WHERE conversation = $1 AND text <> '' AND seq <= (SELECT max(seq)"
        " FROM analyzer_messages WHERE message_id = ANY($2::uuid[]))"
        " ORDER BY at DESC, seq DESC LIMIT $3",
        conversation,
        list(message_ids),
        limit,
    )
    return [
        ConversationMessage(
            id=str(r["message_id"]),
            direction=r["direction"],
            at=r["at"],
            text=r["text"],
            source=r["source"],
        )
        for r in reversed(rows)
    ]


# --- inbox ----------------------------------------------------------------------------

_INBOX_COLUMNS = (
    "i.trigger_id, i.seq, i.conversation, i.message_id, i.cause_event_id, i.correlation_id,"
    " i.reply_wanted, i.routed, i.attempts, i.next_attempt_at, i.queued_at, i.burst_id,"
    " CASE WHEN m.audio_pending THEN m.received_at END AS audio_pending_since,"
    " COALESCE(m.audio_failed, false) AS audio_failed"
)


async def record_message(
    db: asyncpg.Pool,
    *,
    message_id: uuid.UUID,
    conversation: str,
    at: datetime,
    text: str,
    audio_pending: bool,
    contact_name: str | None,
    business_number: str | None,
    correlation_id: uuid.UUID,
    answerable: bool,
    queued_at: datetime,
) -> None:
    """Contact, message and inbox row in one round trip (the hot path of every message).

    The row waits for the router's decision (``routed``); the reply is wanted if the
    router gives the message to the analyzer and the message is ``answerable`` (not a
    replay, not stale). A known message (redelivery, replay) changes nothing.
    """
    await db.execute(
        "WITH contact AS (INSERT INTO analyzer_contacts (conversation, contact_name,"
        " business_number) VALUES ($2, $6, $7) ON CONFLICT (conversation) DO UPDATE SET"
        " contact_name = COALESCE(EXCLUDED.contact_name, analyzer_contacts.contact_name),"
        " business_number = COALESCE(EXCLUDED.business_number,"
        " analyzer_contacts.business_number), updated_at = now() RETURNING 1),"
        " route AS (SELECT answerer FROM analyzer_routes WHERE message_id = $1),"
        " message AS (INSERT INTO analyzer_messages"
        " (message_id, conversation, direction, at, text, audio_pending, answerer)"
        " VALUES ($1, $2, 'inbound', $3, $4, $5, (SELECT answerer FROM route))"
        " ON CONFLICT (message_id) DO NOTHING)"
        " INSERT INTO analyzer_inbox (trigger_id, conversation, message_id, cause_event_id,"
        " correlation_id, reply_wanted, routed, queued_at)"
        " SELECT $1, $2, $1, $1, $8,"
        " $9 AND COALESCE((SELECT answerer FROM route) = 'analyzer', true),"
        " EXISTS (SELECT 1 FROM route), $10 FROM contact"
        " ON CONFLICT DO NOTHING",
        message_id,
        conversation,
        at,
        text,
        audio_pending,
        contact_name,
        business_number,
        correlation_id,
        answerable,
        queued_at,
    )


async def queue(
    db: asyncpg.Pool,
    *,
    trigger_id: uuid.UUID,
    conversation: str,
    message_id: uuid.UUID,
    cause_event_id: uuid.UUID,
    correlation_id: uuid.UUID,
    reply_wanted: bool,
    queued_at: datetime,
) -> bool:
    """Queue a trigger unless known (a redelivery or replay); True when it is new."""
    status = await db.execute(
        "INSERT INTO analyzer_inbox (trigger_id, conversation, message_id, cause_event_id,"
        " correlation_id, reply_wanted, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING",
        trigger_id,
        conversation,
        message_id,
        cause_event_id,
        correlation_id,
        reply_wanted,
        queued_at,
    )
    return bool(status == "INSERT 0 1")


async def apply_routing(db: asyncpg.Pool, message_id: uuid.UUID, answerer: str) -> bool:
    """The router's decision for a message; True when it came after the message was analysed.

    An open row learns whether its reply is wanted; a row already analysed (the routing
    waited longer than the analyzer) is left alone and the caller queues the answer anew;
    a message not seen yet (a crash reordered them) finds the decision when it comes.
    """
    row = await db.fetchrow(
        "WITH route AS (INSERT INTO analyzer_routes (message_id, answerer) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING),"
        " message AS (UPDATE analyzer_messages SET answerer = $2 WHERE message_id = $1"
        " RETURNING 1), inbox AS (UPDATE analyzer_inbox SET routed = true,"
        " reply_wanted = reply_wanted AND $2 = 'analyzer'"
        " WHERE message_id = $1 AND NOT routed AND processed_at IS NULL RETURNING 1)"
        " SELECT (SELECT count(*) FROM inbox) AS opened, EXISTS (SELECT 1 FROM analyzer_inbox"
        " WHERE message_id = $1 AND processed_at IS NOT NULL AND NOT routed) AS late",
        message_id,
        answerer,
    )
    if row["late"]:
        await db.execute(
            "UPDATE analyzer_inbox SET routed = true WHERE message_id = $1 AND NOT routed",
            message_id,
        )
    return bool(row["late"])


async def message_answerer(db: asyncpg.Pool, message_id: uuid.UUID) -> str | None:
    value = await db.fetchval(
        "SELECT answerer FROM analyzer_messages WHERE message_id = $1", message_id
    )
    return str(value) if value is not None else None


async def withdraw_replies(db: asyncpg.Pool, conversation: str) -> None:
    """Another component holds the conversation now: replies not yet sent are not ours."""
    await db.execute(
        "UPDATE analyzer_inbox SET reply_wanted = false"
        " WHERE conversation = $1 AND processed_at IS NULL AND reply_wanted",
        conversation,
    )


async def message_processed(db: asyncpg.Pool, message_id: uuid.UUID) -> bool:
    """Whether the message was analysed already (its voice note's transcript comes late)."""
    value = await db.fetchval(
        "SELECT bool_and(processed_at IS NOT NULL) FROM analyzer_inbox WHERE message_id = $1",
        message_id,
    )
    return bool(value)


async def open_burst(db: asyncpg.Pool, conversation: str) -> list[InboxRow]:
    """Every open row of the conversation: the next burst, once it is ready."""
    rows = await db.fetch(
        f"SELECT {_INBOX_COLUMNS} FROM analyzer_inbox i"
        " LEFT JOIN analyzer_messages m ON m.message_id = i.message_id"
        " WHERE i.conversation = $1 AND i.processed_at IS NULL ORDER BY i.seq",
        conversation,
    )
    return [InboxRow(**dict(r)) for r in rows]


async def claim_burst(db: asyncpg.Pool, rows: Sequence[InboxRow], burst: uuid.UUID) -> bool:
    """Mark the burst's rows processed (in the caller's transaction, which then writes its
    results); False when another worker got to any of them first (a replica that took the
    conversation over): the caller rolls back and looks again."""
    claimed = await db.fetch(
        "UPDATE analyzer_inbox SET processed_at = now(), burst_id = $2"
        " WHERE trigger_id = ANY($1::uuid[]) AND processed_at IS NULL RETURNING trigger_id",
        [r.trigger_id for r in rows],
        burst,
    )
    return len(claimed) == len(rows)


async def mark_replied(db: asyncpg.Pool, burst: uuid.UUID) -> None:
    await db.execute("UPDATE analyzer_inbox SET replied = true WHERE burst_id = $1", burst)


async def burst_failed(
    db: asyncpg.Pool, rows: Sequence[InboxRow], error: str, retry_in: float | None
) -> None:
    """Count a failed attempt; with no ``retry_in`` the rows are given up (dead work)."""
    await db.execute(
        "UPDATE analyzer_inbox SET attempts = attempts + 1, last_error = $2,"
        " next_attempt_at = CASE WHEN $3::float8 IS NULL THEN NULL"
        " ELSE now() + make_interval(secs => $3::float8) END,"
        " processed_at = CASE WHEN $3::float8 IS NULL THEN now() END"
        " WHERE trigger_id = ANY($1::uuid[]) AND processed_at IS NULL",
        [r.trigger_id for r in rows],
        error[:1000],
        retry_in,
    )


async def conversations_waiting(db: asyncpg.Pool) -> list[str]:
    rows = await db.fetch(
        "SELECT DISTINCT conversation FROM analyzer_inbox WHERE processed_at IS NULL"
    )
    return [r["conversation"] for r in rows]


# --- calendar and tasks -------------------------------------------------------------------


def _stored_event(row: Any) -> StoredCalendarEvent:
    # PostgreSQL gives instants back in UTC: in the event's own zone, a reply says "a las 10"
    # for an event at 10:00 Madrid time, not "a las 09:00".
    zone = zone_or_utc(row["timezone"])
    start: datetime | date = (
        row["start_at"].astimezone(zone) if row["start_at"] is not None else row["start_date"]
    )
    end: datetime | None = row["end_at"].astimezone(zone) if row["end_at"] is not None else None
    return StoredCalendarEvent(
        calendar_event_id=row["calendar_event_id"],
        conversation=row["conversation"],
        key=row["key"],
        title=row["title"],
        start=start,
        end=end,
        timezone=row["timezone"],
        location=row["location"],
        kind=row["kind"],
        status=row["status"],
        sequence=row["sequence"],
        business_number=row["business_number"],
    )


async def stored_events(
    db: asyncpg.Pool, conversation: str
) -> dict[uuid.UUID, StoredCalendarEvent]:
    rows = await db.fetch(
        "SELECT * FROM analyzer_calendar_events WHERE conversation = $1", conversation
    )
    return {r["calendar_event_id"]: _stored_event(r) for r in rows}


async def save_event(db: asyncpg.Pool, event: StoredCalendarEvent) -> None:
    start_at = event.start if isinstance(event.start, datetime) else None
    start_date = None if isinstance(event.start, datetime) else event.start
    await db.execute(
        "INSERT INTO analyzer_calendar_events (calendar_event_id, conversation, business_number,"
        " key, title, start_at, start_date, end_at, timezone, location, kind, status, sequence)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        " ON CONFLICT (calendar_event_id) DO UPDATE SET"
        " business_number = COALESCE(analyzer_calendar_events.business_number,"
        " EXCLUDED.business_number), title = EXCLUDED.title, start_at = EXCLUDED.start_at,"
        " start_date = EXCLUDED.start_date, end_at = EXCLUDED.end_at,"
        " timezone = EXCLUDED.timezone, location = EXCLUDED.location, kind = EXCLUDED.kind,"
        " status = EXCLUDED.status, sequence = EXCLUDED.sequence, updated_at = now()"
        " WHERE analyzer_calendar_events.sequence < EXCLUDED.sequence",
        event.calendar_event_id,
        event.conversation,
        event.business_number,
        event.key,
        event.title,
        start_at,
        start_date,
        event.end,
        event.timezone,
        event.location,
        event.kind,
        event.status,
        event.sequence,
    )


async def calendar(
    db: asyncpg.Pool, business_number: str | None
) -> list[tuple[StoredCalendarEvent, datetime, datetime]]:
    """Every event (or a business's), with when it was created and last changed."""
    rows = await db.fetch(
        "SELECT * FROM analyzer_calendar_events WHERE $1::text IS NULL OR business_number = $1"
        " ORDER BY COALESCE(start_at, start_date::timestamptz), calendar_event_id",
        business_number,
    )
    return [(_stored_event(r), r["created_at"], r["updated_at"]) for r in rows]


async def business_known(db: asyncpg.Pool, business_number: str) -> bool:
    value = await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM analyzer_contacts WHERE business_number = $1)"
        " OR EXISTS (SELECT 1 FROM analyzer_calendar_events WHERE business_number = $1)",
        business_number,
    )
    return bool(value)


async def stored_tasks(db: asyncpg.Pool, conversation: str) -> dict[uuid.UUID, StoredTask]:
    rows = await db.fetch(
        "SELECT task_id, conversation, key, title, task_type, priority, due, status, revision,"
        " closed_by FROM analyzer_tasks WHERE conversation = $1",
        conversation,
    )
    return {r["task_id"]: StoredTask(**dict(r)) for r in rows}


async def save_task(db: asyncpg.Pool, task: StoredTask) -> None:
    await db.execute(
        "INSERT INTO analyzer_tasks (task_id, conversation, key, title, task_type, priority,"
        " due, status, revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (task_id) DO UPDATE SET title = EXCLUDED.title,"
        " task_type = EXCLUDED.task_type, priority = EXCLUDED.priority, due = EXCLUDED.due,"
        " status = EXCLUDED.status, revision = EXCLUDED.revision, updated_at = now()"
        " WHERE analyzer_tasks.revision < EXCLUDED.revision",
        task.task_id,
        task.conversation,
        task.key,
        task.title,
        task.task_type,
        task.priority,
        task.due,
        task.status,
        task.revision,
    )


async def person_set_task_status(
    db: asyncpg.Pool, task_id: uuid.UUID, status: str, operator: str
) -> None:
    """A person closed (or reopened) a task: the analyzer's diff leaves closed ones alone."""
    await db.execute(
        "UPDATE analyzer_tasks SET status = $2, updated_at = now(),"
        " closed_by = CASE WHEN $2 IN ('done', 'cancelled') THEN $3 ELSE NULL END"
        " WHERE task_id = $1",
        task_id,
        status,
        operator,
    )


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (
    ContactColumn("analyzer_contacts", "conversation"),
    ContactColumn("analyzer_messages", "conversation"),
    ContactColumn("analyzer_inbox", "conversation"),
    ContactColumn("analyzer_calendar_events", "conversation"),
    ContactColumn("analyzer_tasks", "conversation"),
    ContactColumn("analyzer_calls", "conversation"),
    ContactColumn("analyzer_bookings", "conversation"),
    ContactColumn("analyzer_handoffs", "conversation"),
    ContactColumn("analyzer_answered_tasks", "conversation"),
)
