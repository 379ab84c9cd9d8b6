"""What changed between the calendar/tasks already published and a new Analysis: pure.

Ids are derived from the conversation and the backend's stable keys, so the same
event agreed again (a repeated message, a replay, `hilo reanalyze`) updates the one
calendar event instead of creating another. An event or task that a later analysis
no longer mentions is left alone: the backend reads a bounded window of the
conversation, and forgetting is not cancelling.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from hilo.business_time import zone_or_utc
from schemas import (
    CalendarEventCancelled,
    CalendarEventRescheduled,
    CalendarEventScheduled,
    Event,
    TaskCreated,
    TaskUpdated,
    derived_id,
)
from services.analyzer.models import AgreedEvent, FollowUpTask

When = datetime | date


def calendar_event_id(conversation: str, key: str) -> uuid.UUID:
    return derived_id(f"{conversation}:{key}", "calendar_event")


def task_id(conversation: str, key: str) -> uuid.UUID:
    return derived_id(f"{conversation}:{key}", "task")


def aware(value: When, timezone: str) -> When:
    """A naive date-time is read in the event's zone; a bare date stays a date."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone_or_utc(timezone))
    return value


def same_when(a: When | None, b: When | None) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False
    return a == b


@dataclass(frozen=True)
class Cause:
    """What a published change points back to: the triggering event and its correlation."""

    event_id: uuid.UUID
    correlation_id: uuid.UUID


@dataclass(frozen=True)
class StoredCalendarEvent:
    calendar_event_id: uuid.UUID
    conversation: str
    key: str
    title: str
    start: When
    end: datetime | None
    timezone: str
    location: str | None
    kind: str
    status: Literal["standing", "cancelled"]
    sequence: int = 0
    business_number: str | None = None


@dataclass(frozen=True)
class CalendarChange:
    # "details": only the title or place changed; kept for the feed, published as nothing
    # (no event class says it, and a model rewording a title is not news).
    kind: Literal["scheduled", "rescheduled", "cancelled", "details"]
    after: StoredCalendarEvent
    previous_start: When | None
    attendees: tuple[str, ...]
    source_message_ids: tuple[str, ...]

    def to_event(self, cause: Cause) -> Event | None:
        """The event to publish; its id depends on the calendar event and its revision only."""
        if self.kind == "details":
            return None
        state = self.after
        envelope = {
            "event_id": derived_id(state.calendar_event_id, f"{self.kind}:{state.sequence}"),
            "conversation": state.conversation,
            "correlation_id": cause.correlation_id,
            "causation_id": cause.event_id,
            "calendar_event_id": state.calendar_event_id,
            "source_message_ids": self.source_message_ids,
        }
        if self.kind == "cancelled":
            return CalendarEventCancelled(reason="cancelled_in_conversation", **envelope)
        common = {
            "title": state.title,
            "start": state.start,
            "end": state.end,
            "timezone": state.timezone,
            "location": state.location,
            "attendees": self.attendees,
        }
        if self.kind == "rescheduled":
            return CalendarEventRescheduled(
                previous_start=self.previous_start, **common, **envelope
            )
        return CalendarEventScheduled(kind=state.kind, **common, **envelope)


def _latest_by_key(events: Iterable[AgreedEvent]) -> dict[str, AgreedEvent]:
    latest: dict[str, AgreedEvent] = {}
    for event in events:
        latest[event.key] = event
    return latest


