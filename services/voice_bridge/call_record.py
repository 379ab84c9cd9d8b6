"""An ElevenLabs conversation record (``GET /v1/convai/conversations/{id}``) as ``call.ended``.

Pure. The record has the shape of the post-call webhook's ``data``; the event
id is derived from the conversation id exactly as ingest derives it for the
webhook, so the same call reported both ways is one event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from hilo.phones import InvalidPhoneNumber, to_e164
from schemas import CallEnded, CallTurn, derived_id

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
    metadata = _dict(record.get("metadata"))
    analysis = _dict(record.get("analysis"))
    phone_call = _dict(metadata.get("phone_call"))
    initiation = _dict(record.get("conversation_initiation_client_data"))
    started = metadata.get("start_time_unix_secs")
    direction = phone_call.get("direction")
    event_id = call_ended_event_id(conversation_id)
    turns = []
    for turn in record.get("transcript") or []:
        if isinstance(turn, dict) and turn.get("role") in ("agent", "user"):
            turns.append(CallTurn.model_validate(turn))
    try:
        return CallEnded(
            event_id=event_id,
            correlation_id=event_id,
            conversation=customer_number(record, phone_fallback),
            call_id=conversation_id,
            agent_id=record.get("agent_id"),
            status=record.get("status"),
            direction=direction if direction in ("inbound", "outbound") else None,
            business_number=phone_call.get("agent_number"),
            started_at=(
                datetime.fromtimestamp(started, UTC) if isinstance(started, int | float) else None
            ),
            duration_seconds=metadata.get("call_duration_secs"),
            transcript=tuple(turns),
            summary=analysis.get("transcript_summary"),
            data_collection=_dict(analysis.get("data_collection_results")),
            evaluation=_dict(analysis.get("evaluation_criteria_results")),
            dynamic_variables=_dict(initiation.get("dynamic_variables")),
            batch_call=_dict(metadata.get("batch_call")) or None,
            termination_reason=metadata.get("termination_reason"),
            metadata=metadata,
        )
    except ValidationError as exc:
        raise UnusableRecord(
            f"the record does not fit call.ended: {exc.error_count()} errors"
        ) from exc
