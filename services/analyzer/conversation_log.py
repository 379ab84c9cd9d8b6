"""From events to the `Conversation` a backend reads: pure functions, no I/O.

The live service keeps these facts in its tables as events arrive; `hilo reanalyze`
folds them from the event store. Both end in :func:`build_conversation`, so a backend
sees the same thing either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones

from schemas import (
    AudioTranscribed,
    AudioTranscriptionFailed,
    CallEnded,
    Event,
    MessageReceived,
    ReplyReady,
)
from services.analyzer.calls import call_messages
from services.analyzer.models import Contact, Conversation, ConversationMessage


def message_text(event: MessageReceived) -> str | None:
    """What a message says in words; None for media and reactions, which carry none."""
    if event.kind in ("button", "interactive") and (event.reply_title or event.text):
        return (event.reply_title or event.text or "").strip() or None
    if event.kind == "location" and event.location is not None:
        place = event.location.name or event.location.address
        return place.strip() if place else None
    text = (event.text or "").strip()
    return text or None


def business_digits(number: str | None) -> str | None:
    if not number:
        return None
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits or None


def contact_timezone(conversation: str, default: str, *, from_number: bool = True) -> str:
    """The number's country zone when it has exactly one (+57 → America/Bogota), else default.

    Countries spanning zones (+1, +34 with the Canaries, +52) keep the default: guessing
    would put appointments an hour or more off.
    """
    if from_number:
        try:
            zones = number_timezones.time_zones_for_number(phonenumbers.parse(conversation))
        except phonenumbers.NumberParseException:
            zones = ()
        if len(zones) == 1 and zones[0] != "Etc/Unknown" and _known_zone(zones[0]):
            return str(zones[0])
    return default if _known_zone(default) else "UTC"


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def build_conversation(
    conversation: str,
    messages: Sequence[ConversationMessage],
    *,
    timezone: str,
    contact_name: str | None,
    call_summary: str | None,
    limit: int,
) -> Conversation:
    """The last ``limit`` messages with words in them, both directions, in time order."""
    spoken = [m for m in messages if m.text.strip()]
    spoken.sort(key=lambda m: m.at)
    return Conversation(
        id=conversation,
        timezone=timezone,
        contact=Contact(phone=conversation, name=contact_name),
        messages=tuple(spoken[-limit:]),
        call_summary=call_summary,
    )


@dataclass
class FoldedConversation:
    """One contact's stored history, as the analyzer's consumer would have kept it."""

    conversation: str
    contact_name: str | None = None
    business_number: str | None = None
    call_summary: str | None = None
    messages: dict[uuid.UUID, ConversationMessage] = field(default_factory=dict)
    last_message_id: uuid.UUID | None = None
    last_correlation_id: uuid.UUID | None = None

    def ordered(self) -> list[ConversationMessage]:
        return sorted(self.messages.values(), key=lambda m: m.at)


def fold(conversation: str, events: Iterable[Event]) -> FoldedConversation:
    """Replay a conversation's stored events into what a backend needs."""
    folded = FoldedConversation(conversation)
    voice_notes_at: dict[uuid.UUID, datetime] = {}
    for event in events:
        if isinstance(event, MessageReceived):
            folded.contact_name = event.contact_name or folded.contact_name
            folded.business_number = business_digits(event.business_number) or (
                folded.business_number
            )
            text = message_text(event)
            if text is None and event.has_audio:
                voice_notes_at[event.event_id] = event.occurred_at
            elif text is not None:
                folded.messages[event.event_id] = ConversationMessage(
                    id=str(event.event_id), direction="inbound", at=event.occurred_at, text=text
                )
                folded.last_message_id = event.event_id
                folded.last_correlation_id = event.correlation_id
        elif isinstance(event, AudioTranscribed) and event.text.strip():
            folded.messages[event.message_event_id] = ConversationMessage(
                id=str(event.message_event_id),
                direction="inbound",
                # The words take the voice note's place in time.
                at=voice_notes_at.get(event.message_event_id, event.occurred_at),
                text=event.text.strip(),
                source="voice_note",
            )
            folded.last_message_id = event.message_event_id
            folded.last_correlation_id = event.correlation_id
        elif isinstance(event, AudioTranscriptionFailed):
            continue
        elif isinstance(event, ReplyReady) and event.text and event.text.strip():
            folded.messages[event.event_id] = ConversationMessage(
                id=str(event.event_id),
                direction="outbound",
                at=event.occurred_at,
                text=event.text.strip(),
            )
        elif isinstance(event, CallEnded):
            folded.call_summary = event.summary or folded.call_summary
            # The call's turns join the conversation, as the live service keeps them.
            for turn in call_messages(event):
                folded.messages[uuid.UUID(turn.id)] = turn
    return folded
