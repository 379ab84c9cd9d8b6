"""`message.received` with a voice note → `audio.transcribed` or `audio.transcription_failed`."""

from __future__ import annotations

import logging

from hilo.service import Context
from schemas import MessageReceived
from services.transcriber.failures import TranscriptionError, should_give_up
from services.transcriber.outcomes import transcribed, transcription_failed
from services.transcriber.pipeline import Pipeline
from services.transcriber.store import RecordingStore

log = logging.getLogger(__name__)


async def on_message_received(event: MessageReceived, ctx: Context) -> None:
    if not event.has_audio:
        return
    if await RecordingStore().let_go(ctx.db, event.event_id):
        # A replay of a note that retention let go: fetching or transcribing it again would
        # bring back what expired.
        log.info("voice note %s: expired, not transcribed again", event.event_id)
        return
    pipeline: Pipeline = ctx.state["pipeline"]
    attempts: int = ctx.state["attempts"]
    try:
        done = await pipeline.run(event)
    except TranscriptionError as error:
        if not should_give_up(error, ctx.delivery.attempt, attempts):
            log.warning(
                "voice note %s: %s (attempt %d of %d, will retry)",
                event.event_id,
                error.reason,
                ctx.delivery.attempt,
                attempts,
            )
            raise  # the bus redelivers it after the back-off
        log.info("voice note %s not transcribed: %s", event.event_id, error.reason)
        await ctx.publish(transcription_failed(event, error, ctx.delivery.attempt))
        return
    backend = pipeline.backend
    await ctx.publish(transcribed(event, done.transcript, backend.name, backend.model, done.sha256))
