"""Events in, events out: decode is done by the runtime, decisions by the domain modules.

Everything arrives on ONE consumer (calls, mode changes, messages, transcripts)
so that each conversation's stream order alone decides who answers a message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from hilo.service import Context, Runtime
from schemas import (
    AudioTranscribed,
    CallAnalyzed,
    CallEnded,
    CallFailed,
    ConversationModeChanged,
    Event,
    MessageReceived,
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
from services.voice_bridge.routing import agent_answers, is_stop_request
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

HANDLED_EVENTS = (
    CallEnded,
    CallAnalyzed,
    CallFailed,
    ConversationModeChanged,
    MessageReceived,
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
        if event.kind == "text" and event.text and event.text.strip():
            await on_customer_text(event, ctx, event.event_id, event.text.strip(), None)
    elif isinstance(event, AudioTranscribed) and event.text.strip():
        await on_customer_text(
            event, ctx, event.message_event_id, event.text.strip(), event.language
        )


# --- calls ---------------------------------------------------------------------


async def on_call_ended(event: CallEnded, ctx: Context) -> None:
    if not is_completed(event):
        await _follow_up_failed_call(event, ctx, event.call_id, event.metadata)
        return
    settings = _settings(ctx.runtime)
    context = call_context(event, settings.voice_bridge_default_language)
    context = await call_openers.completed(ctx.db, event.call_id, context)
    handoff = await ledger.claim_handoff(
        ctx.db,
        call_id=event.call_id,
        conversation=event.conversation,
        cause_event_id=event.event_id,
        outcome="handed_off",
        context=context,
        opener_text=opener_text(context),
    )
    if handoff.published:
        log.info("call %s was handed off already", event.call_id)
        return
    if handoff.outcome == "handed_off" and handoff.context and handoff.opener_text:
        envelope = {
            "conversation": handoff.conversation,
            "correlation_id": event.correlation_id,
            "causation_id": event.event_id,
        }
        await ctx.publish(
            ConversationModeChanged(
                event_id=call_scoped_id(event.call_id, "voice_bridge.mode_voice_agent"),
                mode="voice_agent",
                reason="call_ended",
                call_id=event.call_id,
                **envelope,
            )
        )
        if await call_openers.held(
            ctx.db, settings, event.call_id, handoff.context, event.correlation_id
        ):
            return  # sent when the analyzer's reading of the call arrives, or at a deadline
        opener = ReplyReady(
            event_id=call_scoped_id(event.call_id, "voice_bridge.opener"),
            reply_id=call_scoped_id(event.call_id, "voice_bridge.opener.reply_id"),
            author="voice_agent",
            text=handoff.opener_text,
            language=handoff.context.language,
            business_initiated=True,
            **envelope,
        )
        await ctx.publish(opener)
        await ledger.add_line(
            ctx.db, handoff.conversation, opener.event_id, "agent", opener.text or "", utc_now()
        )
    await ledger.mark_handoff_published(ctx.db, event.call_id)


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
    if handoff.outcome == "failed_follow_up" and handoff.opener_text:
        await ctx.publish(
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
    await ledger.mark_handoff_published(ctx.db, call_id)


# --- who answers -----------------------------------------------------------------


async def on_mode_changed(event: ConversationModeChanged, ctx: Context) -> None:
    await ledger.apply_mode(
        ctx.db,
        conversation=event.conversation,
        mode=event.mode,
        call_id=event.call_id,
        changed_at=event.occurred_at,
        event_id=event.event_id,
    )
    if not agent_answers(event.mode):
        await _pool(ctx.runtime).close(event.conversation)


# --- the agent answers ---------------------------------------------------------------


async def on_customer_text(
    event: MessageReceived | AudioTranscribed,
    ctx: Context,
    message_id: uuid.UUID,
    text: str,
    spoken_language: str | None,
) -> None:
    """Queue the message for the conversation's relay worker; the agent is asked there."""
    mode = await ledger.mode_of(ctx.db, event.conversation)
    if mode is None or not agent_answers(mode.mode):
        return
    conversation = event.conversation
    if is_stop_request(text):
        if ctx.delivery.replayed:
            return  # the mode change this stop caused is in the replay too
        await ctx.publish(
            event.caused(
                ConversationModeChanged,
                "voice_bridge.customer_stop",
                mode="analyzer",
                reason="customer_stop",
                call_id=mode.call_id,
            )
        )
        await _pool(ctx.runtime).close(conversation)
        return
    settings = _settings(ctx.runtime)
    call = await ledger.call_context(ctx.db, mode.call_id)
    language = (
        call.language
        if call
        else normalize_language(spoken_language) or settings.voice_bridge_default_language
    )
    await ledger.touch(ctx.db, conversation, event.occurred_at)
    await ledger.queue_question(
        ctx.db,
        ledger.Question(
            message_event_id=message_id,
            conversation=conversation,
            cause_event_id=event.event_id,
            correlation_id=event.correlation_id,
            question=text,
            asked_at=event.occurred_at,
            language=language,
            reply_event_id=derived_id(message_id, "voice_bridge.reply"),
            reply_id=derived_id(message_id, "voice_bridge.reply_id"),
        ),
    )
    # Also for a known question: its worker may have died before publishing.
    _relay(ctx.runtime).kick(conversation)


# --- background ------------------------------------------------------------------------


async def expire_sessions(runtime: Runtime) -> None:
    """Give quiet voice-agent conversations back to the analyzer, through the stream."""
    settings = _settings(runtime)
    while True:
        try:
            before = utc_now() - timedelta(hours=settings.voice_bridge_session_hours)
            for quiet in await ledger.expired_sessions(runtime.db, before):
                await runtime.publish(
                    ConversationModeChanged(
                        event_id=derived_id(
                            f"{quiet.conversation}:{quiet.last_message_at.isoformat()}",
                            "voice_bridge.session_expired",
                        ),
                        conversation=quiet.conversation,
                        mode="analyzer",
                        reason="voice_session_expired",
                        call_id=quiet.call_id,
                    )
                )
        except Exception:
            log.exception("expiring voice-agent sessions failed")
        await asyncio.sleep(settings.voice_bridge_sweep_seconds)
