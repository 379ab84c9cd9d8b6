"""Re-running the current analyzer over stored conversations (`hilo reanalyze`).

Conversations are folded from the event store exactly as the analyzer's consumer keeps
them, analysed with the configured backend, and the differences against the calendar
and tasks already published are published (unchanged events publish nothing). Never
replies: this is a correction of the record, not a conversation. The CLI only wires the
servers and draws the progress bar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from hilo.bus import EventBus
from hilo.business import InvalidProfile
from hilo.business_time import business_zone, configured_timezone, profile_timezone
from hilo.errors import UserError
from hilo.phones import to_e164
from hilo.privacy.sealing import ForgottenEvent
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, RecordedEvent
from schemas import Event, derived_id
from services.analyzer import pipeline
from services.analyzer.backends import Backend
from services.analyzer.calendar_gate import BookedOnly
from services.analyzer.conversation_log import build_conversation, fold
from services.analyzer.diff import Cause
from services.analyzer.settings import AnalyzerSettings

READ_TYPES = (
    "message.received",
    "audio.transcribed",
    "audio.transcription_failed",
    "call.ended",
    "reply.ready",
)


@dataclass
class Totals:
    conversations: int = 0
    analysed: int = 0
    calendar_changes: int = 0
    task_changes: int = 0


async def conversations_to_read(store: EventStore, contact: str | None) -> list[str]:
    """Every conversation with a stored inbound message, or the one contact's."""
    if contact is None:
        return await store.streams_with("message.received")
    key = to_e164(contact)
    if not await store.streams_with("message.received", stream=key):
        raise UserError(f"no stored messages from {key}")
    return [key]


async def reanalyze(
    pool: asyncpg.Pool,
    bus: EventBus,
    settings: HiloSettings,
    analyzer: AnalyzerSettings,
    backend: Backend,
    contact: str | None,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_conversation: Callable[[], None] = lambda: None,
) -> Totals:
    """Analyse every stored conversation (or one contact's); publish what changed."""
    # Contacts' events are sealed: read with the bus's keys. A stream is a contact's pseudonym
    # (or, stored before sealing, the number): the number comes from the opened events.
    store = EventStore(pool, bus.codec)
    configured_zone = _profile_timezone(analyzer) or configured_timezone(settings)
    streams = await conversations_to_read(store, contact)
    totals = Totals(conversations=len(streams))
    on_start(len(streams))
    done: set[str] = set()
    for stream in streams:
        await _one(store, pool, bus, configured_zone, analyzer, backend, stream, totals, done)
        on_conversation()
    return totals


def _profile_timezone(analyzer: AnalyzerSettings) -> str | None:
    """The business profile's zone: it comes first for the live analyzer too, and dates
    read in another zone would differ from what it published (a due date near midnight)."""
    named = "hilo_business_file" in analyzer.model_fields_set
    try:
        return profile_timezone(analyzer.hilo_business_file, required=named)
    except InvalidProfile as exc:
        raise UserError(str(exc)) from None


def _decoded(records: list[RecordedEvent]) -> list[Event]:
    events = []
    for record in records:
        try:
            event = record.to_event()
        except ValueError:
            continue  # an event this version cannot read changes nothing here
        if not isinstance(event, ForgottenEvent):  # a forgotten contact is not analysed
            events.append(event)
    return events


async def _one(
    store: EventStore,
    pool: asyncpg.Pool,
    bus: EventBus,
    configured_zone: str | None,
    analyzer: AnalyzerSettings,
    backend: Backend,
    stream: str,
    totals: Totals,
    done: set[str],
) -> None:
    records = [r for r in await store.read_stream(stream) if r.type in READ_TYPES]
    first = next(iter(_decoded(records)), None)
    if first is None or first.conversation in done:
        return
    conversation = first.conversation  # the number
    done.add(conversation)
    if conversation != stream:  # and what was stored under the number before sealing
        records = [r for r in await store.read_stream(conversation) if r.type in READ_TYPES]
    events = _decoded(records)
    folded = fold(conversation, events)
    if folded.last_message_id is None or folded.last_correlation_id is None:
        return
    built = build_conversation(
        conversation,
        folded.ordered(),
        timezone=business_zone(
            configured_zone, folded.business_number, analyzer.twilio_whatsapp_from
        ).name,
        contact_name=folded.contact_name,
        call_summary=folded.call_summary,
        limit=analyzer.analyzer_context_messages,
    )
    if not any(m.direction == "inbound" for m in built.messages):
        return
    analysis = await backend.analyze(built)
    cause = Cause(folded.last_message_id, folded.last_correlation_id)
    # The same conclusion over the same messages is the same event: a second run adds nothing.
    fingerprint = hashlib.sha256(analysis.model_dump_json().encode()).hexdigest()[:16]
    intent_id = derived_id(folded.last_message_id, f"analyzer.reanalyze:{fingerprint}")
    await bus.publish(pipeline.intent_event(analysis, conversation, intent_id, cause))
    outcome = await pipeline.publish_changes(
        pool,
        bus.publish,
        built,
        analysis,
        cause,
        folded.business_number,
        gate=BookedOnly(pool),  # business hook (issue 19): only what the analyzer booked
    )
    totals.analysed += 1
    totals.calendar_changes += len(outcome.calendar)
    totals.task_changes += len(outcome.tasks)
