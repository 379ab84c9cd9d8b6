"""A call's recording is ingest's file: the job records its expiry, ingest deletes it
(reading the fact from the store)."""

from __future__ import annotations

import asyncpg

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually
from services.ingest.app import build as build_ingest
from services.ingest.files import media_folder, store_content
from services.ingest.settings import IngestSettings
from services.recorder.app import build as build_recorder
from services.transcriber.storage import AudioStore
from tests.retention.conftest import AUDIO_DAYS, Recordings, make_job

LUIS = "+573001112233"


async def test_an_old_call_recording_is_deleted_by_ingest_and_a_new_one_kept(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    settings: HiloSettings,
    published: Published,
) -> None:
    old = await recordings.call_audio(
        await recordings.call(LUIS, AUDIO_DAYS + 1), settings.data_dir
    )
    new = await recordings.call_audio(
        await recordings.call(LUIS, AUDIO_DAYS - 1), settings.data_dir
    )
    old_file, new_file = settings.data_dir / old.audio_path, settings.data_dir / new.audio_path
    assert old_file.exists() and new_file.exists()
    # A voice note `hilo simulate` sent: ingest's copy, in the contact's media folder.
    note = await recordings.voice_note(LUIS, AUDIO_DAYS + 2, content=b"OggS simulated")
    assert bus.codec is not None
    simulated = store_content(
        media_folder(settings.data_dir) / bus.codec.stream_of(LUIS), b"OggS simulated"
    ).path
    assert simulated.name == note.sha256

    async with build_recorder().running(settings, http=False):
        report = await make_job(pool, bus, audio).run()
        assert (report.audio_expired, report.files_deleted) == (2, 1)  # the call: ingest's
        events = await published.wait_for("audio.expired", count=2)
        [event] = [e for e in events if e.call_id]
        assert (event.call_id, event.audio_sha256) == (old.call_id, old.audio_sha256)

        async def stored() -> bool:
            count = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'audio.expired'")
            return bool(count == 2)

        await eventually(stored)

    # Ingest deletes what the store says expired when it starts, then every hour.
    async with build_ingest(IngestSettings(_env_file=None)).running(settings, http=False):

        async def deleted() -> bool:
            return not old_file.exists() and not simulated.exists()

        await eventually(deleted)
    assert new_file.exists()
