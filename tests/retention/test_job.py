"""The retention job against the real store, outbox and NATS: what it expires, and once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from hilo.bus import EventBus
from hilo.privacy.sealing import transcript_erased
from hilo.store.eventstore import EventStore
from hilo.testing import Published, eventually
from schemas import AudioExpired, AudioTranscribed, Event, TranscriptExpired
from schemas.retention import expired_id
from services.transcriber.retention import RetentionPolicy
from services.transcriber.storage import AudioStore
from tests.retention.conftest import (
    AUDIO_DAYS,
    TRANSCRIPT_DAYS,
    Recordings,
    file_of,
    make_job,
    outbox_empty,
)

ANA = "+34600111222"
LUIS = "+573001112233"


async def test_what_is_older_than_the_retention_expires_once_and_the_rest_stays(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
    store: EventStore,
) -> None:
    kept = await recordings.voice_note(ANA, age_days=AUDIO_DAYS - 1)
    old = await recordings.voice_note(ANA, age_days=AUDIO_DAYS + 1)
    ancient = await recordings.voice_note(LUIS, age_days=TRANSCRIPT_DAYS + 2)
    old_call = await recordings.call(LUIS, age_days=TRANSCRIPT_DAYS + 2)
    await recordings.call(ANA, age_days=TRANSCRIPT_DAYS - 2)

    report = await make_job(pool, bus, audio).run()

    assert (report.audio_expired, report.files_deleted) == (2, 2)
    assert report.transcripts_expired == 2
    assert report.keys_destroyed == 1  # Luis's key of that day: the note's and the call's
    # The store keeps the sealed bytes; the transcripts of that day no longer open.
    for announced, field in ((ancient.transcribed, "text"), (old_call, "transcript")):
        event = await _stored(store, announced.event_id)
        assert transcript_erased(event) and not getattr(event, field)
        assert event.conversation == LUIS  # the contact's key still opens the rest
    readable = await _stored(store, old.transcribed.event_id)
    assert isinstance(readable, AudioTranscribed) and readable.text == "quiero cambiar la cita"
    assert not file_of(audio, old).exists() and not file_of(audio, ancient).exists()
    assert file_of(audio, kept).exists()

    await eventually(lambda: outbox_empty(pool))
    await published.settle()
    gone: list[AudioExpired] = published.of("audio.expired")
    assert sorted(e.event_id for e in gone) == sorted(
        expired_id(n.transcribed.event_id, "audio") for n in (old, ancient)
    )
    first = next(e for e in gone if e.message_event_id == old.message.event_id)
    assert (first.conversation, first.retention_days, first.audio_sha256) == (
        ANA,
        AUDIO_DAYS,
        old.sha256,
    )
    assert first.causation_id == old.transcribed.event_id
    assert first.recorded_at == old.transcribed.occurred_at
    expired: list[TranscriptExpired] = published.of("transcript.expired")
    assert {(e.message_event_id, e.call_id) for e in expired} == {
        (ancient.message.event_id, None),
        (None, old_call.call_id),
    }
    assert {e.retention_days for e in expired} == {TRANSCRIPT_DAYS}

    again = await make_job(pool, bus, audio).run()

    assert (again.audio_expired, again.files_deleted, again.transcripts_expired) == (0, 0, 0)
    await published.settle()
    assert len(published.of("audio.expired")) == 2
    assert len(published.of("transcript.expired")) == 2


async def _stored(store: EventStore, event_id: uuid.UUID) -> Event:
    recorded = await store.get(event_id)
    assert recorded is not None
    return recorded.to_event()


async def test_a_crash_between_deleting_the_file_and_recording_it_is_finished_by_the_next_run(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    note = await recordings.voice_note(ANA, age_days=AUDIO_DAYS + 3)
    crashing = make_job(pool, bus, audio)

    async def crash(*_: object) -> set[object]:
        raise ConnectionResetError("the process died here")

    monkeypatch.setattr(crashing.store, "mark_audio_expired", crash)
    with pytest.raises(ConnectionResetError):
        await crashing.run()
    assert not file_of(audio, note).exists()  # deleted, but nothing recorded
    assert await pool.fetchval("SELECT count(*) FROM hilo_outbox") == 0

    report = await make_job(pool, bus, audio).run()

    assert (report.audio_expired, report.files_deleted) == (1, 0)
    await eventually(lambda: outbox_empty(pool))
    await published.settle()
    [event] = published.of("audio.expired")
    assert event.event_id == expired_id(note.transcribed.event_id, "audio")


async def test_two_instances_at_once_do_the_work_once(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
) -> None:
    notes = [await recordings.voice_note(ANA, age_days=AUDIO_DAYS + 1 + i) for i in range(24)]
    jobs = [make_job(pool, bus, audio, batch=4) for _ in range(2)]

    reports = await asyncio.gather(*(job.run() for job in jobs))

    assert sum(r.audio_expired for r in reports) == len(notes)
    assert sum(r.files_deleted for r in reports) == len(notes)
    assert not any(file_of(audio, n).exists() for n in notes)
    await eventually(lambda: outbox_empty(pool))
    await published.settle()
    sent = published.of("audio.expired")
    assert len(sent) == len({e.event_id for e in sent}) == len(notes)


async def test_a_dry_run_says_what_would_expire_and_changes_nothing(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
    store: EventStore,
) -> None:
    note = await recordings.voice_note(ANA, age_days=TRANSCRIPT_DAYS + 5)
    await recordings.voice_note(ANA, age_days=1)

    report = await make_job(pool, bus, audio).run(dry_run=True)

    assert (report.dry_run, report.audio_expired, report.transcripts_expired) == (True, 1, 1)
    assert report.files_deleted == report.keys_destroyed == 0
    assert file_of(audio, note).exists()
    kept = await _stored(store, note.transcribed.event_id)
    assert isinstance(kept, AudioTranscribed) and kept.text and not transcript_erased(kept)
    assert await pool.fetchval("SELECT count(*) FROM transcriber_recordings") == 0
    assert await pool.fetchval("SELECT position FROM transcriber_retention_checkpoint") == 0
    assert await pool.fetchval("SELECT count(*) FROM hilo_outbox") == 0
    await published.settle()
    assert published.events == []
    assert any("would expire 1" in line for line in report.lines())


async def test_a_file_that_a_newer_note_shares_is_kept(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
) -> None:
    # The same bytes sent twice (a forwarded note) are one file: the newer note still needs it.
    old = await recordings.voice_note(ANA, age_days=AUDIO_DAYS + 1, content=b"OggS forwarded")
    new = await recordings.voice_note(ANA, age_days=2, content=b"OggS forwarded")
    assert old.sha256 == new.sha256

    report = await make_job(pool, bus, audio).run()

    assert (report.audio_expired, report.files_deleted) == (1, 0)
    assert file_of(audio, new).exists()
    await published.wait_for("audio.expired")


async def test_unset_retention_keeps_everything(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
) -> None:
    note = await recordings.voice_note(ANA, age_days=3650)

    report = await make_job(pool, bus, audio, policy=RetentionPolicy()).run()

    assert (report.audio_expired, report.transcripts_expired) == (0, 0)
    assert file_of(audio, note).exists()
    assert await pool.fetchval("SELECT count(*) FROM hilo_outbox") == 0
    await published.settle()
    assert published.events == []
    assert all("kept forever" in line for line in report.lines())
