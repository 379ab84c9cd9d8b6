"""Every field of every event is a decision: personal (sealed), or not, with the reason.

A field added to an event class fails here until it is marked ``Personal``/``Transcript``
in ``schemas/`` or listed below with why it is not a person's data.
"""

from __future__ import annotations

import pytest

from hilo.privacy.sealing import SEALED, personal_fields
from schemas import ALL_EVENTS, Event

ENVELOPE = set(Event.model_fields)

# field → why it is not personal (for every class that has it)
NOT_PERSONAL_ANYWHERE: dict[str, str] = {
    "provider": "which provider (twilio, meta, elevenlabs): a product name",
    "provider_message_id": "the provider's id of a message, no content",
    "message_event_id": "an event id",
    "reply_id": "an idempotency id (or a button's id chosen by the business)",
    "in_reply_to": "ids of messages or events",
    "sent_at": "a time",
    "status": "a delivery or call or task status code",
    "status_at": "a time",
    "error_code": "a provider's error code",
    "kind": "a message or calendar entry kind",
    "author": "which component wrote a reply",
    "language": "a language code",
    "business_initiated": "a flag",
    "operator": "an operator's account (the business's staff), not the contact's data",
    "business_number": "the business's own number",
    "via_template": "the name of the business's approved template",
    "attempts": "a count",
    "marked_at": "a time",
    "duration_seconds": "a length of time",
    "backend": "which transcriber or analyzer ran",
    "model": "which model ran",
    "audio_sha256": "a digest of a file that forgetting deletes; says nothing without it",
    "call_id": "the provider's id of a call",
    "agent_id": "the business's voice agent",
    "direction": "inbound or outbound",
    "started_at": "a time",
    "termination_reason": "a provider's reason code for a call's end",
    "intent": "an intent label from a fixed list",
    "sentiment": "a sentiment label",
    "source_message_ids": "message ids",
    "calendar_event_id": "an id",
    "start": "a time (the appointment's, not who it is with)",
    "end": "a time",
    "previous_start": "a time",
    "timezone": "a time zone name",
    "task_id": "an id",
    "task_type": "a task kind from a fixed list",
    "priority": "a number",
    "due": "a date",
    "mode": "who answers (a fixed list)",
    "previous_mode": "who answered before",
    "flow_id": "the business's flow",
    "expires_at": "a time",
    "answerer": "who answers (a fixed list)",
    "mode_event_id": "an event id",
    "fallback_used": "a flag",
    "source": "what started a flow, or where a profile came from",
    "requested_by": "the operator or the call id that asked",
    "session_id": "an id",
    "question_id": "the flow's question id",
    "question_type": "the flow's answer type",
    "round": "a count",
    "seq": "a count",
    "offered_flow_id": "the business's flow",
    "status_code": "an HTTP status",
    "additional_questions": "a count",
    "completes": "a flag",
    "version": "a business profile's version",
    "name": "the business's name (business.profile_loaded)",
    "message_event_ids": "event ids",
    "changed": "which task fields an operator changed",
    "assignee": "an operator",
    "keys_destroyed": "a count",
    "service": "a service's name",
    "rows_deleted": "a count",
    "files_deleted": "a count",
    "audio_path": "where the call's audio file is kept (a path made of ids, no number)",
    "size_bytes": "a size",
    "content_type": "a media type",
    "recorded_at": "a time (when an expired recording was made)",
    "retention_days": "a count of days",
}

# (event type, field) → why it is not personal, where the same name is personal elsewhere
NOT_PERSONAL_HERE: dict[tuple[str, str], str] = {
    ("conversation.mode_changed", "reason"): "a reason code (call_ended, taken_over…)",
    ("message.routed", "reason"): "a routing reason code",
    ("flow.session_abandoned", "reason"): "a reason code (cancelled, timed_out…)",
    ("flow.session_failed", "reason"): "Hilo's own failure reason (the API's status)",
    ("audio.transcription_failed", "reason"): "a failure reason code",
    ("agent.reply_failed", "reason"): "Hilo's reason an agent reply failed",
    ("call.failed", "reason"): "ElevenLabs' failure reason code",
    ("conversation.person_needed", "reason"): "a reason code",
    ("flow.question_asked", "reason"): "why a question was asked (next, again…)",
    ("task.edited", "status"): "a task status",
    ("message.blocked", "reason"): "window_closed or opted_out",
}


def _undecided() -> list[str]:
    problems = []
    for event_class in ALL_EVENTS:
        personal = personal_fields(event_class.event_type())
        for name in event_class.model_fields:
            if name in ENVELOPE or name in personal:
                continue
            if (event_class.event_type(), name) in NOT_PERSONAL_HERE:
                continue
            if name in NOT_PERSONAL_ANYWHERE:
                continue
            problems.append(f"{event_class.__name__}.{name}")
    return problems


def test_every_field_of_every_event_is_personal_or_says_why_not() -> None:
    assert _undecided() == [], (
        "mark these Personal[...]/Transcript[...] in schemas/, or say in this file why not"
    )


def test_no_reason_is_given_for_a_field_that_is_personal() -> None:
    contradictions = [
        (event_type, name)
        for event_type, name in NOT_PERSONAL_HERE
        if name in personal_fields(event_type)
    ]
    assert contradictions == []


@pytest.mark.parametrize("event_class", ALL_EVENTS, ids=lambda c: c.event_type())
def test_transcript_fields_have_an_empty_default(event_class: type[Event]) -> None:
    """Once a day's transcript key is destroyed the field reads as its default."""
    for name, kind in personal_fields(event_class.event_type()).items():
        if kind == "transcript":
            assert not event_class.model_fields[name].is_required(), name


def test_the_sealed_boxes_key_is_no_event_field() -> None:
    assert all(SEALED not in c.model_fields for c in ALL_EVENTS)


def test_the_texts_people_write_are_personal() -> None:
    assert {"text", "contact_name", "raw", "media", "location"} <= set(
        personal_fields("message.received")
    )
    assert personal_fields("audio.transcribed") == {"text": "transcript", "segments": "transcript"}
    assert personal_fields("call.ended")["transcript"] == "transcript"
    assert personal_fields("call.ended")["summary"] == "contact"
