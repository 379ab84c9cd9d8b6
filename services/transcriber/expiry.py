"""The retention job: audio and transcripts let go after their time, each recorded as an event.

- **What is due** comes from the job's own read model of the event store (``store.py``),
  followed in position order: every ``audio.transcribed`` and ``call.ended`` with a
  transcript, and what of each has expired already.
- **Audio**: the file is deleted first, then ONE transaction marks the recording and adds
  its ``audio.expired`` to the outbox. A crash in between leaves the file gone and the
  recording unmarked: the next run finds nothing to delete and records the event. The
  other order could record a deletion that never happened.
- **Transcripts**: the day keys are destroyed first (``transcript_keys.py``), then each
  transcript's ``transcript.expired`` is recorded the same way.
- **Once**: a recording is marked with ``… IS NULL RETURNING``, and only what this
  transaction marked is recorded; the events' ids derive from the recording, so even a
  republished row is absorbed downstream. A PostgreSQL advisory lock keeps a second
  instance (another replica, ``hilo retention run``) from doing the same work meanwhile:
  it finds the lock taken and does nothing.
- **Dry run**: the read model catches up inside a transaction that is rolled back; no file
  is touched, no key destroyed, nothing recorded.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import asyncpg
from prometheus_client import Counter

from hilo.outbox import Outbox
from hilo.privacy.codec import EventCodec
from hilo.privacy.sealing import Opened
from schemas import utc_now
from services.transcriber.retention import (
    Recording,
    RetentionPolicy,
    RetentionReport,
    audio_expired,
    transcript_expired,
)
from services.transcriber.storage import AudioStore
from services.transcriber.store import Due, RecordingStore
from services.transcriber.transcript_keys import KeyShredder, shredder

log = logging.getLogger(__name__)

LOCK_KEY = zlib.crc32(b"hilo transcriber retention") & 0x7FFFFFFF

Clock = Callable[[], datetime]

EXPIRED = Counter("hilo_retention_expired_total", "Recordings let go by retention", ["what"])


class RetentionJob:
    def __init__(
        self,
        db: asyncpg.Pool,
        # Where the events go; None for a job that only ever runs dry.
        outbox: Outbox | None,
        audio: AudioStore,
        policy: RetentionPolicy,
        # Opens the announcing events (the conversation, a call's sealed transcript) and
        # holds the keyring whose transcript keys the job destroys.
        codec: EventCodec,
        *,
        clock: Clock = utc_now,
        batch: int = 200,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.audio = audio
        self.policy = policy
        self.codec = codec
        self.shred: KeyShredder = shredder(codec.keyring)
        self.clock = clock
        self.batch = batch
        self.store = RecordingStore()

    async def run(self, *, dry_run: bool = False) -> RetentionReport:
        now = self.clock()
        report = RetentionReport(
            dry_run=dry_run,
            audio_cutoff=self.policy.audio_cutoff(now),
            transcript_cutoff_day=self.policy.transcript_cutoff_day(now),
        )
        if self.policy.keeps_everything:
            return report
        if dry_run:
            await self._count(now, report)
            return report
        if self.outbox is None:
            raise ValueError("a retention run that records events needs an outbox")
        # Released with the session too, so a crashed instance never blocks the next.
        async with self.db.acquire() as lock:
            if not await lock.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                report.skipped = True
                return report
            try:
                await self._run(now, report)
            finally:
                await lock.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        log.info(
            "retention: %d audio expired (%d files deleted), %d transcripts expired"
            " (%d day keys destroyed)",
            report.audio_expired,
            report.files_deleted,
            report.transcripts_expired,
            report.keys_destroyed,
        )
        return report

    async def _run(self, now: datetime, report: RetentionReport) -> None:
        async with self.db.acquire() as conn, conn.transaction():
            await self.store.catch_up(conn, self.codec)
        audio_cutoff = self.policy.audio_cutoff(now)
        if audio_cutoff is not None:
            await self._expire_audio(now, audio_cutoff, report)
        day = self.policy.transcript_cutoff_day(now)
        transcript_cutoff = self.policy.transcript_cutoff(now)
        if day is not None and transcript_cutoff is not None:
            report.keys_destroyed = await self.shred(day)
            await self._expire_transcripts(now, transcript_cutoff, report)

    async def _expire_audio(self, now: datetime, cutoff: datetime, report: RetentionReport) -> None:
        assert self.outbox is not None
        days = self.policy.audio_days or 0
        while True:
            async with self.db.acquire() as conn:
                found = await self.store.audio_due(conn, cutoff, self.batch)
                if not found:
                    return
                due = await self._addressed(found)
                files = {r.audio_sha256 for r in due if r.keeps_file_here and r.audio_sha256}
                shared = await self.store.still_needed(conn, sorted(files), cutoff)
            report.files_deleted += await asyncio.to_thread(
                self._delete, [r for r in due if r.audio_sha256 in files - shared]
            )
            async with self.outbox.transaction() as tx:
                fresh = await self.store.mark_audio_expired(
                    tx.conn, [r.source_event_id for r in due], now
                )
                await tx.publish_all(
                    [audio_expired(r, days, now) for r in due if self._records(r, fresh)]
                )
            report.audio_expired += len(fresh)
            EXPIRED.labels("audio").inc(len(fresh))

    async def _addressed(self, found: list[Due]) -> list[Recording]:
        """The recordings with their conversation, opened from the announcing events; a
        forgotten contact's stay without one (their expiry is marked, not recorded)."""
        opened = await self.codec.open_many([announced for _, announced in found])
        return [
            replace(recording, conversation=str(o.data["conversation"]))
            if isinstance(o, Opened)
            else recording
            for (recording, _), o in zip(found, opened, strict=True)
        ]

    @staticmethod
    def _records(recording: Recording, fresh: set[uuid.UUID]) -> bool:
        """This transaction marked it, and its contact was not forgotten."""
        return recording.source_event_id in fresh and recording.conversation is not None

    def _delete(self, recordings: list[Recording]) -> int:
        """One thread hop per batch, not per file (a file two recordings share goes once)."""
        return sum(self.audio.delete(r.audio_sha256) for r in recordings if r.audio_sha256)

    async def _expire_transcripts(
        self, now: datetime, cutoff: datetime, report: RetentionReport
    ) -> None:
        assert self.outbox is not None
        days = self.policy.transcript_days or 0
        while True:
            async with self.db.acquire() as conn:
                found = await self.store.transcripts_due(conn, cutoff, self.batch)
            if not found:
                return
            due = await self._addressed(found)
            async with self.outbox.transaction() as tx:
                fresh = await self.store.mark_transcripts_expired(
                    tx.conn, [r.source_event_id for r in due], now
                )
                await tx.publish_all(
                    [transcript_expired(r, days, now) for r in due if self._records(r, fresh)]
                )
            report.transcripts_expired += len(fresh)
            EXPIRED.labels("transcript").inc(len(fresh))

    async def _count(self, now: datetime, report: RetentionReport) -> None:
        audio_cutoff = self.policy.audio_cutoff(now)
        transcript_cutoff = self.policy.transcript_cutoff(now)
        async with self.db.acquire() as conn:
            rollback = conn.transaction()
            await rollback.start()
            try:
                await self.store.catch_up(conn, self.codec)
                if audio_cutoff is not None:
                    report.audio_expired = await self.store.count_audio_due(conn, audio_cutoff)
                if transcript_cutoff is not None:
                    report.transcripts_expired = await self.store.count_transcripts_due(
                        conn, transcript_cutoff
                    )
            finally:
                await rollback.rollback()
