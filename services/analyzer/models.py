"""What every analyzer backend reads and returns: plain pydantic models, no I/O.

The input mirrors the conversation format of docs/ANALYSIS_DATA.md so that `hilo analyze FILE`,
the live service and `hilo reanalyze` all feed a backend the same thing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.analysis import EntityType, Intent, Sentiment, TaskType

Direction = Literal["inbound", "outbound"]
# What was asked for but not yet given, so a reply can ask for it.
Missing = Literal["day", "time", "topic"]
EventKind = Literal["meeting", "call", "demo"]


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    phone: str | None = None
    name: str | None = None


class ConversationMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The event id of the message in the live system; "m<index>" when read from a file.
    id: str = ""
    direction: Direction
    at: AwareDatetime
    text: str
    # A voice note's transcript reads like text but is marked so findings can say so.
    source: Literal["text", "voice_note", "call"] = "text"


class Conversation(BaseModel):
    """One contact's conversation up to now, both directions, in time order."""

    model_config = ConfigDict(frozen=True)

    id: str
    language: str | None = None
    timezone: str = "UTC"
    contact: Contact = Field(default_factory=Contact)
    messages: tuple[ConversationMessage, ...] = ()
    # The summary of a previous call with the contact, when there was one.
    call_summary: str | None = None

    def with_message_ids(self) -> Conversation:
        """Gives every message without an id a positional one ("m0", "m1", …)."""
        messages = tuple(
            m if m.id else m.model_copy(update={"id": f"m{i}"}) for i, m in enumerate(self.messages)
        )
        return self.model_copy(update={"messages": messages})


class EntityFound(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EntityType
    text: str
    source_message_ids: tuple[str, ...] = ()


class AgreedEvent(BaseModel):
    """A calendar event requested or agreed in the conversation, in its latest state."""

    model_config = ConfigDict(frozen=True)

    # Stable across analyses of a growing conversation: the id of the message that first asked
    # for this event. The live service derives the calendar event's id from it, so a later
    # message that repeats or moves the event updates it instead of creating another.
    key: str
    title: str
    # An aware date-time in the conversation's time zone, or a bare date when no time was given.
    start: datetime | date
    end: datetime | None = None
    timezone: str = "UTC"
    location: str | None = None
    attendees: tuple[str, ...] = ()
    kind: EventKind = "meeting"
    status: Literal["standing", "cancelled"] = "standing"
    # The event was moved at least once (its start changed during the conversation).
    rescheduled: bool = False
    source_message_ids: tuple[str, ...] = ()


def event_task_key(event_key: str) -> str:
    """The key of the task an agreed event gives (one task per standing event)."""
    return f"event:{event_key}"


class FollowUpTask(BaseModel):
    """Work the business must do after the conversation."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    type: TaskType
    priority: int = Field(ge=1, le=5)
    due: date | None = None
    source_message_ids: tuple[str, ...] = ()


class Analysis(BaseModel):
    """What a backend concluded from the whole conversation."""

    model_config = ConfigDict(frozen=True)

    language: str
    summary: str
    sentiment: Sentiment
    intent: Intent
    entities: tuple[EntityFound, ...] = ()
    events: tuple[AgreedEvent, ...] = ()
    tasks: tuple[FollowUpTask, ...] = ()
    # For an event being arranged but not complete yet: what is still missing.
    missing: tuple[Missing, ...] = ()
    source_message_ids: tuple[str, ...] = ()
    backend: str = "rules"

    @property
    def standing_events(self) -> tuple[AgreedEvent, ...]:
        return tuple(e for e in self.events if e.status == "standing")
