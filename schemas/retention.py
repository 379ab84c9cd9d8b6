"""Facts of retention: a recording's audio or transcript was let go after its time.

The retention job (the transcriber's, ``services/transcriber/expiry.py``) records one of
these per voice note or call when its audio file is deleted or its transcript's day key
destroyed. Each is keyed by the recording it ends (``expired_id``), so a re-run, a crash
followed by a re-run, or two job instances at once record it once. They hold ids, times
and the conversation, nothing of what was said.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import Event, derived_id


def expired_id(source_event_id: uuid.UUID, what: Literal["audio", "transcript"]) -> uuid.UUID:
    """The id of the expiry of ``what`` of the recording that ``source_event_id`` announced."""
    return derived_id(source_event_id, f"{what}.expired")


class _Expired(Event):
    # One of the two (the job sets exactly one): the voice note (its message.received) or
    # the call.
    message_event_id: uuid.UUID | None = None
    call_id: str | None = None
    # When the recording was made (the announcing event's occurred_at): its age is counted
    # from here.
    recorded_at: AwareDatetime
    retention_days: int = Field(ge=0)


class AudioExpired(_Expired):
    """The audio of a voice note or call was deleted after ``retention_days`` days."""

    type: Literal["audio.expired"] = "audio.expired"
    schema_version: int = 1
    audio_sha256: str | None = None


class TranscriptExpired(_Expired):
    """The transcript of a voice note or call became unreadable after ``retention_days``
    days: the key of its day was destroyed (crypto-shredding); the store keeps the noise."""

    type: Literal["transcript.expired"] = "transcript.expired"
    schema_version: int = 1
