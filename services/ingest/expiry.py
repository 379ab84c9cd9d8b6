"""Ingest deletes its own copies of audio whose ``audio.expired`` the store holds.

The retention job runs in the transcriber, which keeps voice notes; call recordings (and
notes sent by `hilo simulate`) are ingest's files, on ingest's volume, so ingest deletes
them once the job has recorded that their time is up. Ingest consumes nothing from the bus
(it scales on its HTTP load), so it reads the facts from the store on its hourly prune,
from where it left off; each process starts from the beginning once, and deleting what is
already gone is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg

from services.ingest.files import remove_recording

log = logging.getLogger(__name__)

PAGE = 1000


class ExpiredRecordings:
    def __init__(self, db: asyncpg.Pool, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir
        self.position = 0

    async def delete_new(self) -> int:
        """Delete the files of the expiries stored since the last call; return how many."""
        removed = 0
        while True:
            rows = await self.db.fetch(
                "SELECT position, stream, data->>'audio_sha256' FROM events"
                " WHERE type = 'audio.expired' AND position > $1 ORDER BY position LIMIT $2",
                self.position,
                PAGE,
            )
            if not rows:
                break
            for _, stream, sha256 in rows:
                if sha256:
                    removed += await asyncio.to_thread(
                        remove_recording, self.data_dir, sha256, stream
                    )
            self.position = rows[-1][0]
        if removed:
            log.info("deleted %d expired recording file(s)", removed)
        return removed
