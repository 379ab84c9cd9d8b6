"""What the analyzer understood of a conversation, and what was agreed in it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.envelope import Event
from schemas.privacy import Personal

Sentiment = Literal["positive", "negative", "neutral", "urgent"]
Intent = Literal[
    "schedule", "reschedule", "cancel", "quote", "support", "complaint", "info", "other"
]
EntityType = Literal["person", "organization", "date", "amount", "email", "phone"]
TaskType = Literal[
    "call", "email", "meeting", "follow_up", "demo", "proposal", "quote", "support", "general"
]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EntityType
    text: str
    source_message_ids: tuple[str, ...] = ()


class IntentDetected(Event):
    """The analyzer read the conversation up to a message and concluded this."""

    type: Literal["intent.detected"] = "intent.detected"
    schema_version: int = 1
    intent: Intent
    sentiment: Sentiment
    language: str
    summary: Personal[str]
    entities: Personal[tuple[Finding, ...]] = ()
    source_message_ids: tuple[str, ...] = ()
    backend: str = "rules"


class CalendarEventScheduled(Event):
    type: Literal["calendar_event.scheduled"] = "calendar_event.scheduled"
    schema_version: int = 1
    calendar_event_id: uuid.UUID
    title: Personal[str]
    # A bare date when no time was agreed.
    start: AwareDatetime | date
    end: AwareDatetime | None = None
    timezone: str
    location: Personal[str | None] = None
    attendees: Personal[tuple[str, ...]] = ()
    kind: str = "meeting"
    source_message_ids: tuple[str, ...] = ()


class CalendarEventRescheduled(Event):
    type: Literal["calendar_event.rescheduled"] = "calendar_event.rescheduled"
    schema_version: int = 1
    calendar_event_id: uuid.UUID
    title: Personal[str]
    start: AwareDatetime | date
    end: AwareDatetime | None = None
    timezone: str
    location: Personal[str | None] = None
    attendees: Personal[tuple[str, ...]] = ()
    previous_start: AwareDatetime | date | None = None
    source_message_ids: tuple[str, ...] = ()


class CalendarEventCancelled(Event):
    type: Literal["calendar_event.cancelled"] = "calendar_event.cancelled"
    schema_version: int = 1
    calendar_event_id: uuid.UUID
    reason: Personal[str | None] = None
    source_message_ids: tuple[str, ...] = ()


class TaskCreated(Event):
    type: Literal["task.created"] = "task.created"
    schema_version: int = 1
    task_id: uuid.UUID
    title: Personal[str]
    task_type: TaskType
    priority: int
    due: date | None = None
    source_message_ids: tuple[str, ...] = ()


class TaskUpdated(Event):
    type: Literal["task.updated"] = "task.updated"
    schema_version: int = 1
    task_id: uuid.UUID
    title: Personal[str]
    task_type: TaskType
    priority: int
    due: date | None = None
    status: Literal["open", "done", "cancelled"] = "open"
    source_message_ids: tuple[str, ...] = ()
