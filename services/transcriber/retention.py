"""How long recordings are kept, and what the retention job records (pure, no I/O).

Audio is kept ``audio_days`` from the moment its recording was announced (the
``audio.transcribed`` of a voice note). Transcripts are sealed with a key per contact and
UTC day, so they can only be let go a whole day at a time: a transcript expires when every
instant of its day is older than ``transcript_days``, and the keys of those days are what
is destroyed. ``None`` keeps them forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from schemas import AudioExpired, TranscriptExpired
from schemas.retention import expired_id

# The store events that announce a recording, and what each brings: a voice note's audio
# (kept here) and transcript, a call's transcript, a call's audio (kept by ingest, which
# deletes it when it sees the call's audio.expired).
ANNOUNCING_TYPES = ("audio.transcribed", "call.ended", "call.audio_recorded")


@dataclass(frozen=True)
class RetentionPolicy:
    audio_days: int | None = None
    transcript_days: int | None = None

    @property
    def keeps_everything(self) -> bool:
        return self.audio_days is None and self.transcript_days is None

    def audio_cutoff(self, now: datetime) -> datetime | None:
        """Audio recorded before this instant is due."""
        return None if self.audio_days is None else now - timedelta(days=self.audio_days)

    def transcript_cutoff_day(self, now: datetime) -> date | None:
        """Transcripts of days before this one are due: each of those whole days is older
        than the retention."""
        if self.transcript_days is None:
            return None
        return (now.astimezone(UTC) - timedelta(days=self.transcript_days)).date()

    def transcript_cutoff(self, now: datetime) -> datetime | None:
        day = self.transcript_cutoff_day(now)
        return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class Recording:
    """A voice note or call that has audio or a transcript to let go of, in time."""

    source_event_id: uuid.UUID
    correlation_id: uuid.UUID | None
    recorded_at: datetime
    message_event_id: uuid.UUID | None = None
    call_id: str | None = None
    audio_sha256: str | None = None
    has_transcript: bool = False
    # Read from the announcing event when an expiry is recorded, never kept in the table;
    # None when that contact was forgotten (nothing is recorded of them any more).
    conversation: str | None = None
    # The announcing event's stream in the store (a contact's pseudonym: where their files
    # are kept), read with it.
    stream: str | None = None

    @property
    def keeps_file_here(self) -> bool:
        """A voice note's audio is the transcriber's file; a call's is ingest's."""
        return self.message_event_id is not None and self.audio_sha256 is not None


def recording_from(data: dict[str, Any], occurred_at: datetime) -> Recording | None:
    """The recording a stored event announces (its JSON), or None when it announces none."""
    kind = data.get("type")
    if kind == "audio.transcribed":
        return Recording(
            source_event_id=uuid.UUID(str(data["event_id"])),
            correlation_id=_uuid(data.get("correlation_id")),
            recorded_at=occurred_at,
            message_event_id=uuid.UUID(str(data["message_event_id"])),
            audio_sha256=data.get("audio_sha256") or None,
            has_transcript=True,
        )
    if kind == "call.audio_recorded" and data.get("audio_sha256"):
        return Recording(
            source_event_id=uuid.UUID(str(data["event_id"])),
            correlation_id=_uuid(data.get("correlation_id")),
            recorded_at=occurred_at,
            call_id=str(data["call_id"]),
            audio_sha256=str(data["audio_sha256"]),
        )
    if kind == "call.ended" and data.get("transcript"):
        return Recording(
            source_event_id=uuid.UUID(str(data["event_id"])),
            correlation_id=_uuid(data.get("correlation_id")),
            recorded_at=occurred_at,
            call_id=str(data["call_id"]),
            has_transcript=True,
        )
    return None


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _envelope(
    recording: Recording, what: Literal["audio", "transcript"], retention_days: int
) -> dict[str, Any]:
    if recording.conversation is None:
        raise ValueError("a forgotten contact's recording gets no expiry event")
    return {
        "event_id": expired_id(recording.source_event_id, what),
        "correlation_id": recording.correlation_id or recording.source_event_id,
        "causation_id": recording.source_event_id,
        "conversation": recording.conversation,
        "message_event_id": recording.message_event_id,
        "call_id": recording.call_id,
        "recorded_at": recording.recorded_at,
        "retention_days": retention_days,
    }


def audio_expired(recording: Recording, retention_days: int, at: datetime) -> AudioExpired:
    return AudioExpired(
        **_envelope(recording, "audio", retention_days),
        occurred_at=at,
        audio_sha256=recording.audio_sha256,
    )


def transcript_expired(
    recording: Recording, retention_days: int, at: datetime
) -> TranscriptExpired:
    return TranscriptExpired(**_envelope(recording, "transcript", retention_days), occurred_at=at)


@dataclass
class RetentionReport:
    """What one run did (or, dry, would do)."""

    dry_run: bool = False
    # Another instance held the job's lock: this one did nothing.
    skipped: bool = False
    audio_cutoff: datetime | None = None
    transcript_cutoff_day: date | None = None
    audio_expired: int = 0
    files_deleted: int = 0
    transcripts_expired: int = 0
    keys_destroyed: int = 0

    def lines(self) -> list[str]:
        if self.skipped:
            return ["another retention run holds the lock: nothing done"]
        verb = "would expire" if self.dry_run else "expired"
        out = []
        if self.audio_cutoff is None:
            out.append("audio: kept forever (TRANSCRIBER_AUDIO_RETENTION_DAYS unset)")
        else:
            files = "" if self.dry_run else f", {self.files_deleted} file(s) deleted"
            out.append(
                f"audio: {verb} {self.audio_expired} recording(s) from before "
                f"{self.audio_cutoff.isoformat(timespec='seconds')}{files}"
            )
        if self.transcript_cutoff_day is None:
            out.append("transcripts: kept forever (TRANSCRIBER_TRANSCRIPT_RETENTION_DAYS unset)")
        else:
            keys = "" if self.dry_run else f", {self.keys_destroyed} day key(s) destroyed"
            out.append(
                f"transcripts: {verb} {self.transcripts_expired} transcript(s) of days before "
                f"{self.transcript_cutoff_day.isoformat()}{keys}"
            )
        return out
