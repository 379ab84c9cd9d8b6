"""The backbone end to end on real NATS and PostgreSQL: bus → recorder → store → projection."""

from __future__ import annotations

import json
import uuid

import asyncpg

from hilo.bus import EventBus
from hilo.privacy.codec import EventCodec
from hilo.projections.runner import PROJECTIONS, catch_up, rebuild
from hilo.replay import replay
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import drained, eventually
from schemas import (
    AudioTranscribed,
    CallEnded,
    MessageReceived,
    MessageSent,
    MessageStatusReported,
    ReplyReady,
)
from services.projector.app import build as build_projector
from services.recorder.app import build as build_recorder

CONTACT = "+573001112233"


def inbound(text: str, contact: str = CONTACT) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        text=text,
    )


async def test_published_event_reaches_store_and_conversation(
    bus: EventBus, settings: HiloSettings, store: EventStore, pool: asyncpg.Pool
) -> None:
    recorder, projector = build_recorder(), build_projector()
    async with recorder.running(settings), projector.running(settings):
        event = inbound("Hola, ¿estás disponible?")
        await bus.publish(event)

        async def projected() -> dict[str, object] | None:
            async with pool.acquire() as conn:
                doc: dict[str, object] | None = await conn.fetchval(
                    "SELECT doc FROM proj_conversations WHERE conversation=$1", CONTACT
                )
                return doc

        doc = await eventually(projected, timeout=5)
        stored = await store.read_all()
        assert [r.event_id for r in stored] == [event.event_id]
        items = doc["items"]
        assert isinstance(items, dict)
        assert items[f"message:{event.event_id}"]["text"] == "Hola, ¿estás disponible?"


async def test_duplicate_publish_is_absorbed_by_jetstream(bus: EventBus) -> None:
    event = inbound("hola")
    first = await bus.publish(event)
    second = await bus.publish(event)
    assert not first.duplicate
    assert second.duplicate
    assert second.stream_sequence == first.stream_sequence


async def test_recorder_restarted_mid_stream_loses_and_duplicates_nothing(
    bus: EventBus, settings: HiloSettings, store: EventStore
) -> None:
    events = [inbound(f"m{i}", f"+3460000{i % 7:04d}") for i in range(600)]
    recorder = build_recorder()
    async with recorder.running(settings, http=False):
        for event in events[:300]:
            await bus.publish(event)
        await eventually(lambda: _head_at_least(store, 1))
    # Stopped part-way; more events arrive while it is down; then it starts again.
    for event in events[300:]:
        await bus.publish(event)
    async with build_recorder().running(settings, http=False):
        await eventually(lambda: _head_at_least(store, len(events)), timeout=20)
    stored = await store.read_all(limit=10_000)
    assert sorted(r.event_id for r in stored) == sorted(e.event_id for e in events)
    assert [r.position for r in stored] == list(range(1, len(events) + 1))
    # Within each conversation the store keeps the order the bus had.
    for contact in {e.conversation for e in events}:
        in_bus = [e.event_id for e in events if e.conversation == contact]
        in_store = [r.event_id for r in stored if r.stream == store.stream_of(contact)]
        assert in_store == in_bus


async def _head_at_least(store: EventStore, n: int) -> bool:
    return await store.head() >= n


async def test_undecodable_message_goes_to_dead_letters_and_the_rest_is_recorded(
    bus: EventBus, settings: HiloSettings, store: EventStore
) -> None:
    from hilo.dead_letters import read_dead_letters

    good = inbound("ok")
    await bus.publish_raw(
        bus.naming.subject("message.received", bus.stream_of(CONTACT)),
        b'{"not": "an event"}',
        event_id="garbage-1",
        event_type="message.received",
    )
    await bus.publish(good)
    async with build_recorder().running(settings, http=False):
        await eventually(lambda: _head_at_least(store, 1))
        letters = await eventually(lambda: read_dead_letters(bus))
    assert [r.event_id for r in await store.read_all()] == [good.event_id]
    assert letters[0]["consumer"] == "recorder"
    assert "not an event" in letters[0]["reason"]


def _conversation_events(contact: str) -> list[object]:
    received = inbound("Quiero agendar una reunión", contact)
    audio = MessageReceived(
        conversation=contact,
        provider="meta",
        provider_message_id=f"wamid.{uuid.uuid4().hex}",
        kind="audio",
    )
    reply = received.caused(
        ReplyReady, "reply", reply_id=uuid.uuid4(), author="analyzer", text="¿Qué día?"
    )
    sent = reply.caused(
        MessageSent,
        "sent",
        reply_id=reply.reply_id,
        provider="twilio",
        provider_message_id="SMout1",
        sent_at=reply.occurred_at,
    )
    # Statuses out of order: delivered is reported before sent.
    delivered = MessageStatusReported(
        conversation=contact, provider="twilio", provider_message_id="SMout1", status="delivered"
    )
    early_read = MessageStatusReported(
        conversation=contact, provider="twilio", provider_message_id="SMout1", status="read"
    )
    transcript = audio.caused(
        AudioTranscribed,
        "transcribed",
        message_event_id=audio.event_id,
        text="el viernes a las 10",
        backend="local",
        model="tiny.en",
    )
    call = CallEnded(conversation=contact, call_id="conv_1", summary="Quiere una reunión")
    return [received, audio, reply, early_read, sent, delivered, transcript, call]


async def _dump(pool: asyncpg.Pool) -> list[dict[str, object]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM proj_conversations ORDER BY conversation")
    return [{**dict(r), "doc": json.dumps(r["doc"], sort_keys=True)} for r in rows]


async def test_rebuilt_projection_equals_the_live_one(
    store: EventStore, pool: asyncpg.Pool, codec: EventCodec
) -> None:
    projection = PROJECTIONS["conversations"]
    for n in range(5):
        batch = _conversation_events(f"+5730011100{n:02d}")
        # Appended in small batches with catch-ups in between, as the live projector sees them.
        for event in batch:
            await store.append([event])  # type: ignore[list-item]
            if n % 2:
                await catch_up(pool, projection, codec=codec)
    await catch_up(pool, projection, codec=codec)
    live = await _dump(pool)
    count = await rebuild(pool, projection, codec=codec)
    assert count == await store.head()
    assert await _dump(pool) == live
    doc = json.loads(str(live[0]["doc"]))
    sent_item = next(i for i in doc["items"].values() if i.get("provider_message_id") == "SMout1")
    assert sent_item["status"] == "read"  # the furthest status wins, whatever the arrival order
    audio_item = next(i for i in doc["items"].values() if i.get("message_kind") == "audio")
    assert audio_item["transcript"]["status"] == "completed"


async def test_replay_reaches_consumers_again_but_the_store_keeps_one_copy(
    bus: EventBus, settings: HiloSettings, store: EventStore, pool: asyncpg.Pool
) -> None:
    events = [inbound(f"m{i}") for i in range(20)]
    async with build_recorder().running(settings, http=False):
        for event in events:
            await bus.publish(event)
        await eventually(lambda: _head_at_least(store, 20))
        before = (await bus.js.stream_info(bus.naming.events_stream)).state.messages
        count = await replay(pool, bus, 5, 14)
        assert count == 10
        after = (await bus.js.stream_info(bus.naming.events_stream)).state.messages
        assert after == before + 10  # the broker let the replay through…
        await drained(bus, "recorder")  # the recorder has handled the replayed copies
    assert await store.head() == 20  # …and the recorder absorbed it
    assert await replay(pool, None, types=["message.received"]) == 20  # dry run counts only
