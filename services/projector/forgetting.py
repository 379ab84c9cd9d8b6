"""The read models' copies of a forgotten contact: which rows, and when to delete them.

A projection batch reads and opens events, then writes rows, in one transaction under its
checkpoint's row lock. Deleting while a batch that opened the contact's events before the
keys were destroyed is still running would let that batch write them back; so the deletion
takes every checkpoint's lock too, and waits (by retrying) until every projection has
folded past the ``contact.forgotten`` event: whatever of the contact comes later in the
store cannot be opened any more and is skipped.
"""

from __future__ import annotations

import asyncpg

from hilo.erasure import ContactColumn
from hilo.projections.runner import PROJECTIONS
from schemas import ContactForgotten

PERSONAL_COLUMNS = (
    ContactColumn("proj_conversations", "conversation"),
    ContactColumn("proj_inbox_conversations", "contact"),
    ContactColumn("proj_inbox_tasks", "contact"),
    ContactColumn("proj_inbox_calendar", "contact"),
    ContactColumn("proj_inbox_responses", "contact"),
    ContactColumn("proj_flow_sessions", "contact"),
)


class NotFoldedYet(RuntimeError):
    """A projection has not reached the forgotten event yet: the consumer tries again."""


async def after_every_projection(conn: asyncpg.Connection, event: ContactForgotten) -> None:
    position = await conn.fetchval(
        "SELECT position FROM events WHERE event_id = $1", event.event_id
    )
    if position is None:
        raise NotFoldedYet("contact.forgotten is not in the store yet")
    names = sorted(PROJECTIONS)
    rows = await conn.fetch(
        "SELECT name, position FROM projection_checkpoints WHERE name = ANY($1::text[])"
        " ORDER BY name FOR UPDATE",
        names,
    )
    behind = sorted(set(names) - {r["name"] for r in rows if r["position"] >= position})
    if behind:
        raise NotFoldedYet(f"projections {', '.join(behind)} are behind the forgotten event")