def calendar_changes(
    conversation: str,
    stored: Mapping[uuid.UUID, StoredCalendarEvent],
    agreed: Sequence[AgreedEvent],
    business_number: str | None = None,
) -> list[CalendarChange]:
    changes: list[CalendarChange] = []
    for key, event in _latest_by_key(agreed).items():
        event_id = calendar_event_id(conversation, key)
        before = stored.get(event_id)
        start = aware(event.start, event.timezone)
        end = aware(event.end, event.timezone) if event.end else None
        assert end is None or isinstance(end, datetime)
        after = StoredCalendarEvent(
            calendar_event_id=event_id,
            conversation=conversation,
            key=key,
            title=event.title,
            start=start,
            end=end,
            timezone=event.timezone,
            location=event.location,
            kind=event.kind,
            status=event.status,
            sequence=0,
            business_number=business_number,
        )
        sources = event.source_message_ids
        if before is None:
            if event.status == "standing":
                changes.append(CalendarChange("scheduled", after, None, event.attendees, sources))
            continue
        bumped = replace(
            after,
            sequence=before.sequence + 1,
            business_number=before.business_number or business_number,
        )
        if event.status == "cancelled":
            if before.status == "standing":
                cancelled = replace(before, status="cancelled", sequence=before.sequence + 1)
                changes.append(CalendarChange("cancelled", cancelled, None, (), sources))
        elif before.status == "cancelled":
            changes.append(CalendarChange("scheduled", bumped, None, event.attendees, sources))
        elif not (same_when(before.start, start) and same_when(before.end, end)):
            changes.append(
                CalendarChange("rescheduled", bumped, before.start, event.attendees, sources)
            )
        elif (before.title, before.location) != (event.title, event.location):
            changes.append(CalendarChange("details", bumped, None, event.attendees, sources))
    return changes


@dataclass(frozen=True)
class StoredTask:
    task_id: uuid.UUID
    conversation: str
    key: str
    title: str
    task_type: str
    priority: int
    due: date | None
    status: Literal["open", "done", "cancelled"] = "open"
    revision: int = 0
    # The person who closed it (task.edited): then no analysis reopens or renames it.
    closed_by: str | None = None


@dataclass(frozen=True)
class TaskChange:
    kind: Literal["created", "updated"]
    after: StoredTask
    source_message_ids: tuple[str, ...]

    def to_event(self, cause: Cause) -> Event:
        state = self.after
        envelope = {
            "event_id": derived_id(state.task_id, f"{self.kind}:{state.revision}"),
            "conversation": state.conversation,
            "correlation_id": cause.correlation_id,
            "causation_id": cause.event_id,
            "task_id": state.task_id,
            "title": state.title,
            "task_type": state.task_type,
            "priority": state.priority,
            "due": state.due,
            "source_message_ids": self.source_message_ids,
        }
        if self.kind == "created":
            return TaskCreated(**envelope)
        return TaskUpdated(status=state.status, **envelope)


def _belongs_to(task_key: str, event_keys: Iterable[str]) -> bool:
    return any(task_key == k or task_key.startswith(f"{k}:") for k in event_keys)


def task_changes(
    conversation: str,
    stored: Mapping[uuid.UUID, StoredTask],
    tasks: Sequence[FollowUpTask],
    cancelled_event_keys: Iterable[str] = (),
) -> list[TaskChange]:
    """New tasks are created, changed ones updated; a cancelled event's open task is cancelled."""
    changes: list[TaskChange] = []
    seen: set[uuid.UUID] = set()
    for task in {t.key: t for t in tasks}.values():
        tid = task_id(conversation, task.key)
        seen.add(tid)
        before = stored.get(tid)
        if before is not None and before.closed_by is not None:
            continue  # a person closed it: theirs to reopen, not the analyzer's
        after = StoredTask(
            tid, conversation, task.key, task.title, task.type, task.priority, task.due
        )
        if before is None:
            changes.append(TaskChange("created", after, task.source_message_ids))
        elif (before.title, before.task_type, before.priority, before.due, before.status) != (
            after.title,
            after.task_type,
            after.priority,
            after.due,
            "open",
        ):
            changes.append(
                TaskChange(
                    "updated", replace(after, revision=before.revision + 1), task.source_message_ids
                )
            )
    cancelled_keys = tuple(cancelled_event_keys)
    for before in stored.values():
        if (
            before.task_id not in seen
            and before.status == "open"
            and _belongs_to(before.key, cancelled_keys)
        ):
            after = replace(before, status="cancelled", revision=before.revision + 1)
            changes.append(TaskChange("updated", after, ()))
    return changes
