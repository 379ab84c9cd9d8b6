"""The opener after a call, completed by the analyzer's reading of the call.

When ElevenLabs data collection gives no pending questions and no next steps, the opener
is held (the mode change to ``voice_agent`` is not) until ``call.analyzed`` for the call
arrives, carrying what the analyzer found in the call and the chat before it, or until
``VOICE_BRIDGE_ANALYSIS_WAIT_SECONDS`` pass; then it is sent as it is. The analyzer being
down or slow delays the opener by that wait at most, never indefinitely.

Exactly once: holding, releasing (by the analysis or by the deadline) and publishing are
separate steps on ``voice_bridge_handoffs``. Releasing is one conditional UPDATE, so the
analysis and the deadline never both release an opener; the opener's event id is derived
from the call id, as before, and a release that crashed before publishing is published by
the sweep. A replayed ``call.analyzed`` is remembered but releases nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import asyncpg

from hilo.service import Context, Runtime
from schemas import CallAnalyzed, ReplyReady, derived_id, utc_now
from services.voice_bridge import ledger
from services.voice_bridge.opener import (
    CallContext,
    opener_text,
    wants_analysis,
    with_analysis,
)
from services.voice_bridge.opener_store import CallAnalysis, HeldOpener, OpenerStore
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

# A release that never got published (a crash in between) is sent after this long.
UNPUBLISHED_GRACE = timedelta(seconds=30)


def _scoped_id(call_id: str, purpose: str) -> uuid.UUID:
    # The same derivation as handlers.call_scoped_id: any path sends the same opener event.
    return derived_id(f"call:{call_id}", purpose)


async def completed(db: asyncpg.Pool, call_id: str, context: CallContext) -> CallContext:
    """The call's context with the analysis, if it arrived before the call did."""
    if not wants_analysis(context):
        return context
    analysis = await OpenerStore.analysis_of(db, call_id)
    if analysis is None:
        return context
    return with_analysis(context, analysis.pending, analysis.next_steps)


async def held(
    db: asyncpg.Pool,
    settings: VoiceBridgeSettings,
    call_id: str,
    context: CallContext,
    correlation_id: uuid.UUID,
) -> bool:
    """Whether the opener waits for the analysis (now, or did once and is released)."""
    if await OpenerStore.is_held(db, call_id):
        return True
    wait = settings.voice_bridge_analysis_wait_seconds
    if wait <= 0 or not wants_analysis(context):
        return False
    await OpenerStore.hold(db, call_id, utc_now() + timedelta(seconds=wait), correlation_id)
    return True


async def on_call_analyzed(event: CallAnalyzed, ctx: Context) -> None:
    analysis = CallAnalysis(event.pending, event.next_steps)
    await OpenerStore.remember_analysis(ctx.db, event.call_id, event.conversation, analysis)
    if ctx.delivery.replayed:
        return
    context = await ledger.call_context(ctx.db, event.call_id)
    if context is None or not wants_analysis(context):
        return
    context = with_analysis(context, analysis.pending, analysis.next_steps)
    released = await OpenerStore.release(ctx.db, event.call_id, context, opener_text(context))
    if released is not None:
        await _send(ctx.runtime, released)


async def _send(runtime: Runtime, opener: HeldOpener) -> None:
    reply = ReplyReady(
        event_id=_scoped_id(opener.call_id, "voice_bridge.opener"),
        reply_id=_scoped_id(opener.call_id, "voice_bridge.opener.reply_id"),
        conversation=opener.conversation,
        correlation_id=opener.correlation_id,
        causation_id=opener.cause_event_id,
        author="voice_agent",
        text=opener.opener_text,
        language=opener.context.language,
        business_initiated=True,
    )
    async with runtime.transaction() as tx:
        if not await ledger.mark_handoff_published(tx.conn, opener.call_id):
            return  # another path sent it
        await ledger.add_line(
            tx.conn, opener.conversation, reply.event_id, "agent", opener.opener_text, utc_now()
        )
        await tx.publish(reply)


async def release_overdue(runtime: Runtime) -> None:
    """Sends held openers whose wait ran out, as they are; and releases left unpublished."""
    settings = runtime.state["settings"]
    assert isinstance(settings, VoiceBridgeSettings)
    pause = max(0.2, min(settings.voice_bridge_analysis_wait_seconds / 4, 5.0))
    while True:
        try:
            now = utc_now()
            for call_id in await OpenerStore.overdue(runtime.db, now):
                released = await OpenerStore.release(runtime.db, call_id, None, None)
                if released is not None:
                    log.info("call %s: no analysis in time, opener sent without it", call_id)
                    await _send(runtime, released)
            for stuck in await OpenerStore.released_unpublished(
                runtime.db, now - UNPUBLISHED_GRACE
            ):
                await _send(runtime, stuck)
        except Exception:
            log.exception("releasing held openers failed")
        await asyncio.sleep(pause)
