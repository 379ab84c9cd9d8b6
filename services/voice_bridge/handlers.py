"""Events in, events out: decode is done by the runtime, decisions by the domain modules.

Everything arrives on ONE consumer (calls, the router's decisions, mode changes,
messages, transcripts), so each conversation's stream order alone decides what a
message meets. The bridge answers only what the router gives the voice agent
(``message.routed``) and sends a call's opener when the router hands the conversation
over (``conversation.mode_changed``, reason ``call_ended``); it keeps no copy of the mode.
"""

from __future__ import annotations

import logging
import uuid

from hilo.service import Context, Runtime
from schemas import (
    AudioTranscribed,
    CallAnalyzed,
    CallEnded,
    CallFailed,
    ConversationModeChanged,
    Event,
    MessageReceived,
    MessageRouted,
    ReplyReady,
    derived_id,
    utc_now,
)
from services.voice_bridge import call_openers, ledger
from services.voice_bridge.agent_session import SessionPool
from services.voice_bridge.opener import (
    call_context,
    failed_call_language,
    is_completed,
    normalize_language,
    opener_text,
)
from services.voice_bridge.relay import Relay
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

HANDLED_EVENTS = (
    CallEnded,
    CallAnalyzed,
    CallFailed,
    ConversationModeChanged,
    MessageReceived,
    MessageRouted,
    AudioTranscribed,
)


def _settings(runtime: Runtime) -> VoiceBridgeSettings:
    settings = runtime.state["settings"]
    assert isinstance(settings, VoiceBridgeSettings)
    return settings


def _relay(runtime: Runtime) -> Relay:
    relay = runtime.state["relay"]
    assert isinstance(relay, Relay)
    return relay


def _pool(runtime: Runtime) -> SessionPool:
    pool = runtime.state["pool"]
    assert isinstance(pool, SessionPool)
    return pool


def call_scoped_id(call_id: str, purpose: str) -> uuid.UUID:
    """Ids keyed by the call, not by the event that reported it: any report of a call agrees."""
    return derived_id(f"call:{call_id}", purpose)


async def on_event(event: Event, ctx: Context) -> None:
    if isinstance(event, CallEnded):
        await on_call_ended(event, ctx)
    elif isinstance(event, CallFailed):
        await on_call_failed(event, ctx)
    elif isinstance(event, CallAnalyzed):
        await call_openers.on_call_analyzed(event, ctx)
    elif isinstance(event, ConversationModeChanged):
        await on_mode_changed(event, ctx)
    elif isinstance(event, MessageReceived):
        await on_message(event, ctx)
    elif isinstance(event, MessageRouted):
        await on_routed(event, ctx)
    elif isinstance(event, AudioTranscribed) and event.text.strip():
        await on_transcript(event, ctx)


# --- calls ---------------------------------------------------------------------


async def on_call_ended(event: CallEnded, ctx: Context) -> None:
    """Keep the call's context and opener; they go out when the router hands the chat over."""
    if not is_completed(event):
        await _follow_up_failed_call(event, ctx, event.call_id, event.metadata)
        return
    settings = _settings(ctx.runtime)
    context = call_context(event, settings.voice_bridge_default_language)
    context = await call_openers.completed(ctx.db, event.call_id, context)
    await ledger.claim_handoff(
        ctx.db,
        call_id=event.call_id,
        conversation=event.conversation,
        cause_event_id=event.event_id,
        outcome="handed_off",
        context=context,
        opener_text=opener_text(context),
    )


async def on_call_failed(event: CallFailed, ctx: Context) -> None:
    await _follow_up_failed_call(event, ctx, event.call_id, event.metadata)


async def _follow_up_failed_call(
    event: CallEnded | CallFailed, ctx: Context, call_id: str, metadata: dict[str, object]
) -> None:
    settings = _settings(ctx.runtime)
    default = settings.voice_bridge_default_language
    if isinstance(event, CallFailed):
        language = failed_call_language(event, default)
    else:
        language = call_context(event, default).language
    text = settings.failed_call_text(language)
    handoff = await ledger.claim_handoff(
        ctx.db,
        call_id=call_id,
        conversation=event.conversation,
        cause_event_id=event.event_id,
        outcome="failed_follow_up" if text else "failed_silent",
        context=None,
        opener_text=text,
    )
    if handoff.published:
        return
    async with ctx.runtime.transaction() as tx:
        if not await ledger.mark_handoff_published(tx.conn, call_id):
            return
        if handoff.outcome != "failed_follow_up" or not handoff.opener_text:
            return
        await tx.publish(
            ReplyReady(
                event_id=call_scoped_id(call_id, "voice_bridge.failed_follow_up"),
                reply_id=call_scoped_id(call_id, "voice_bridge.failed_follow_up.reply_id"),
                conversation=handoff.conversation,
                correlation_id=event.correlation_id,
                causation_id=event.event_id,
                author="voice_agent",
                text=handoff.opener_text,
                language=language,
                business_initiated=True,
            )
        )


