"""Reads of the read models (``proj_inbox_*``, ``proj_conversations``, ``proj_flow_sessions``).

Every list is a keyset page over an index; nothing here scans the event store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from services.inbox import cursors

SUMMARY_COLUMNS = (
    "contact, name, last_message_at, last_text, unread, mode, sentiment, open_tasks, channel,"
    " channels, opted_out"
)
TASK_COLUMNS = (
    "task_id, contact, title, type, priority, due, status, assignee, closed_by, created_at,"
    " updated_at"
)


@dataclass(frozen=True)
class ConversationFilter:
    query: str | None = None  # a tsquery (services.inbox.search)
    channel: str | None = None
    mode: str | None = None
    unread: bool | None = None
    has_tasks: bool | None = None
    sentiment: str | None = None


class Where:
    """WHERE clauses with numbered parameters, built up one condition at a time."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *values: Any) -> None:
        for value in values:
            self.params.append(value)
            sql = sql.replace("?", f"${len(self.params)}", 1)
        self.conditions.append(sql)

    @property
    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.conditions)) if self.conditions else ""

    def limit(self, n: int) -> str:
        self.params.append(n)
        return f" LIMIT ${len(self.params)}"


def _datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


async def conversations(
    db: asyncpg.Pool, found: ConversationFilter, cursor: str | None, limit: int
) -> tuple[list[asyncpg.Record], str | None]:
    where = Where()
    if found.query:
        where.add("search @@ to_tsquery('simple', ?)", found.query)
    if found.channel:
        where.add("? = ANY(channels)", found.channel)
    if found.mode:
        where.add("mode = ?", found.mode)
    if found.unread is not None:
        where.add("unread > 0" if found.unread else "unread = 0")
    if found.has_tasks is not None:
        where.add("open_tasks > 0" if found.has_tasks else "open_tasks = 0")
    if found.sentiment:
        where.add("sentiment = ?", found.sentiment)
    if cursor:
        at, contact = cursors.decode(cursor, 2)
        where.add("(last_message_at, contact) < (?, ?)", _datetime(at), str(contact))
    rows = await db.fetch(
        f"SELECT {SUMMARY_COLUMNS} FROM proj_inbox_conversations{where.sql}"
        " ORDER BY last_message_at DESC, contact DESC" + where.limit(limit + 1),
        *where.params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        cursors.encode(rows[-1]["last_message_at"].isoformat(), rows[-1]["contact"])
        if more
        else None
    )
    return rows, next_cursor


@dataclass(frozen=True)
class ConversationRecord:
    inbox: asyncpg.Record | None
    conversation: asyncpg.Record | None  # proj_conversations: the timeline


async def conversation(db: asyncpg.Pool, contact: str) -> ConversationRecord:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT name, mode, unread, opted_out, last_inbound_at"
            " FROM proj_inbox_conversations WHERE contact = $1",
            contact,
        )
        doc = await conn.fetchrow(
            "SELECT contact_name, mode, opted_out, last_inbound_at, doc"
            " FROM proj_conversations WHERE conversation = $1",
            contact,
        )
    return ConversationRecord(row, doc)


async def reply_rules(db: asyncpg.Pool, contact: str) -> tuple[datetime | None, bool] | None:
    """(last inbound message, opted out) from the conversation projection; None: no contact."""
    row = await db.fetchrow(
        "SELECT last_inbound_at, opted_out FROM proj_conversations WHERE conversation = $1",
        contact,
    )
    return None if row is None else (row[0], bool(row[1]))


async def tasks(
    db: asyncpg.Pool,
    *,
    status: str | None = None,
    contact: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[asyncpg.Record], str | None]:
    where = Where()
    if status:
        where.add("status = ?", status)
    if contact:
        where.add("contact = ?", contact)
    if cursor:
        at, task_id = cursors.decode(cursor, 2)
        where.add("(created_at, task_id) < (?, ?)", _datetime(at), uuid.UUID(str(task_id)))
    rows = await db.fetch(
        f"SELECT {TASK_COLUMNS} FROM proj_inbox_tasks{where.sql}"
        " ORDER BY created_at DESC, task_id DESC" + where.limit(limit + 1),
        *where.params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        cursors.encode(rows[-1]["created_at"].isoformat(), str(rows[-1]["task_id"]))
        if more
        else None
    )
    return rows, next_cursor


async def task(db: asyncpg.Pool, task_id: uuid.UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {TASK_COLUMNS} FROM proj_inbox_tasks WHERE task_id = $1", task_id
    )


async def contact_tasks(db: asyncpg.Pool, contact: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        f"SELECT {TASK_COLUMNS} FROM proj_inbox_tasks WHERE contact = $1"
        " ORDER BY created_at, task_id",
        contact,
    )
    return rows


CALENDAR_COLUMNS = (
    "calendar_event_id, contact, title, start_at, start_date, end_at, timezone, location,"
    " kind, status"
)


async def calendar(
    db: asyncpg.Pool,
    *,
    since: datetime | None,
    until: datetime | None,
    contact: str | None = None,
    limit: int = 500,
) -> list[asyncpg.Record]:
    where = Where()
    if since:
        where.add("starts >= ?", since)
    if until:
        where.add("starts < ?", until)
    if contact:
        where.add("contact = ?", contact)
    rows: list[asyncpg.Record] = await db.fetch(
        f"SELECT {CALENDAR_COLUMNS} FROM proj_inbox_calendar{where.sql}"
        " ORDER BY starts, calendar_event_id" + where.limit(limit),
        *where.params,
    )
    return rows


# --- analytics -------------------------------------------------------------------------


async def daily(db: asyncpg.Pool, first: date, last: date) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        "SELECT day, metric, dimension, value FROM proj_inbox_daily"
        " WHERE day BETWEEN $1 AND $2 ORDER BY day, metric, dimension",
        first,
        last,
    )
    return rows


async def response_times(db: asyncpg.Pool, first: date, last: date) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        "SELECT answered_by, count(*) AS n,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90"
        " FROM proj_inbox_responses WHERE day BETWEEN $1 AND $2 GROUP BY answered_by",
        first,
        last,
    )
    return rows


# --- flows -----------------------------------------------------------------------------

SESSION_COLUMNS = (
    "session_id, contact, flow_id, state, language, round, current_question, answers,"
    " started_at, updated_at, ended_at, failure_reason"
)


async def flow_sessions(
    db: asyncpg.Pool,
    *,
    flow: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[asyncpg.Record], str | None]:
    where = Where()
    if flow:
        where.add("flow_id = ?", flow)
    if state:
        where.add("state = ?", state)
    if cursor:
        at, session_id = cursors.decode(cursor, 2)
        where.add("(started_at, session_id) < (?, ?)", _datetime(at), uuid.UUID(str(session_id)))
    rows = await db.fetch(
        f"SELECT {SESSION_COLUMNS} FROM proj_flow_sessions{where.sql}"
        " ORDER BY started_at DESC, session_id DESC" + where.limit(limit + 1),
        *where.params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        cursors.encode(rows[-1]["started_at"].isoformat(), str(rows[-1]["session_id"]))
        if more
        else None
    )
    return rows, next_cursor


async def contact_flow_sessions(db: asyncpg.Pool, contact: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        f"SELECT {SESSION_COLUMNS} FROM proj_flow_sessions WHERE contact = $1"
        " ORDER BY started_at DESC, session_id DESC",
        contact,
    )
    return rows
