"""An ElevenLabs conversation record (``GET /v1/convai/conversations/{id}``) as ``call.ended``.

Pure. The record has the shape of the post-call webhook's ``data``; the event
id is derived from the conversation id exactly as ingest derives it for the
webhook, so the same call reported both ways is one event.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from hilo.phones import InvalidPhoneNumber, to_e164
from schemas import CallEnded, derived_id

POST_CALL_TRANSCRIPTION = "post_call_transcription"


class UnusableRecord(ValueError):
    """A record that cannot become a ``call.ended`` (no conversation id, no customer number)."""


def call_ended_event_id(conversation_id: str) -> uuid.UUID:
    return derived_id(f"elevenlabs:{conversation_id}", POST_CALL_TRANSCRIPTION)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def customer_number(record: dict[str, Any], fallback: str | None) -> str:
    phone_call = _dict(_dict(record.get("metadata")).get("phone_call"))
    for raw in (phone_call.get("external_number"), fallback):
        if isinstance(raw, str) and raw.strip():
            try:
                return to_e164(raw)
            except InvalidPhoneNumber:
                continue
    raise UnusableRecord("the record names no usable customer number")


def call_ended_from_record(record: dict[str, Any], *, phone_fallback: str | None) -> CallEnded:
    conversation_id = record.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise UnusableRecord("the record has no conversation_id")
    conversation = customer_number(record, phone_fallback)
    try:
        return CallEnded.from_elevenlabs(
            record,
            event_id=call_ended_event_id(conversation_id),
            call_id=conversation_id,
            conversation=conversation,
        )
    except ValidationError as exc:
        raise UnusableRecord(
            f"the record does not fit call.ended: {exc.error_count()} errors"
        ) from exc
