"""Which media of a message is the voice note, and the events that say how it went (no I/O)."""

from __future__ import annotations

from schemas import AudioTranscribed, AudioTranscriptionFailed, MediaRef, MessageReceived
from services.transcriber.backends import Transcript
from services.transcriber.failures import TranscriptionError


def voice_note_of(message: MessageReceived) -> MediaRef | None:
    """The first audio attachment; for an audio message, its only media whatever it is typed."""
    for media in message.media:
        if (media.content_type or "").lower().startswith("audio/"):
            return media
    if message.kind == "audio" and message.media:
        return message.media[0]
    return None


def transcribed(
    message: MessageReceived, transcript: Transcript, backend: str, model: str, sha256: str
) -> AudioTranscribed:
    # A stable id from the message: a redelivery or replay publishes the same event again.
    return message.caused(
        AudioTranscribed,
        "transcribed",
        message_event_id=message.event_id,
        provider_message_id=message.provider_message_id,
        text=transcript.text,
        language=transcript.language,
        duration_seconds=transcript.duration_seconds,
        backend=backend,
        model=model,
        segments=transcript.segments,
        audio_sha256=sha256,
    )


def transcription_failed(
    message: MessageReceived, error: TranscriptionError, attempts: int
) -> AudioTranscriptionFailed:
    return message.caused(
        AudioTranscriptionFailed,
        "transcription_failed",
        message_event_id=message.event_id,
        provider_message_id=message.provider_message_id,
        reason=error.reason,
        detail=error.detail,
        attempts=attempts,
    )
