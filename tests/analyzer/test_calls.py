"""A finished call is understood like a chat, with the chat before it (real NATS, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio

from hilo.bus import EventBus
from hilo.testing import Published, watching
from schemas import CallEnded, CallTurn, utc_now
from services.analyzer.calls import call_messages, next_steps, pending_items
from services.analyzer.conversation_log import fold
from services.analyzer.models import Contact, Conversation
from services.analyzer.rules import analyze
from tests.analyzer.conftest import (
    BUSINESS,
    CUSTOMER,
    OUTPUT_TYPES,
    AnalyzerFactory,
    settled,
    text_message,
)

BOGOTA = ZoneInfo("America/Bogota")


def _next_weekday(after: date, weekday: int) -> date:
    day = after + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def finished_call(started_at: datetime, turns: list[tuple[str, str]], call_id: str) -> CallEnded:
    return CallEnded(
        conversation=CUSTOMER,
        occurred_at=started_at + timedelta(seconds=10 * len(turns) + 5),
        call_id=call_id,
        status="done",
        business_number=BUSINESS,
        started_at=started_at,
        duration_seconds=10 * len(turns) + 5,
        transcript=tuple(
            CallTurn(role=role, message=text, time_in_call_secs=10 * i)
            for i, (role, text) in enumerate(turns)
        ),
        summary="El cliente pidió precio del plan de empresa; quedamos en llamarle el jueves.",
    )


CALL = [
    ("agent", "Hola Lucía, soy Marta de Nube Contable. ¿En qué te ayudo?"),
    ("user", "Te escribí por WhatsApp por el plan de empresa, quería saber cuánto cuesta"),
    ("agent", "Claro. Le mando la cotización mañana por correo."),
    ("user", "Vale, y tengo dudas sobre la migración de los datos"),
    ("agent", "Eso lo vemos con calma: te llamo el jueves a las 10."),
    ("user", "Perfecto, gracias"),
]


@pytest_asyncio.fixture
async def seen(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, (*OUTPUT_TYPES, "call.analyzed"), Published()) as published:
        yield published


async def test_a_call_after_a_chat_gives_its_call_and_quote_tasks_once(
    analyzer: AnalyzerFactory, bus: EventBus, seen: Published
) -> None:
    started = utc_now() - timedelta(minutes=5)
    call = finished_call(started, CALL, call_id="conv_call_1")
    async with analyzer() as (_service, runtime):
        await bus.publish(text_message("Hola, ¿tenéis plan de empresa?", at=started))
        await seen.wait_for("reply.ready", CUSTOMER)
        await settled(runtime, bus)
        replies_before = len(seen.distinct("reply.ready"))

        await bus.publish(call)
        [analyzed] = await seen.wait_for("call.analyzed", CUSTOMER)
        await settled(runtime, bus)
        kinds = ("calendar_event.scheduled", "task.created", "intent.detected", "call.analyzed")
        counts = {t: len(seen.distinct(t)) for t in kinds}
        # The webhook delivered again and a replay of it: nothing new.
        await bus.publish(call)
        await bus.publish_stored(call.model_dump(mode="json"), replay_id="r-call")
        await settled(runtime, bus)
        again = {t: len(seen.distinct(t)) for t in counts}

    call_day = started.astimezone(BOGOTA).date()
    thursday = _next_weekday(call_day, 3)
    [event] = seen.distinct("calendar_event.scheduled")
    assert event.kind == "call"
    assert event.start == datetime(thursday.year, thursday.month, thursday.day, 10, tzinfo=BOGOTA)
    tasks = {t.task_type: t for t in seen.distinct("task.created")}
    assert tasks["call"].due == thursday
    assert tasks["quote"].due == call_day + timedelta(days=1)
    # The analysis read the chat and the call as one conversation.
    intent = seen.distinct("intent.detected")[-1]
    assert intent.causation_id == call.event_id
    assert analyzed.call_id == "conv_call_1" and analyzed.language == "es"
    assert any("jueves" in step for step in analyzed.next_steps)
    assert any("cotización" in step.lower() for step in analyzed.next_steps)
    # After a call the voice bridge's opener speaks, not the analyzer.
    assert len(seen.distinct("reply.ready")) == replies_before
    assert again == counts


async def test_a_call_with_nothing_said_by_the_contact_is_analysed_as_nothing_at_once(
    analyzer: AnalyzerFactory, bus: EventBus, seen: Published
) -> None:
    silent = CallEnded(
        conversation=CUSTOMER,
        call_id="conv_only_summary",
        status="done",
        summary="Llamada breve: la clienta colgó enseguida.",
    )
    async with analyzer() as (_service, runtime):
        await bus.publish(silent)
        [analyzed] = await seen.wait_for("call.analyzed", CUSTOMER)
        await settled(runtime, bus)

    assert analyzed.pending == () and analyzed.next_steps == ()
    assert seen.distinct("intent.detected") == []


def test_the_turns_keep_the_calls_time_and_the_speakers() -> None:
    started = datetime(2026, 11, 17, 9, 0, tzinfo=BOGOTA)  # a Tuesday
    messages = call_messages(finished_call(started, CALL, call_id="c2"))
    assert [m.direction for m in messages] == ["outbound", "inbound"] * 3
    assert messages[4].at == started + timedelta(seconds=40)
    assert {m.source for m in messages} == {"call"}
    analysis = analyze(
        Conversation(
            id=CUSTOMER, timezone="America/Bogota", contact=Contact(phone=CUSTOMER),
            messages=messages,
        )
    )  # fmt: skip
    assert [str(e.start) for e in analysis.events] == ["2026-11-19 10:00:00-05:00"]
    steps = next_steps(analysis, "es")
    assert steps[0].endswith("el jueves 19 de noviembre a las 10:00")
    assert "Enviar cotización, el miércoles 18 de noviembre" in steps
    assert pending_items(analysis, "es") == ()


def test_reanalysis_folds_the_calls_turns_into_the_conversation() -> None:
    started = datetime(2026, 11, 17, 9, 0, tzinfo=BOGOTA)
    chat = text_message("Hola, ¿tenéis plan de empresa?", at=started - timedelta(hours=1))
    call = finished_call(started, CALL, call_id="c3")
    folded = fold(CUSTOMER, [chat, call])
    ordered = folded.ordered()
    assert [m.source for m in ordered] == ["text"] + ["call"] * len(CALL)
    assert folded.call_summary == call.summary
