"""Calls in, ``call.analyzed`` out: the I/O around calls.py (see its docstring)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from schemas import CallAnalyzed, CallEnded, Event, derived_id, utc_now
from services.analyzer import ledger
from services.analyzer.call_store import CallStore
from services.analyzer.calls import (
    PENDING_NAMES,
    call_key,
    call_messages,
    call_started_at,
    next_steps,
    pending_items,
)
from services.analyzer.diff import Cause
from services.analyzer.models import Analysis

Publish = Callable[[Event], Awaitable[object]]
Kick = Callable[[str], None]


def call_trigger_id(call_id: str) -> uuid.UUID:
    return derived_id(call_key(call_id), "analyzer.call")


async def record_call(db: asyncpg.Pool, kick: Kick, publish: Publish, event: CallEnded) -> None:
    """Keep the call's turns and queue it for analysis; a known call changes nothing."""
    if event.summary and event.summary.strip():
        await ledger.note_call(
            db, event.conversation, event.call_id, event.summary.strip(), event.occurred_at
        )
    messages = call_messages(event)
    if not any(m.direction == "inbound" for m in messages):
        # Nothing the contact said: nothing to understand, and the opener need not wait.
        await publish(
            CallAnalyzed(
                event_id=derived_id(call_key(event.call_id), "analyzer.call_analyzed"),
                conversation=event.conversation,
                correlation_id=event.correlation_id,
                causation_id=event.event_id,
                call_id=event.call_id,
                language="und",  # undetermined: nobody but the agent spoke
                intent="other",
                sentiment="neutral",
            )
        )
        return
    for message in messages:
        await ledger.add_message(
            db,
            message_id=uuid.UUID(message.id),
            conversation=event.conversation,
            direction=message.direction,
            at=message.at,
            text=message.text,
            source="call",
        )
    trigger = call_trigger_id(event.call_id)
    # Remembered before queued: the worker that picks the trigger up must know it is a call.
    await CallStore.remember(
        db,
        trigger_id=trigger,
        call_id=event.call_id,
        conversation=event.conversation,
        call_at=call_started_at(event),
        turns=len(messages),
    )
    await ledger.queue(
        db,
        trigger_id=trigger,
        conversation=event.conversation,
        message_id=uuid.UUID(messages[-1].id),
        cause_event_id=event.event_id,
        correlation_id=event.correlation_id,
        reply_wanted=False,
        queued_at=utc_now(),
    )
    kick(event.conversation)


async def publish_call_analyses(
    db: asyncpg.Pool,
    publish: Publish,
    trigger_ids: Sequence[uuid.UUID],
    analysis: Analysis,
    conversation: str,
    cause: Cause,
) -> None:
    """After a burst's analysis: one ``call.analyzed`` per call among its triggers."""
    language = analysis.language if analysis.language in PENDING_NAMES else "es"
    for call_id in await CallStore.calls_among(db, trigger_ids):
        await publish(
            CallAnalyzed(
                event_id=derived_id(call_key(call_id), "analyzer.call_analyzed"),
                conversation=conversation,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
                call_id=call_id,
                language=language,
                intent=analysis.intent,
                sentiment=analysis.sentiment,
                pending=pending_items(analysis, language),
                next_steps=next_steps(analysis, language),
            )
        )
