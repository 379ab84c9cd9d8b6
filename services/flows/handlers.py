"""Events in: decode is done by the runtime, decisions by the engine and the session.

Everything arrives on ONE durable consumer, so each conversation's stream order holds:
a message's text is kept before the router's decision about it arrives, and a mode
change is seen in its place among the messages.
"""

from __future__ import annotations

from hilo.service import Context
from schemas import (
    AudioTranscribed,
    ConversationModeChanged,
    Event,
    FlowSessionReset,
    MessageReceived,
    MessageRouted,
)
from services.flows.engine import FlowEngine

HANDLED_EVENTS = (
    MessageReceived,
    AudioTranscribed,
    MessageRouted,
    ConversationModeChanged,
    FlowSessionReset,
)


class MessageNotSeenYet(Exception):
    """The router's decision came before the message (another replica holds it): retry."""


def _engine(ctx: Context) -> FlowEngine:
    engine = ctx.state["engine"]
    assert isinstance(engine, FlowEngine)
    return engine


async def on_event(event: Event, ctx: Context) -> None:
    engine = _engine(ctx)
    replayed = ctx.delivery.replayed
    if isinstance(event, MessageReceived):
        text = event.text if event.kind != "audio" else None
        async with ctx.db.acquire() as conn:
            await engine.store.keep_message(
                conn, event.event_id, event.conversation, event.kind, text, event.reply_id
            )
    elif isinstance(event, AudioTranscribed):
        async with ctx.db.acquire() as conn:
            message = await engine.store.transcribed(
                conn, event.message_event_id, event.conversation, event.text.strip()
            )
        if message.routed:
            await engine.answer(message, event, replayed)
    elif isinstance(event, MessageRouted):
        if event.answerer != "flow":
            return
        async with ctx.db.acquire() as conn:
            routed = await engine.store.mark_routed(
                conn, event.message_event_id, event.flow_id, event.reason
            )
        if routed is None:
            raise MessageNotSeenYet(f"message {event.message_event_id} not kept yet")
        if routed.kind == "audio" and routed.text is None:
            return  # answered once transcribed
        await engine.answer(routed, event, replayed)
    elif isinstance(event, ConversationModeChanged):
        await engine.mode_changed(event, replayed)
    elif isinstance(event, FlowSessionReset):
        await engine.reset(event, replayed)
