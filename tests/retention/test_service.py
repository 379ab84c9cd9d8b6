"""The job as the transcriber runs it: on its timer, in every replica, the work done once."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
import pytest

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, settled, watching
from services.transcriber.app import build
from services.transcriber.backends import Transcript
from services.transcriber.settings import TranscriberSettings
from services.transcriber.storage import AudioStore
from tests.retention.conftest import AUDIO_DAYS, Recordings, file_of, outbox_empty

TRANSCRIBER_OUTPUTS = ("audio.transcribed", "audio.transcription_failed")


class NoBackend:
    """The job never transcribes; start-up needs a backend, not a model."""

    name = "none"
    model = "none"

    async def transcribe(self, *_: object) -> Transcript:
        raise AssertionError("no transcription in these tests")


async def test_two_replicas_expire_each_note_once(
    recordings: Recordings,
    settings: HiloSettings,
    pool: asyncpg.Pool,
    audio: AudioStore,
    published: Published,
) -> None:
    # Older than the retention on the real clock too (the service's job uses it).
    notes = [await recordings.voice_note("+34600111222", AUDIO_DAYS + 1 + i) for i in range(12)]
    config = TranscriberSettings(_env_file=None, transcriber_audio_retention_days=AUDIO_DAYS)

    async with contextlib.AsyncExitStack() as replicas:
        runtimes = [
            await replicas.enter_async_context(
                build(config, backend=NoBackend()).running(settings, http=False)
            )
            for _ in range(2)
        ]

        async def both_ran() -> bool:
            return all("retention" in r.state for r in runtimes)

        await eventually(both_ran)
        await eventually(lambda: outbox_empty(pool))

    reports = [r.state["retention"] for r in runtimes]
    assert sum(r.audio_expired for r in reports) == len(notes)
    assert not any(file_of(audio, n).exists() for n in notes)
    await published.settle()
    sent = published.of("audio.expired")
    assert len(sent) == len({e.event_id for e in sent}) == len(notes)


@pytest.mark.parametrize(
    "retention",
    [
        {"transcriber_audio_retention_days": AUDIO_DAYS},
        {"transcriber_transcript_retention_days": AUDIO_DAYS},
    ],
    ids=["audio expired", "transcript expired"],
)
async def test_a_replayed_note_that_expired_is_not_transcribed_again(
    recordings: Recordings,
    settings: HiloSettings,
    bus: EventBus,
    audio: AudioStore,
    published: Published,
    retention: dict[str, Any],
) -> None:
    note = await recordings.voice_note("+34600111222", AUDIO_DAYS + 5)
    audio_kept = "transcriber_audio_retention_days" not in retention
    config = TranscriberSettings(
        _env_file=None, transcriber_attempts=1, transcriber_allow_loopback=True, **retention
    )
    async with (
        watching(bus, TRANSCRIBER_OUTPUTS, Published()) as outcomes,
        build(config, backend=NoBackend()).running(settings, http=False) as runtime,
    ):

        async def ran() -> bool:
            return "retention" in runtime.state

        await eventually(ran)
        assert file_of(audio, note).exists() is audio_kept

        await bus.publish(note.message)  # as `hilo replay` would
        await settled(bus, "transcriber")

    assert outcomes.events == []
    assert file_of(audio, note).exists() is audio_kept
