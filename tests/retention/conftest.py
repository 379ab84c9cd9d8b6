"""Recordings of known age in the real store and on disk, and the retention job over them.

Age comes from the events' ``occurred_at`` and the job's injected clock: nothing sleeps.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from hilo.bus import EventBus
from hilo.outbox import Outbox
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import Published, watching
from schemas import (
    AudioTranscribed,
    CallAudioRecorded,
    CallEnded,
    CallTurn,
    Event,
    MediaRef,
    MessageReceived,
    derived_id,
)
from services.ingest.files import calls_folder, store_content
from services.transcriber.expiry import RetentionJob
from services.transcriber.retention import RetentionPolicy
from services.transcriber.storage import AudioStore

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
AUDIO_DAYS = 30
TRANSCRIPT_DAYS = 90
POLICY = RetentionPolicy(audio_days=AUDIO_DAYS, transcript_days=TRANSCRIPT_DAYS)
EXPIRY_TYPES = ("audio.expired", "transcript.expired")


@dataclass(frozen=True)
class VoiceNote:
    message: MessageReceived
    transcribed: AudioTranscribed
    sha256: str


@dataclass
class Recordings:
    """Writes voice notes and calls the way ingest, the transcriber and the recorder would."""

    store: EventStore
    audio: AudioStore
    notes: list[VoiceNote] = field(default_factory=list)

    async def voice_note(
        self,
        contact: str,
        age_days: float,
        *,
        words: str = "quiero cambiar la cita",
        content: bytes | None = None,
    ) -> VoiceNote:
        at = NOW - timedelta(days=age_days)
        message = MessageReceived(
            conversation=contact,
            occurred_at=at,
            provider="twilio",
            provider_message_id=f"MM{uuid.uuid4().hex}",
            kind="audio",
            media=(MediaRef(url="https://api.twilio.com/media/1", content_type="audio/ogg"),),
        )
        sha256 = self.audio.put(content or f"OggS {message.event_id}".encode())
        transcribed = message.caused(
            AudioTranscribed,
            "transcribed",
            occurred_at=at + timedelta(seconds=5),
            message_event_id=message.event_id,
            text=words,
            language="es",
            backend="local",
            model="base",
            audio_sha256=sha256,
        )
        await self.store.append([message, transcribed])
        note = VoiceNote(message, transcribed, sha256)
        self.notes.append(note)
        return note

    async def call(self, contact: str, age_days: float) -> CallEnded:
        call_id = f"conv_{uuid.uuid4().hex[:12]}"
        ended = CallEnded(
            event_id=derived_id(call_id, "ended"),
            conversation=contact,
            occurred_at=NOW - timedelta(days=age_days),
            call_id=call_id,
            summary="Quiere una cita",
            transcript=(CallTurn(role="user", message="quiero una cita el lunes"),),
        )
        await self.store.append([ended])
        return ended

    async def call_audio(self, ended: CallEnded, data_dir: Path) -> CallAudioRecorded:
        """The call's recording, kept by ingest as it keeps ElevenLabs' post-call audio."""
        stored = store_content(calls_folder(data_dir), f"ID3 {ended.call_id}".encode(), ".mp3")
        recorded = CallAudioRecorded(
            event_id=derived_id(ended.call_id, "audio"),
            conversation=ended.conversation,
            occurred_at=ended.occurred_at,
            call_id=ended.call_id,
            audio_sha256=stored.sha256,
            audio_path=str(stored.path.relative_to(data_dir)),
            size_bytes=stored.size,
        )
        await self.store.append([recorded])
        return recorded

    async def append(self, events: list[Event]) -> None:
        await self.store.append(events)


@pytest.fixture
def audio(settings: HiloSettings) -> AudioStore:
    return AudioStore(settings.data_dir / "audio")


@pytest.fixture
def recordings(store: EventStore, audio: AudioStore) -> Recordings:
    return Recordings(store, audio)


def make_job(
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    *,
    now: datetime = NOW,
    policy: RetentionPolicy = POLICY,
    batch: int = 200,
) -> RetentionJob:
    assert bus.codec is not None  # the test's codec: the job opens and destroys with it
    return RetentionJob(
        pool,
        Outbox("transcriber", pool, bus),
        audio,
        policy,
        bus.codec,
        clock=lambda: now,
        batch=batch,
    )


@pytest.fixture
def job(pool: asyncpg.Pool, bus: EventBus, audio: AudioStore) -> RetentionJob:
    return make_job(pool, bus, audio)


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, EXPIRY_TYPES, Published()) as seen:
        yield seen


async def outbox_empty(pool: asyncpg.Pool) -> bool:
    waiting = await pool.fetchval(
        "SELECT count(*) FROM hilo_outbox WHERE owner = 'transcriber' AND published_at IS NULL"
    )
    return bool(waiting == 0)


def file_of(audio: AudioStore, note: VoiceNote) -> Path:
    return audio.path_for(note.sha256)
