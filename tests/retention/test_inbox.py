"""The operator API and pages after retention, through the real inbox, projector and recorder."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, RecordedEvent
from hilo.testing import eventually
from schemas.retention import expired_id
from services.transcriber.storage import AudioStore
from tests.inbox.conftest import running_stack
from tests.retention.conftest import AUDIO_DAYS, TRANSCRIPT_DAYS, Recordings, make_job

ANA = "+34600111222"


async def test_the_api_and_the_player_say_what_expired(
    recordings: Recordings,
    settings: HiloSettings,
    bus: EventBus,
    pool: asyncpg.Pool,
    store: EventStore,
    audio: AudioStore,
    tmp_path: Path,
) -> None:
    note = await recordings.voice_note(ANA, TRANSCRIPT_DAYS + 1, words="mi clave es girasol")
    async with running_stack(settings, bus, pool, tmp_path) as stack:
        await make_job(pool, bus, audio).run()
        for what in ("audio", "transcript"):
            event_id = expired_id(note.transcribed.event_id, what)

            async def stored(event_id: uuid.UUID = event_id) -> RecordedEvent | None:
                return await store.get(event_id)

            await stack.projected((await eventually(stored, timeout=20)).to_event())

        async with stack.admin() as client:
            answer = await client.get(f"/api/conversations/{quote(ANA)}")
            assert answer.status_code == 200
            key = f"message:{note.message.event_id}"
            [item] = [i for i in answer.json()["items"] if i["key"] == key]
            assert item["transcript"]["status"] == "expired"
            assert item["transcript"]["retention_days"] == TRANSCRIPT_DAYS
            assert item["audio_expired"]["retention_days"] == AUDIO_DAYS
            assert "girasol" not in answer.text

            player = await client.get(f"/media/{quote(ANA)}/{quote(key)}/0")
            assert player.status_code == 410
            assert "deleted" in player.json()["detail"]
