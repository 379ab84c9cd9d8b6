"""ElevenLabs post-call webhooks as events (pure).

Envelope ``{type, event_timestamp, data}``:

- ``post_call_transcription``: ``data`` has the shape of ``GET /v1/convai/conversations/{id}``
  → ``call.ended``, with the id the voice bridge's batch poller gives the same call
  (``derived_id("elevenlabs:<conversation_id>", "post_call_transcription")``).
- ``post_call_audio``: ``data.full_audio`` (base64 MP3) → stored, then ``call.audio_recorded``.
- ``call_initiation_failure``: ``data.failure_reason`` and ``data.metadata`` → ``call.failed``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas import CallAudioRecorded, CallEnded, CallFailed, derived_id
from services.ingest.deliveries import Delivery, contact_number
from services.ingest.problems import Unprocessable

TRANSCRIPTION = "post_call_transcription"
AUDIO = "post_call_audio"
INITIATION_FAILURE = "call_initiation_failure"
KNOWN_TYPES = (TRANSCRIPTION, AUDIO, INITIATION_FAILURE)

Json = dict[str, Any]


@dataclass(frozen=True)
class CallAudio:
    """A call's recording, decoded; storing it is I/O and happens outside."""

    call_id: str
    agent_id: str | None
    audio: bytes


def _dict(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def event_id_for(call_id: str, webhook_type: str) -> Any:
    return derived_id(f"elevenlabs:{call_id}", webhook_type)


def envelope(payload: Any) -> tuple[str, Json]:
    if not isinstance(payload, dict):
        raise Unprocessable("invalid_payload", "expected a JSON object")
    webhook_type = payload.get("type")
    if webhook_type not in KNOWN_TYPES:
        raise Unprocessable("unknown_type", webhook_type if isinstance(webhook_type, str) else None)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Unprocessable("missing_field", "data")
    return str(webhook_type), data


def call_id_of(data: Json) -> str:
    call_id = data.get("conversation_id")
    if not isinstance(call_id, str) or not call_id:
        raise Unprocessable("missing_field", "data.conversation_id")
    return call_id


def customer_number(data: Json) -> str:
    """The contact: ``metadata.phone_call.external_number``, else the caller/called variables."""
    metadata = _dict(data.get("metadata"))
    phone_call = _dict(metadata.get("phone_call"))
    initiation = _dict(data.get("conversation_initiation_client_data"))
    variables = _dict(initiation.get("dynamic_variables"))
    body = _dict(metadata.get("body"))  # call_initiation_failure: the telephony provider's body
    outbound = phone_call.get("direction") != "inbound"
    candidates = (
        phone_call.get("external_number"),
        body.get("to_number"),
        body.get("To"),
        variables.get("system__called_number" if outbound else "system__caller_id"),
    )
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return contact_number(candidate, "data.metadata.phone_call.external_number")
    raise Unprocessable("missing_field", "data.metadata.phone_call.external_number")


def call_ended(data: Json) -> Delivery:
    """The same event the voice bridge's poller makes of the same call's record."""
    call_id = call_id_of(data)
    event_id = event_id_for(call_id, TRANSCRIPTION)
    conversation = customer_number(data)
    try:
        event = CallEnded.from_elevenlabs(
            data, event_id=event_id, call_id=call_id, conversation=conversation
        )
    except ValidationError as exc:
        raise Unprocessable("invalid_field", _fields(exc)) from None
    return Delivery(f"{call_id}:{TRANSCRIPTION}", event)


def call_failed(data: Json) -> Delivery:
    call_id = call_id_of(data)
    event_id = event_id_for(call_id, INITIATION_FAILURE)
    reason = data.get("failure_reason")
    try:
        event = CallFailed(
            event_id=event_id,
            correlation_id=event_id,
            conversation=customer_number(data),
            call_id=call_id,
            agent_id=data.get("agent_id"),
            reason=reason if isinstance(reason, str) and reason else "unknown",
            metadata=_dict(data.get("metadata")),
        )
    except ValidationError as exc:
        raise Unprocessable("invalid_field", _fields(exc)) from None
    return Delivery(f"{call_id}:{INITIATION_FAILURE}", event)


def call_audio(data: Json) -> CallAudio:
    call_id = call_id_of(data)
    encoded = data.get("full_audio")
    if not isinstance(encoded, str) or not encoded:
        raise Unprocessable("missing_field", "data.full_audio")
    try:
        audio = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("invalid_field", "data.full_audio is not base64") from None
    agent_id = data.get("agent_id")
    return CallAudio(call_id, agent_id if isinstance(agent_id, str) else None, audio)


def audio_recorded(
    audio: CallAudio, conversation: str, sha256: str, relative_path: str, size: int
) -> Delivery:
    event_id = event_id_for(audio.call_id, AUDIO)
    event = CallAudioRecorded(
        event_id=event_id,
        correlation_id=event_id_for(audio.call_id, TRANSCRIPTION),
        causation_id=None,
        conversation=conversation,
        call_id=audio.call_id,
        agent_id=audio.agent_id,
        audio_sha256=sha256,
        audio_path=relative_path,
        size_bytes=size,
    )
    return Delivery(f"{audio.call_id}:{AUDIO}", event)


def _fields(exc: ValidationError) -> list[str]:
    return sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