# --- who answers -----------------------------------------------------------------------


async def on_mode_changed(event: ConversationModeChanged, ctx: Context) -> None:
    if ctx.delivery.replayed:
        return  # an old decision: its opener went out (or not) when it was new
    if event.mode == "voice_agent" and event.reason == "call_ended" and event.call_id:
        await _send_opener(event, event.call_id, ctx)
    elif event.mode != "voice_agent":
        # The agent no longer answers here: what it was asked and has not answered is dropped.
        await ledger.withdraw_questions(ctx.db, event.conversation)
        await _pool(ctx.runtime).close(event.conversation)


async def _send_opener(event: ConversationModeChanged, call_id: str, ctx: Context) -> None:
    handoff = await ledger.stored_handoff(ctx.db, call_id)
    if handoff is None or handoff.published:
        return
    if handoff.outcome != "handed_off" or not handoff.context or not handoff.opener_text:
        return
    settings = _settings(ctx.runtime)
    # The analyzer's reading of the call may have come already; else the opener may wait for it.
    context = await call_openers.completed(ctx.db, call_id, handoff.context)
    text = handoff.opener_text if context == handoff.context else opener_text(context)
    if await call_openers.held(ctx.db, settings, call_id, context, event.correlation_id):
        return  # sent when the analyzer's reading of the call arrives, or at a deadline
    opener = ReplyReady(
        event_id=call_scoped_id(call_id, "voice_bridge.opener"),
        reply_id=call_scoped_id(call_id, "voice_bridge.opener.reply_id"),
        author="voice_agent",
        text=text,
        language=context.language,
        business_initiated=True,
        conversation=handoff.conversation,
        correlation_id=event.correlation_id,
        causation_id=event.event_id,
    )
    async with ctx.runtime.transaction() as tx:
        if not await ledger.mark_handoff_published(tx.conn, call_id):
            return
        await ledger.add_line(
            tx.conn, handoff.conversation, opener.event_id, "agent", opener.text or "", utc_now()
        )
        await tx.publish(opener)


# --- the agent answers ---------------------------------------------------------------


async def on_message(event: MessageReceived, ctx: Context) -> None:
    """Remember what the contact wrote: the router's decision about it comes next."""
    text = event.text.strip() if event.kind == "text" and event.text else None
    if text is None and not event.has_audio:
        return
    inbound = await ledger.remember_inbound(
        ctx.db,
        message_event_id=event.event_id,
        conversation=event.conversation,
        correlation_id=event.correlation_id,
        text=text,
        at=event.occurred_at,
    )
    if inbound.routed_to_agent and inbound.text and not ctx.delivery.replayed:
        await _ask(inbound, ctx)  # its routing came first (a crash reordered them)


async def on_routed(event: MessageRouted, ctx: Context) -> None:
    if event.answerer != "voice_agent" or ctx.delivery.replayed:
        return
    inbound = await ledger.route_to_agent(
        ctx.db,
        message_event_id=event.message_event_id,
        conversation=event.conversation,
        correlation_id=event.correlation_id,
        at=event.occurred_at,
        call_id=event.call_id,
    )
    if inbound.text:
        await _ask(inbound, ctx)


async def on_transcript(event: AudioTranscribed, ctx: Context) -> None:
    inbound = await ledger.hear_transcript(
        ctx.db,
        message_event_id=event.message_event_id,
        cause_event_id=event.event_id,
        text=event.text.strip(),
        language=event.language,
    )
    if inbound is not None and inbound.routed_to_agent and not ctx.delivery.replayed:
        await _ask(inbound, ctx)


async def _ask(inbound: ledger.Inbound, ctx: Context) -> None:
    """Queue the message for the conversation's relay worker; the agent is asked there."""
    settings = _settings(ctx.runtime)
    call = await ledger.call_context(ctx.db, inbound.call_id)
    language = (
        call.language
        if call
        else normalize_language(inbound.language) or settings.voice_bridge_default_language
    )
    message_id = inbound.message_event_id
    await ledger.queue_question(
        ctx.db,
        ledger.Question(
            message_event_id=message_id,
            conversation=inbound.conversation,
            cause_event_id=inbound.cause_event_id,
            correlation_id=inbound.correlation_id,
            question=inbound.text or "",
            asked_at=inbound.at,
            language=language,
            reply_event_id=derived_id(message_id, "voice_bridge.reply"),
            reply_id=derived_id(message_id, "voice_bridge.reply_id"),
            call_id=inbound.call_id,
        ),
    )
    # Also for a known question: its worker may have died before publishing.
    _relay(ctx.runtime).kick(inbound.conversation)
