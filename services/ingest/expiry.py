"""`audio.expired` → ingest deletes its own copy of that audio.

The retention job runs in the transcriber, which keeps voice notes; call recordings (and
notes sent by `hilo simulate`) are ingest's files, on ingest's volume, so ingest deletes
them when the job says their time is up. Idempotent: a redelivery finds nothing to delete.
"""

from __future__ import annotations

import asyncio
import logging

from hilo.service import Context
from schemas import AudioExpired
from services.ingest.files import remove_recording

log = logging.getLogger(__name__)


async def on_audio_expired(event: AudioExpired, ctx: Context) -> None:
    if not event.audio_sha256:
        return
    removed = await asyncio.to_thread(
        remove_recording, ctx.runtime.settings.data_dir, event.audio_sha256
    )
    if removed:
        log.info("audio %s expired: %d file(s) deleted", event.event_id, removed)
