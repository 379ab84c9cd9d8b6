"""One analysis, end to end: backend → intent.detected → calendar and task changes.

Shared by the live service (per burst) and `hilo reanalyze` (per stored conversation).
Every published id is derived, and each change is published before the state row that
remembers it is written: a crash in between re-publishes the same ids, which JetStream
and the store absorb.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from schemas import Event, Finding, IntentDetected
from services.analyzer import ledger
from services.analyzer.backends import Backend
from services.analyzer.diff import (
    CalendarChange,
    Cause,
    StoredCalendarEvent,
    TaskChange,
    calendar_changes,
    task_changes,
)
from services.analyzer.models import Analysis, Conversation, FollowUpTask, event_task_key
from services.analyzer.slots import Refusal

Publish = Callable[[Event], Awaitable[object]]


class Gate(Protocol):
    """Business hook (issue 19): which calendar changes fit the business's calendar (and
    books them; the refused ones are neither published nor remembered), and which
    follow-up tasks are still needed (a quote for a price the profile states is not)."""

    async def __call__(
        self, changes: list[CalendarChange]
    ) -> tuple[list[CalendarChange], list[Refusal]]: ...

    async def needed(self, conversation: str, tasks: list[FollowUpTask]) -> list[FollowUpTask]: ...


@dataclass(frozen=True)
class Outcome:
    analysis: Analysis
    calendar: list[CalendarChange]
    tasks: list[TaskChange]
    # Events still standing after this analysis that it did not change.
    standing: list[StoredCalendarEvent]
    # Requested slots that do not fit the business's calendar (business hook, issue 19).
    refused: tuple[Refusal, ...] = ()


def intent_event(
    analysis: Analysis, conversation: str, event_id: uuid.UUID, cause: Cause
) -> IntentDetected:
    return IntentDetected(
        event_id=event_id,
        conversation=conversation,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        intent=analysis.intent,
        sentiment=analysis.sentiment,
        language=analysis.language,
        summary=analysis.summary,
        entities=tuple(
            Finding(type=e.type, text=e.text, source_message_ids=e.source_message_ids)
            for e in analysis.entities
        ),
        source_message_ids=analysis.source_message_ids,
        backend=analysis.backend,
    )


def held_event(analysis: Analysis, published_keys: set[str]) -> str | None:
    """The key of the event to keep out of the calendar for now, if any.

    An event still being arranged (its time or topic asked for in this very reply) is held
    back one message, so the contact gets one event with its time and title rather than a
    bare "Reunión" renamed a minute later; its task waits with it. The backend stops asking
    after one answer, so nothing is held for longer than that.
    """
    if not {"time", "topic"} & set(analysis.missing):
        return None
    standing = analysis.standing_events
    arranging = standing[-1].key if standing else None
    return arranging if arranging not in published_keys else None


async def publish_changes(
    db: asyncpg.Pool,
    publish: Publish,
    conversation: Conversation,
    analysis: Analysis,
    cause: Cause,
    business_number: str | None,
    gate: Gate | None = None,
) -> Outcome:
    """Diff against what was published before, publish the differences, remember them."""
    stored = await ledger.stored_events(db, conversation.id)
    held = held_event(analysis, {e.key for e in stored.values()})
    agreed = tuple(e for e in analysis.events if e.key != held)
    calendar = calendar_changes(conversation.id, stored, agreed, business_number)
    refused: list[Refusal] = []
    if gate is not None:  # business hook (issue 19)
        calendar, refused = await gate(calendar)
    for change in calendar:
        event = change.to_event(cause)
        if event is not None:
            await publish(event)
        await ledger.save_event(db, change.after)
    cancelled_keys = [e.key for e in analysis.events if e.status == "cancelled"]
    waiting = {event_task_key(k) for k in [held, *(r.key for r in refused)] if k is not None}
    ready_tasks = [t for t in analysis.tasks if t.key not in waiting]
    if gate is not None:  # business hook (issue 19)
        ready_tasks = await gate.needed(conversation.id, ready_tasks)
    tasks = task_changes(
        conversation.id, await ledger.stored_tasks(db, conversation.id), ready_tasks,
        cancelled_keys,
    )  # fmt: skip
    for task in tasks:
        await publish(task.to_event(cause))
        await ledger.save_task(db, task.after)
    changed = {c.after.calendar_event_id for c in calendar}
    standing = [
        e for e in stored.values() if e.status == "standing" and e.calendar_event_id not in changed
    ]
    return Outcome(analysis, calendar, tasks, standing, tuple(refused))


async def analyze(
    db: asyncpg.Pool,
    publish: Publish,
    backend: Backend,
    conversation: Conversation,
    *,
    intent_event_id: uuid.UUID,
    cause: Cause,
    business_number: str | None,
    gate: Gate | None = None,
) -> Outcome:
    analysis = await backend.analyze(conversation)
    await publish(intent_event(analysis, conversation.id, intent_event_id, cause))
    return await publish_changes(db, publish, conversation, analysis, cause, business_number, gate)
