"""Hilo's typed events: the only thing services share."""

from schemas.analysis import (
    CalendarEventCancelled,
    CalendarEventRescheduled,
    CalendarEventScheduled,
    Finding,
    IntentDetected,
    TaskCreated,
    TaskUpdated,
)
from schemas.audio import AudioTranscribed, AudioTranscriptionFailed, TranscriptSegment
from schemas.calls import CallAudioRecorded, CallEnded, CallFailed, CallTurn
from schemas.conversations import AgentReplyFailed, ConversationModeChanged
from schemas.envelope import Event, conversation_token, derived_id, utc_now
from schemas.messages import (
    ContactOptedIn,
    ContactOptedOut,
    Location,
    MediaRef,
    MessageBlocked,
    MessageFailed,
    MessageMarkedRead,
    MessageReceived,
    MessageSent,
    MessageStatusReported,
    ReplyReady,
    TemplateRef,
)
from schemas.registry import EventDecodeError, EventRegistry, UnknownEvent

ALL_EVENTS: tuple[type[Event], ...] = (
    MessageReceived,
    MessageStatusReported,
    ReplyReady,
    MessageSent,
    MessageFailed,
    MessageBlocked,
    MessageMarkedRead,
    ContactOptedOut,
    ContactOptedIn,
    AudioTranscribed,
    AudioTranscriptionFailed,
    CallEnded,
    CallAudioRecorded,
    CallFailed,
    IntentDetected,
    CalendarEventScheduled,
    CalendarEventRescheduled,
    CalendarEventCancelled,
    TaskCreated,
    TaskUpdated,
    ConversationModeChanged,
    AgentReplyFailed,
)

registry = EventRegistry()
registry.register_all(ALL_EVENTS)

__all__ = [
    "ALL_EVENTS",
    "AgentReplyFailed",
    "AudioTranscribed",
    "AudioTranscriptionFailed",
    "CalendarEventCancelled",
    "CalendarEventRescheduled",
    "CalendarEventScheduled",
    "CallAudioRecorded",
    "CallEnded",
    "CallFailed",
    "CallTurn",
    "ContactOptedIn",
    "ContactOptedOut",
    "ConversationModeChanged",
    "Event",
    "EventDecodeError",
    "EventRegistry",
    "Finding",
    "IntentDetected",
    "Location",
    "MediaRef",
    "MessageBlocked",
    "MessageFailed",
    "MessageMarkedRead",
    "MessageReceived",
    "MessageSent",
    "MessageStatusReported",
    "ReplyReady",
    "TaskCreated",
    "TaskUpdated",
    "TemplateRef",
    "TranscriptSegment",
    "UnknownEvent",
    "conversation_token",
    "derived_id",
    "registry",
    "utc_now",
]
