"""The inbox read models in PostgreSQL: rows from the pure fold in :mod:`hilo.projections.inbox`.

Per contact, ``proj_inbox_conversations.doc`` keeps the fold's state; tasks and calendar
events are written out as rows of their own for the API's filters. Day counters and
first-response times are deltas: added (counters) or inserted once (responses) in the
transaction that moves the checkpoint, so each event counts exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson

from hilo.projections import inbox

CONVERSATION_COLUMNS = (
    "contact",
    "name",
    "channel",
    "channels",
    "last_message_at",
    "last_text",
    "last_direction",
    "last_inbound_at",
    "unread",
    "mode",
    "sentiment",
    "open_tasks",
    "opted_out",
    "search_text",
    "doc",
)
TASK_COLUMNS = (
    "task_id",
    "contact",
    "title",
    "type",
    "priority",
    "due",
    "status",
    "assignee",
    "closed_by",
    "created_at",
    "updated_at",
)
CALENDAR_COLUMNS = (
    "calendar_event_id",
    "contact",
    "title",
    "start_at",
    "start_date",
    "starts",
    "end_at",
    "timezone",
    "location",
    "kind",
    "status",
    "updated_at",
)
RESPONSE_COLUMNS = ("contact", "waiting_since", "day", "answered_by", "seconds")
TABLES = (
    "proj_inbox_conversations",
    "proj_inbox_tasks",
    "proj_inbox_calendar",
    "proj_inbox_daily",
    "proj_inbox_responses",
)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _upsert(table: str, columns: Sequence[str], key: str) -> str:
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def conversation_row(doc: inbox.Doc) -> tuple[Any, ...]:
    return (
        doc["contact"],
        doc["name"],
        doc["channel"],
        doc["channels"],
        _instant(inbox.last_message_at(doc)),
        doc["last_text"],
        doc["last_direction"],
        _instant(doc["last_inbound_at"]),
        doc["unread"],
        doc["mode"],
        doc["sentiment"],
        inbox.open_tasks(doc),
        doc["opted_out"],
        inbox.search_text(doc),
        orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode(),
    )


def task_rows(doc: inbox.Doc) -> Iterator[tuple[Any, ...]]:
    for task in doc["tasks"].values():
        yield (
            task["task_id"],
            doc["contact"],
            task["title"],
            task["type"],
            task["priority"],
            _day(task["due"]),
            task["status"],
            task["assignee"],
            task["closed_by"],
            _instant(task["created_at"]),
            _instant(task["updated_at"]),
        )


def calendar_rows(doc: inbox.Doc) -> Iterator[tuple[Any, ...]]:
    for event in doc["calendar"].values():
        start: str | None = event["start"]
        timed = start is not None and "T" in start
        start_at = _instant(start) if timed else None
        start_date = _day(start) if start and not timed else None
        starts = start_at or (
            datetime.combine(start_date, datetime.min.time(), UTC) if start_date else None
        )
        yield (
            event["calendar_event_id"],
            doc["contact"],
            event["title"],
            start_at,
            start_date,
            starts or _instant(event["updated_at"]),
            _instant(event["end"]),
            event["timezone"],
            event["location"],
            event["kind"],
            event["status"],
            _instant(event["updated_at"]),
        )


def _daily(state: dict[str, inbox.Entry]) -> list[tuple[date, str, str, int]]:
    totals: dict[tuple[str, str, str], int] = {}
    for entry in state.values():
        for key, value in entry["daily"].items():
            totals[key] = totals.get(key, 0) + value
    return [(date.fromisoformat(d), m, dim, v) for (d, m, dim), v in sorted(totals.items())]


def _responses(state: dict[str, inbox.Entry]) -> list[tuple[Any, ...]]:
    """One row per (contact, waited since), the first in store order: a late message stamped
    with the same instant as an answered one must not fail a rebuild's COPY (live inserts
    skip it the same way, ON CONFLICT DO NOTHING)."""
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    for entry in state.values():
        for contact, waiting, day, answered_by, seconds in entry["responses"]:
            rows.setdefault(
                (contact, waiting), (contact, _instant(waiting), _day(day), answered_by, seconds)
            )
    return list(rows.values())


class InboxProjection:
    """The operator inbox: list, tasks, calendar, day counters, first-response times."""

    name = "inbox"
    event_types = inbox.HANDLED_TYPES

    async def load(self, conn: asyncpg.Connection, keys: Sequence[str]) -> dict[str, Any]:
        rows = await conn.fetch(
            "SELECT contact, doc FROM proj_inbox_conversations WHERE contact = ANY($1::text[])",
            list(keys),
        )
        return {r["contact"]: inbox.new_entry(r["contact"], r["doc"]) for r in rows}

    def fold(self, state: dict[str, Any], data: dict[str, Any], position: int) -> None:
        key = data["conversation"]
        entry = state.get(key)
        if entry is None:
            entry = state[key] = inbox.new_entry(key)
        inbox.apply(entry, data)

    async def save(self, conn: asyncpg.Connection, state: dict[str, Any]) -> None:
        docs = [entry["doc"] for entry in state.values()]
        await conn.executemany(
            _upsert("proj_inbox_conversations", CONVERSATION_COLUMNS, "contact"),
            [conversation_row(doc) for doc in docs],
        )
        tasks = [row for doc in docs for row in task_rows(doc)]
        if tasks:
            await conn.executemany(_upsert("proj_inbox_tasks", TASK_COLUMNS, "task_id"), tasks)
        events = [row for doc in docs for row in calendar_rows(doc)]
        if events:
            await conn.executemany(
                _upsert("proj_inbox_calendar", CALENDAR_COLUMNS, "calendar_event_id"), events
            )
        daily = _daily(state)
        if daily:
            await conn.executemany(
                "INSERT INTO proj_inbox_daily (day, metric, dimension, value) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (day, metric, dimension) "
                "DO UPDATE SET value = proj_inbox_daily.value + EXCLUDED.value",
                daily,
            )
        responses = _responses(state)
        if responses:
            await conn.executemany(
                "INSERT INTO proj_inbox_responses (" + ", ".join(RESPONSE_COLUMNS) + ") "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                responses,
            )

    async def clear(self, conn: asyncpg.Connection) -> None:
        # DELETE, not TRUNCATE: readers keep the old rows until the rebuild commits.
        for table in TABLES:
            await conn.execute(f"DELETE FROM {table}")

    async def copy_in(self, conn: asyncpg.Connection, state: dict[str, Any]) -> None:
        docs = [entry["doc"] for entry in state.values()]
        await conn.copy_records_to_table(
            "proj_inbox_conversations",
            records=(conversation_row(doc) for doc in docs),
            columns=list(CONVERSATION_COLUMNS),
        )
        await conn.copy_records_to_table(
            "proj_inbox_tasks",
            records=(row for doc in docs for row in task_rows(doc)),
            columns=list(TASK_COLUMNS),
        )
        await conn.copy_records_to_table(
            "proj_inbox_calendar",
            records=(row for doc in docs for row in calendar_rows(doc)),
            columns=list(CALENDAR_COLUMNS),
        )
        await conn.copy_records_to_table(
            "proj_inbox_daily",
            records=_daily(state),
            columns=["day", "metric", "dimension", "value"],
        )
        await conn.copy_records_to_table(
            "proj_inbox_responses", records=_responses(state), columns=list(RESPONSE_COLUMNS)
        )
