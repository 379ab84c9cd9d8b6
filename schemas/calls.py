"""Voice calls held by the ElevenLabs agent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import Event
from schemas.privacy import Personal, Transcript


class CallTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    role: Literal["agent", "user"]
    message: str | None = None
    time_in_call_secs: float | None = None


# ElevenLabs' statuses of a call that reached a conversation; others mean it did not.
COMPLETED_STATUSES = frozenset({"done", "completed", "success", "successful"})


class CallEnded(Event):
    """A phone call with the voice agent finished, with what was said in it."""

    type: Literal["call.ended"] = "call.ended"
    schema_version: int = 1
    provider: Literal["elevenlabs"] = "elevenlabs"
    call_id: str
    agent_id: str | None = None
    status: str | None = None
    direction: Literal["inbound", "outbound"] | None = None
    business_number: str | None = None
    started_at: AwareDatetime | None = None
    duration_seconds: float | None = None
    transcript: Transcript[tuple[CallTurn, ...]] = ()
    summary: Personal[str | None] = None
    data_collection: Personal[dict[str, Any]] = Field(default_factory=dict)
    evaluation: Personal[dict[str, Any]] = Field(default_factory=dict)
    dynamic_variables: Personal[dict[str, Any]] = Field(default_factory=dict)
    batch_call: Personal[dict[str, Any] | None] = None
    termination_reason: str | None = None
    metadata: Personal[dict[str, Any]] = Field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """The call reached a conversation (no status at all counts as reached)."""
        return self.status is None or self.status.lower() in COMPLETED_STATUSES

    @classmethod
    def from_elevenlabs(
        cls, record: Mapping[str, Any], *, event_id: UUID, call_id: str, conversation: str
    ) -> CallEnded:
        """From ElevenLabs' conversation record (``GET /v1/convai/conversations/{id}``, which
        the post-call webhook's ``data`` repeats): ingest and the voice bridge's poller make
        the same event of the same call. Raises pydantic's ValidationError."""
        metadata = _mapping(record.get("metadata"))
        analysis = _mapping(record.get("analysis"))
        phone_call = _mapping(metadata.get("phone_call"))
        initiation = _mapping(record.get("conversation_initiation_client_data"))
        transcript = record.get("transcript")
        started = metadata.get("start_time_unix_secs")
        direction = phone_call.get("direction")
        return cls(
            event_id=event_id,
            correlation_id=event_id,
            conversation=conversation,
            call_id=call_id,
            agent_id=record.get("agent_id"),
            status=record.get("status"),
            direction=direction if direction in ("inbound", "outbound") else None,
            business_number=phone_call.get("agent_number"),
            started_at=(
                datetime.fromtimestamp(started, UTC) if isinstance(started, int | float) else None
            ),
            duration_seconds=metadata.get("call_duration_secs"),
            transcript=tuple(
                CallTurn.model_validate(turn)
                for turn in (transcript if isinstance(transcript, list) else [])
                if isinstance(turn, dict) and turn.get("role") in ("agent", "user")
            ),
            summary=analysis.get("transcript_summary"),
            data_collection=_mapping(analysis.get("data_collection_results")),
            evaluation=_mapping(analysis.get("evaluation_criteria_results")),
            dynamic_variables=_mapping(initiation.get("dynamic_variables")),
            batch_call=_mapping(metadata.get("batch_call")) or None,
            termination_reason=metadata.get("termination_reason"),
            metadata=dict(metadata),
        )


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


class CallAnalyzed(Event):
    """The analyzer read a finished call together with the chat before it.

    Published once per call (its id derived from the call id), after the call's calendar
    and task changes. The voice bridge's opener takes ``pending`` and ``next_steps`` from it
    when ElevenLabs data collection gave none.
    """

    type: Literal["call.analyzed"] = "call.analyzed"
    schema_version: int = 1
    call_id: str
    language: str
    intent: str
    sentiment: str
    # What the contact still has to give (the day, the time, the topic), as short phrases.
    pending: Personal[tuple[str, ...]] = ()
    # What was agreed to happen next: events and the business's tasks, as short phrases.
    next_steps: Personal[tuple[str, ...]] = ()


class CallAudioRecorded(Event):
    """The audio of a finished call is kept, by reference."""

    type: Literal["call.audio_recorded"] = "call.audio_recorded"
    schema_version: int = 1
    call_id: str
    agent_id: str | None = None
    audio_sha256: str
    audio_path: str
    size_bytes: int
    content_type: str = "audio/mpeg"


class CallFailed(Event):
    """A call never became a conversation (busy, no answer, failed to start)."""

    type: Literal["call.failed"] = "call.failed"
    schema_version: int = 1
    provider: Literal["elevenlabs"] = "elevenlabs"
    call_id: str
    agent_id: str | None = None
    reason: str
    metadata: Personal[dict[str, Any]] = Field(default_factory=dict)
