"""Voice notes turned into text."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.envelope import Event
from schemas.privacy import Personal, Transcript


class TranscriptSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str


class AudioTranscribed(Event):
    """The words of a voice note, with when each was said."""

    type: Literal["audio.transcribed"] = "audio.transcribed"
    schema_version: int = 1
    message_event_id: uuid.UUID
    provider_message_id: str | None = None
    text: Transcript[str] = ""
    language: str | None = None
    duration_seconds: float | None = None
    backend: str
    model: str
    segments: Transcript[tuple[TranscriptSegment, ...]] = ()
    audio_sha256: str | None = None


class AudioTranscriptionFailed(Event):
    """A voice note could not be transcribed, after the retries it was worth."""

    type: Literal["audio.transcription_failed"] = "audio.transcription_failed"
    schema_version: int = 1
    message_event_id: uuid.UUID
    provider_message_id: str | None = None
    reason: str
    detail: Personal[str | None] = None
    attempts: int = 1
