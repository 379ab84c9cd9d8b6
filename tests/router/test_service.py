"""The router on real NATS and PostgreSQL: decisions published once, never re-decided."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, watching
from schemas import (
    CallEnded,
    ConversationHandbackRequested,
    ConversationTakeoverRequested,
    Event,
    MessageReceived,
    MessageRouted,
)
from services.router.app import build
from services.router.settings import RouterSettings

OUTPUT_TYPES = ("message.routed", "conversation.mode_changed")


def message(contact: str, text: str) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        kind="text",
        text=text,
    )


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, OUTPUT_TYPES, Published()) as seen:
        yield seen


def router_settings(tmp_path: Path) -> RouterSettings:
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "intake.yaml").write_text(
        "id: intake\nname: Alta\ntrigger: {keywords: [registro]}\n"
        "questions: [{id: name, text: '¿Nombre?'}]\n"
    )
    return RouterSettings(hilo_flows_dir=flows)


async def routed_once(published: Published, event: MessageReceived) -> MessageRouted:
    """Wait for the message's one assignment (the marker that the router got this far)."""

    async def found() -> MessageRouted | None:
        hits = [
            r for r in published.distinct("message.routed") if r.message_event_id == event.event_id
        ]
        assert len(hits) <= 1
        return hits[0] if hits else None

    return await eventually(found)


async def outbox_rows(pool: asyncpg.Pool, contact: str, bus: EventBus) -> int:
    """The router's outbox rows of the contact (kept under the contact's pseudonym)."""
    count = await pool.fetchval(
        "SELECT count(*) FROM hilo_outbox WHERE owner = 'router' AND conversation = $1",
        bus.stream_of(contact),
    )
    return int(count)


async def test_call_takeover_and_handback_route_each_message_once(
    settings: HiloSettings, bus: EventBus, published: Published, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    contact = "+34600111222"
    service = build(router_settings(tmp_path))
    async with service.running(settings, http=False):
        first = message(contact, "Hola, ¿tenéis cita el lunes?")
        await bus.publish(first)
        assert (await routed_once(published, first)).answerer == "analyzer"

        await bus.publish(CallEnded(conversation=contact, call_id="conv_9", status="done"))
        after_call = message(contact, "Lo que hablamos por teléfono")
        await bus.publish(after_call)
        routed = await routed_once(published, after_call)
        assert (routed.answerer, routed.call_id) == ("voice_agent", "conv_9")

        await bus.publish(ConversationTakeoverRequested(conversation=contact, operator="ana"))
        held = message(contact, "¿Hay alguien?")
        await bus.publish(held)
        assert (await routed_once(published, held)).answerer == "human"

        await bus.publish(ConversationHandbackRequested(conversation=contact, operator="ana"))
        back = message(contact, "Gracias")
        await bus.publish(back)
        assert (await routed_once(published, back)).answerer == "analyzer"

    reasons = [c.reason for c in published.distinct("conversation.mode_changed", contact)]
    assert reasons == ["call_ended", "taken_over", "handed_back"]


async def test_a_replay_of_everything_re_reads_the_decisions(
    settings: HiloSettings, bus: EventBus, published: Published, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    contact = "+34600333444"
    service = build(router_settings(tmp_path))
    facts: list[Event] = [
        message(contact, "Hola"),
        CallEnded(conversation=contact, call_id="conv_1", status="done"),
        message(contact, "¿Y mañana?"),
        message(contact, "registro"),
    ]
    async with service.running(settings, http=False):
        for fact in facts:
            await bus.publish(fact)
        await routed_once(published, facts[-1])  # type: ignore[arg-type]
        decided = await outbox_rows(pool, contact, bus)
        assignments = {r.message_event_id: r.answerer for r in published.distinct("message.routed")}

    # A restart, then every fact and every decision replayed as `hilo replay` does.
    async with service.running(settings, http=False):
        for fact in [*facts, *published.distinct("conversation.mode_changed")]:
            await bus.publish_stored(fact.model_dump(mode="json"), replay_id="r1")
        marker = message(contact, "¿Seguís ahí?")
        await bus.publish(marker)
        assert (await routed_once(published, marker)).answerer == "flow"

    assert await outbox_rows(pool, contact, bus) == decided + 1
    again = {r.message_event_id: r.answerer for r in published.distinct("message.routed")}
    assert {k: again[k] for k in assignments} == assignments
    assert [a for a in assignments.values()] == ["analyzer", "voice_agent", "flow"]


STEPS = st.lists(
    st.sampled_from(["message", "call", "takeover", "handback", "replay", "restart"]),
    min_size=3,
    max_size=10,
)


@pytest.mark.parametrize("seed", [0])
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
async def test_any_interleaving_with_replays_and_restarts_assigns_each_message_once(
    seed: int,
    steps: list[str],
    settings: HiloSettings,
    bus: EventBus,
    published: Published,
    tmp_path: Path,
) -> None:
    contact = f"+3460{uuid.uuid4().int % 10**7:07d}"
    router = build(router_settings(tmp_path))
    sent: list[Event] = []
    messages: list[MessageReceived] = []
    running = router.running(settings, http=False)
    await running.__aenter__()
    try:
        for step in steps:
            fact: Event | None = None
            if step == "message":
                fact = message(contact, "¿Hola?")
                messages.append(fact)
            elif step == "call":
                fact = CallEnded(conversation=contact, call_id=uuid.uuid4().hex, status="done")
            elif step == "takeover":
                fact = ConversationTakeoverRequested(conversation=contact, operator="op")
            elif step == "handback":
                fact = ConversationHandbackRequested(conversation=contact, operator="op")
            elif step == "replay" and sent:
                for earlier in sent:
                    await bus.publish_stored(earlier.model_dump(mode="json"), replay_id="rp")
            elif step == "restart":
                await running.__aexit__(None, None, None)
                running = router.running(settings, http=False)
                await running.__aenter__()
            if fact is not None:
                sent.append(fact)
                await bus.publish(fact)
        marker = message(contact, "fin")
        messages.append(marker)
        await bus.publish(marker)
        await routed_once(published, marker)
    finally:
        await running.__aexit__(None, None, None)
    per_message = {m.event_id: 0 for m in messages}
    for routed in published.distinct("message.routed", contact):
        per_message[routed.message_event_id] += 1
    assert set(per_message.values()) == {1}
