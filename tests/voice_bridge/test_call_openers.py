"""The opener after a call takes its pending questions and next steps from the analyzer's
reading of the call when data collection gives none, and never waits for it indefinitely.
Real NATS and PostgreSQL; the analyzer runs in-process where it takes part."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from schemas import CallAnalyzed, CallEnded, CallTurn, utc_now
from services.analyzer.app import build as build_analyzer
from services.analyzer.settings import AnalyzerSettings
from tests.voice_bridge.conftest import BridgeFactory, Published, drained

CUSTOMER = "+573001112299"

TURNS = (
    ("agent", "Hola, soy Marta de Nube Contable. ¿En qué te ayudo?"),
    ("user", "Quería saber cuánto cuesta el plan de empresa"),
    ("agent", "Te mando la cotización mañana por correo."),
    ("user", "Vale, y tengo dudas sobre la migración de los datos"),
    ("agent", "Lo vemos con calma: te llamo el jueves a las 10."),
    ("user", "Perfecto, gracias"),
)


def silent_call(call_id: str) -> CallEnded:
    """A finished call whose data collection says nothing of what is pending or next."""
    started = utc_now() - timedelta(minutes=3)
    return CallEnded(
        conversation=CUSTOMER,
        call_id=call_id,
        status="done",
        started_at=started,
        transcript=tuple(
            CallTurn(role=role, message=text, time_in_call_secs=10 * i)
            for i, (role, text) in enumerate(TURNS)
        ),
        summary="La clienta preguntó por el plan de empresa.",
        dynamic_variables={"customer_name": "Lucía Gómez"},
    )


def analyzed(call: CallEnded) -> CallAnalyzed:
    return CallAnalyzed(
        conversation=call.conversation,
        correlation_id=call.correlation_id,
        causation_id=call.event_id,
        call_id=call.call_id,
        language="es",
        intent="quote",
        sentiment="neutral",
        next_steps=("Enviar cotización, el miércoles 18 de noviembre",),
    )


async def test_the_opener_waits_for_the_analysis_and_takes_its_next_steps(
    bridge: BridgeFactory, bus: EventBus, published: Published, pool: asyncpg.Pool
) -> None:
    call = silent_call("conv_wait_1")
    async with bridge(voice_bridge_analysis_wait_seconds=60):
        await bus.publish(call)
        # The mode changes at once: the contact's next message goes to the agent.
        await published.wait_for("conversation.mode_changed", CUSTOMER)
        await drained(bus)
        assert published.of("reply.ready", CUSTOMER) == []  # held, while the wait lasts
        await bus.publish(analyzed(call))
        [opener] = await published.wait_for("reply.ready", CUSTOMER)
        # Redelivered and replayed: nothing new.
        await bus.publish(analyzed(call))
        await bus.publish_stored(analyzed(call).model_dump(mode="json"), replay_id="r-an")
        await bus.publish(call)
        await drained(bus)

    assert "Próximos pasos: Enviar cotización, el miércoles 18 de noviembre." in opener.text
    assert opener.author == "voice_agent" and opener.business_initiated
    assert len(published.of("reply.ready", CUSTOMER)) == 1
    row = await pool.fetchrow("SELECT * FROM voice_bridge_handoffs WHERE call_id = 'conv_wait_1'")
    assert row["published_at"] is not None and row["opener_due_at"] is None


async def test_without_an_analysis_the_opener_goes_at_its_deadline(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    async with bridge(voice_bridge_analysis_wait_seconds=0.5):
        await bus.publish(silent_call("conv_wait_2"))
        [opener] = await published.wait_for("reply.ready", CUSTOMER)
        # The analysis arriving late changes nothing: the opener was sent.
        await bus.publish(analyzed(silent_call("conv_wait_2")))
        await drained(bus)

    assert "Próximos pasos" not in opener.text
    assert opener.text.startswith("Hola Lucía, hace un momento hablamos de")
    assert len(published.of("reply.ready", CUSTOMER)) == 1


async def test_an_analysis_that_came_first_is_used_at_once(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    call = silent_call("conv_wait_3")
    async with bridge(voice_bridge_analysis_wait_seconds=60):
        await bus.publish(analyzed(call))
        await drained(bus)
        await bus.publish(call)
        [opener] = await published.wait_for("reply.ready", CUSTOMER)

    assert "Próximos pasos: Enviar cotización" in opener.text


@contextlib.asynccontextmanager
async def analyzer_running(settings: HiloSettings) -> AsyncIterator[None]:
    service = build_analyzer(
        AnalyzerSettings(
            hilo_analyzer="rules", analyzer_burst_seconds=0.0, analyzer_reply_max_age_hours=0
        )
    )
    async with service.running(settings, http=False):
        yield


async def test_the_analyzer_reads_the_call_and_the_opener_says_what_was_agreed(
    bridge: BridgeFactory, bus: EventBus, published: Published, settings: HiloSettings
) -> None:
    async with analyzer_running(settings), bridge(voice_bridge_analysis_wait_seconds=60):
        await bus.publish(silent_call("conv_wait_4"))
        [opener] = await published.wait_for("reply.ready", CUSTOMER, timeout=30)

    assert "Próximos pasos:" in opener.text
    assert "jueves" in opener.text and "cotización" in opener.text.lower()
