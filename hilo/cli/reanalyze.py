"""`hilo reanalyze [--contact C]`: the current analyzer over stored conversations.

Conversations are folded from the event store exactly as the analyzer's consumer keeps
them, analysed with the configured backend, and the differences against the calendar
and tasks already published are published (unchanged events publish nothing). Never
replies: this is a correction of the record, not a conversation.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from dataclasses import dataclass

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hilo.bus import EventBus
from hilo.business_time import settings_zone
from hilo.cli.connect import database, event_bus
from hilo.cli.errors import UserError
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, RecordedEvent
from schemas import Event, derived_id
from services.analyzer import pipeline
from services.analyzer.backends import Backend, BackendUnavailable, make_backend
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


def reanalyze(settings: HiloSettings, contact: str | None) -> Totals:
    analyzer = AnalyzerSettings()
    try:
        backend = make_backend(analyzer)
    except BackendUnavailable as exc:
        raise UserError(str(exc)) from exc
    totals = asyncio.run(_main(settings, analyzer, backend, contact))
    print(
        f"reanalysed {totals.analysed} of {totals.conversations} conversation(s): "
        f"{totals.calendar_changes} calendar change(s), {totals.task_changes} task change(s)",
        file=sys.stderr,
    )
    return totals


async def _main(
    settings: HiloSettings, analyzer: AnalyzerSettings, backend: Backend, contact: str | None
) -> Totals:
    try:
        async with database(settings) as pool, event_bus(settings) as bus:
            return await run(pool, bus, settings, analyzer, backend, contact)
    finally:
        await backend.close()


async def conversations_to_read(pool: asyncpg.Pool, contact: str | None) -> list[str]:
    if contact is not None:
        from hilo.phones import to_e164

        key = to_e164(contact)
        found = await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream = $1 AND type = 'message.received')",
            key,
        )
        if not found:
            raise UserError(f"no stored messages from {key}")
        return [key]
    rows = await pool.fetch(
        "SELECT DISTINCT stream FROM events WHERE type = 'message.received' ORDER BY stream"
    )
    return [r["stream"] for r in rows]


async def run(
    pool: asyncpg.Pool,
    bus: EventBus,
    settings: HiloSettings,
    analyzer: AnalyzerSettings,
    backend: Backend,
    contact: str | None,
    *,
    show_progress: bool = True,
) -> Totals:
    store = EventStore(pool)
    conversations = await conversations_to_read(pool, contact)
    totals = Totals(conversations=len(conversations))
    columns = (
        TextColumn("reanalysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        task = progress.add_task("reanalyse", total=len(conversations))
        for conversation in conversations:
            await _one(store, pool, bus, settings, analyzer, backend, conversation, totals)
            progress.advance(task)
    return totals


def _decoded(records: list[RecordedEvent]) -> list[Event]:
    events = []
    for record in records:
        try:
            events.append(record.to_event())
        except ValueError:
            continue  # an event this version cannot read changes nothing here
    return events


async def _one(
    store: EventStore,
    pool: asyncpg.Pool,
    bus: EventBus,
    settings: HiloSettings,
    analyzer: AnalyzerSettings,
    backend: Backend,
    conversation: str,
    totals: Totals,
) -> None:
    records = [r for r in await store.read_stream(conversation) if r.type in READ_TYPES]
    folded = fold(conversation, _decoded(list(records)))
    if folded.last_message_id is None or folded.last_correlation_id is None:
        return
    built = build_conversation(
        conversation,
        folded.ordered(),
        timezone=settings_zone(
            settings, folded.business_number, analyzer.twilio_whatsapp_from
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
        pool, bus.publish, built, analysis, cause, folded.business_number
    )
    totals.analysed += 1
    totals.calendar_changes += len(outcome.calendar)
    totals.task_changes += len(outcome.tasks)
