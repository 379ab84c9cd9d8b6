"""A finished call is read like a chat: its turns join the contact's conversation.

``call.ended`` carries the transcript. Each turn becomes a message of the same
conversation (``source = "call"``): the contact's turns inbound, the agent's outbound, at
the call's start plus the turn's offset, so "te llamo el jueves" said on the call resolves
against the call's own time. The call is queued like a message, with no reply wanted
(after a call the voice bridge's opener speaks, not the analyzer), so the conversation's
worker analyses chat and call together, in order with everything else, and publishes the
events and tasks agreed on the call as it does for a chat. After that analysis
``call.analyzed`` tells the voice bridge what is still pending and what happens next.

Ids are derived from the call id: a webhook delivered twice, the batch poller and a replay
all name the same rows, which the tables absorb. Pure; call_handlers.py does the I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import CallEnded, derived_id
from services.analyzer.models import Analysis, ConversationMessage
from services.analyzer.replies import describe_when

PENDING_NAMES = {
    "es": {"day": "el día", "time": "la hora", "topic": "el tema"},
    "en": {"day": "the day", "time": "the time", "topic": "the topic"},
}


def call_key(call_id: str) -> str:
    return f"call:{call_id}"


def call_started_at(event: CallEnded) -> datetime:
    """When the call began: stated, else its end minus its length, else its end."""
    if event.started_at is not None:
        return event.started_at
    if event.duration_seconds:
        return event.occurred_at - timedelta(seconds=event.duration_seconds)
    return event.occurred_at


def call_messages(event: CallEnded) -> tuple[ConversationMessage, ...]:
    """The turns with words in them, as messages of the conversation, in call order."""
    start = call_started_at(event)
    messages: list[ConversationMessage] = []
    for index, turn in enumerate(event.transcript):
        text = (turn.message or "").strip()
        if not text:
            continue
        offset = turn.time_in_call_secs if turn.time_in_call_secs is not None else index
        messages.append(
            ConversationMessage(
                id=str(derived_id(call_key(event.call_id), f"analyzer.turn.{index}")),
                direction="inbound" if turn.role == "user" else "outbound",
                # A turn without an offset keeps its order by a second per turn.
                at=start + timedelta(seconds=max(offset, 0)),
                text=text,
                source="call",
            )
        )
    return tuple(messages)


def pending_items(analysis: Analysis, language: str) -> tuple[str, ...]:
    """What the contact still has to say for an event being arranged on the call."""
    names = PENDING_NAMES.get(language, PENDING_NAMES["es"])
    return tuple(names[m] for m in analysis.missing)


def next_steps(analysis: Analysis, language: str) -> tuple[str, ...]:
    """Each standing event with its time, then each task that is not an event's own."""
    steps: list[str] = []
    event_task_keys: set[str] = set()
    for event in analysis.standing_events:
        event_task_keys.add(f"event:{event.key}")
        steps.append(f"{event.title}, {describe_when(event.start, language)}")
    for task in analysis.tasks:
        if task.key in event_task_keys:
            continue
        due = f", {describe_when(task.due, language)}" if task.due else ""
        steps.append(f"{task.title}{due}")
    return tuple(steps)
