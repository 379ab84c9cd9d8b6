"""What the retention job costs per recording.

Audio: the job reads the store's announcing events into its table, deletes each file, marks
the recordings and records one ``audio.expired`` each through the outbox (published to
JetStream, acknowledged). The peer deletes the same files and does nothing else: the ratio
is the price of doing it as events, once, in a crash-safe order. Transcripts: the same
bookkeeping without files, after destroying the day keys (one statement per run). Events are
stored sealed, so the job opens each announcing event (its conversation) as it goes.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import print_table, servers, service_settings

from hilo.bus import EventBus
from hilo.outbox import Outbox
from hilo.privacy.codec import codec_for
from hilo.privacy.master import master_key
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, create_pool
from schemas import AudioTranscribed, Event, MessageReceived
from services.transcriber.expiry import RetentionJob
from services.transcriber.retention import RetentionPolicy
from services.transcriber.storage import AudioStore

NOTES = 2_000
CONTACTS = 200
ROUNDS = 3
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def voice_notes(audio: AudioStore, count: int) -> tuple[list[Event], list[bytes]]:
    events: list[Event] = []
    contents = []
    for i in range(count):
        at = NOW - timedelta(days=200, seconds=i)
        message = MessageReceived(
            conversation=f"+5730011{i % CONTACTS:05d}",
            occurred_at=at,
            provider="twilio",
            provider_message_id=f"MM{i:030d}",
            kind="audio",
        )
        content = f"OggS {message.event_id} ".encode() * 300  # about 14 kB, a short note
        contents.append(content)
        transcribed = message.caused(
            AudioTranscribed,
            "transcribed",
            occurred_at=at,
            message_event_id=message.event_id,
            text="quiero cambiar la cita al lunes",
            backend="local",
            model="base",
            audio_sha256=audio.put(content),
        )
        events += [message, transcribed]
    return events, contents


async def one_round(settings: HiloSettings) -> tuple[float, float, float]:
    pool = await create_pool(settings.require_database_url())
    codec = codec_for(master_key(settings), pool)
    bus = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    try:
        await bus.ensure_streams()
        audio = AudioStore(settings.data_dir / "audio")
        events, contents = voice_notes(audio, NOTES)
        store = EventStore(pool, codec)  # stored sealed, as the recorder stores them
        for start in range(0, len(events), 1000):
            await store.append(events[start : start + 1000])

        def job(policy: RetentionPolicy) -> RetentionJob:
            outbox = Outbox("transcriber", pool, bus)
            return RetentionJob(pool, outbox, audio, policy, codec, clock=lambda: NOW)

        started = time.perf_counter()
        report = await job(RetentionPolicy(audio_days=30)).run()
        audio_rate = report.audio_expired / (time.perf_counter() - started)
        assert report.files_deleted == NOTES

        started = time.perf_counter()
        report = await job(RetentionPolicy(transcript_days=90)).run()
        transcript_rate = report.transcripts_expired / (time.perf_counter() - started)
        assert report.transcripts_expired == NOTES

        paths = [audio.path_for(audio.put(content)) for content in contents]
        started = time.perf_counter()
        await asyncio.to_thread(_unlink_all, paths)
        unlink_rate = NOTES / (time.perf_counter() - started)
        return audio_rate, unlink_rate, transcript_rate
    finally:
        await bus.close()
        await pool.close()


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink()


async def main() -> None:
    rounds = []
    with servers() as infra:
        for _ in range(ROUNDS):
            # A database of its own per round: the job's table starts empty each time.
            async with service_settings(infra, "retention") as settings_for:
                rounds.append(await one_round(settings_for("r")))
    audio_rate, unlink_rate, transcript_rate = (
        statistics.median(r) for r in zip(*rounds, strict=True)
    )
    print_table(
        f"retention job, {NOTES:,} voice notes past their retention ({ROUNDS} rounds)",
        [
            ("audio expired (peer: the files' os.unlink alone)", audio_rate, unlink_rate),
            ("transcripts expired", transcript_rate, None),
        ],
        "recordings/s",
    )


if __name__ == "__main__":
    asyncio.run(main())
