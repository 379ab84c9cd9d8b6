"""Events in: record them in the analyzer's tables and wake the conversation's worker.

Everything arrives on ONE consumer (messages, the router's decisions, transcripts,
calls, mode changes and the replies sent), so each conversation's stream order alone
decides what a message meets: the transcript of an earlier voice note, the last call's
summary. The analyzer answers only the messages the router gives it (``message.routed``)
and keeps no copy of the mode. Nothing here analyses or publishes; the worker
(responder.py) does, after the burst.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from hilo.service import Context
from schemas import (
    AudioTranscribed,
    AudioTranscriptionFailed,
    CallEnded,
    ConversationModeChanged,
    Event,
    MessageReceived,
    MessageRouted,
    ReplyReady,
    utc_now,
)
from services.analyzer import call_handlers, ledger
from services.analyzer.conversation_log import business_digits, message_text
from services.analyzer.responder import Responder
from services.analyzer.settings import AnalyzerSettings

HANDLED_EVENTS = (
    MessageReceived,
    AudioTranscribed,
    AudioTranscriptionFailed,
    CallEnded,
    ConversationModeChanged,
    MessageRouted,
    ReplyReady,
)


def _answerable(event: Event, ctx: Context) -> bool:
    """A replay never talks to the contact, nor does a first start over months of history."""
    if ctx.delivery.replayed:
        return False
    settings: AnalyzerSettings = ctx.state["settings"]
    max_age = timedelta(hours=settings.analyzer_reply_max_age_hours)
    return settings.analyzer_reply_max_age_hours <= 0 or utc_now() - event.occurred_at <= max_age


def _responder(ctx: Context) -> Responder:
    responder = ctx.state["responder"]
    assert isinstance(responder, Responder)
    return responder


async def on_event(event: Event, ctx: Context) -> None:
    if isinstance(event, MessageReceived):
        await on_message(event, ctx)
    elif isinstance(event, AudioTranscribed):
        await on_transcript(event, ctx)
    elif isinstance(event, AudioTranscriptionFailed):
        await ledger.audio_failed(ctx.db, event.message_event_id)
        _responder(ctx).kick(event.conversation)
    elif isinstance(event, CallEnded):
        await call_handlers.record_call(ctx.db, _responder(ctx).kick, ctx.publish, event)
    elif isinstance(event, MessageRouted):
        await on_routed(event, ctx)
    elif isinstance(event, ConversationModeChanged):
        # Someone else holds the conversation from here: what the analyzer was given before
        # and has not answered yet is not its to answer any more. A replayed change is old news.
        if event.mode != "analyzer" and not ctx.delivery.replayed:
            await ledger.withdraw_replies(ctx.db, event.conversation)
    elif isinstance(event, ReplyReady) and event.text and event.text.strip():
        # What the business said (ours, the voice agent's, a human's): context for later.
        await ledger.add_message(
            ctx.db,
            message_id=event.event_id,
            conversation=event.conversation,
            direction="outbound",
            at=event.occurred_at,
            text=event.text.strip(),
        )


async def on_message(event: MessageReceived, ctx: Context) -> None:
    text = message_text(event)
    if text is None and not event.has_audio:
        return  # a sticker, an image without caption, a reaction: nothing to read or answer
    await ledger.record_message(
        ctx.db,
        message_id=event.event_id,
        conversation=event.conversation,
        at=event.occurred_at,
        text=text or "",
        # A voice note is read once its transcript arrives (or given up on after a wait).
        audio_pending=text is None,
        contact_name=event.contact_name,
        business_number=business_digits(event.business_number),
        correlation_id=event.correlation_id,
        answerable=_answerable(event, ctx),
        queued_at=utc_now(),
    )
    # Also for a known message: its worker may have died before finishing.
    _responder(ctx).kick(event.conversation)


async def on_routed(event: MessageRouted, ctx: Context) -> None:
    """The router's decision: the burst holding the message may now be answered (or not)."""
    if ctx.delivery.replayed:
        return  # decided long ago; the replayed message is not answered again either
    late = await ledger.apply_routing(ctx.db, event.message_event_id, event.answerer)
    if late and event.answerer == "analyzer":
        # The message was analysed before its routing arrived: answer it now.
        await _queue(ctx, event, event.event_id, event.message_event_id, reply_wanted=True)
    else:
        _responder(ctx).kick(event.conversation)


async def on_transcript(event: AudioTranscribed, ctx: Context) -> None:
    if not event.text.strip():
        await ledger.audio_failed(ctx.db, event.message_event_id)
        _responder(ctx).kick(event.conversation)
        return
    await ledger.add_transcript(
        ctx.db,
        message_id=event.message_event_id,
        conversation=event.conversation,
        at=event.occurred_at,
        text=event.text.strip(),
    )
    if await ledger.message_processed(ctx.db, event.message_event_id):
        # The voice note was analysed without its words (the wait ran out): now read them.
        answerer = await ledger.message_answerer(ctx.db, event.message_event_id)
        await _queue(
            ctx, event, event.event_id, event.message_event_id, reply_wanted=answerer == "analyzer"
        )
    else:
        _responder(ctx).kick(event.conversation)


async def _queue(
    ctx: Context,
    event: Event,
    trigger_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    reply_wanted: bool,
) -> None:
    await ledger.queue(
        ctx.db,
        trigger_id=trigger_id,
        conversation=event.conversation,
        message_id=message_id,
        cause_event_id=event.event_id,
        correlation_id=event.correlation_id,
        reply_wanted=reply_wanted and _answerable(event, ctx),
        queued_at=utc_now(),
    )
    # Also for a known trigger: its worker may have died before finishing.
    _responder(ctx).kick(event.conversation)
