"""Sealing at every boundary, against the real store and JetStream.

What is kept and carried (store rows, JetStream messages and subjects, outbox rows) holds
neither the contact's words nor their number; readers with the keys get both back; once
the keys are destroyed, readers get a forgotten event they skip, never an exception.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from hilo.bus import EventBus
from hilo.cli import render
from hilo.consumer import Consumer, ConsumerSpec, Delivery
from hilo.outbox import Outbox
from hilo.privacy.codec import EventCodec
from hilo.privacy.sealing import ForgottenEvent, erased_scopes
from hilo.projections.runner import PROJECTIONS, catch_up, rebuild
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, NewEvent, create_pool
from hilo.testing import drained, eventually
from schemas import AudioTranscribed, Event, MessageReceived

CONTACT = "+573001112233"
OTHER = "+34600111222"
NAME = "Ana Pérez Quintero"
TEXT = "Quiero una cita el viernes, soy alérgica a la penicilina"


def received(contact: str = CONTACT, text: str = TEXT) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        contact_name=NAME,
        text=text,
        raw={"From": f"whatsapp:{contact}", "Body": text, "WaId": contact.lstrip("+")},
    )


def assert_nothing_readable(*texts: str | bytes) -> None:
    for text in texts:
        value = text.decode() if isinstance(text, bytes) else text
        for secret in (CONTACT, CONTACT.lstrip("+"), NAME, TEXT, "penicilina"):
            assert secret not in value


async def test_the_store_keeps_neither_words_nor_number_and_reads_them_back(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    event = received()
    await store.append([event])
    rows = await pool.fetch("SELECT stream, data::text FROM events")
    assert len(rows) == 1
    assert_nothing_readable(rows[0]["stream"], rows[0]["data"])
    assert rows[0]["stream"] == store.stream_of(CONTACT)
    [record] = await store.read_stream(CONTACT)
    assert record.to_event() == event
    assert record.clear["text"] == TEXT
    assert render.event_line(record)["conversation"] == CONTACT


async def test_jetstream_carries_neither_words_nor_number(bus: EventBus) -> None:
    event = received()
    await bus.publish(event)
    message = await bus.js.get_msg(bus.naming.events_stream, 1)
    assert message.subject is not None and message.data is not None
    assert_nothing_readable(message.subject, message.data)
    assert message.subject == bus.naming.subject("message.received", bus.stream_of(CONTACT))
    assert await bus.decode(message.data) == event


async def test_outbox_rows_are_sealed_and_published_as_they_are(
    bus: EventBus, pool: asyncpg.Pool
) -> None:
    outbox = Outbox("test", pool, bus)
    event = received()
    async with outbox.transaction() as tx:
        await tx.publish(event)
    row = await pool.fetchrow("SELECT conversation, payload, published_at FROM hilo_outbox")
    assert row["published_at"] is not None
    assert_nothing_readable(row["conversation"], row["payload"])
    message = await bus.js.get_msg(bus.naming.events_stream, 1)
    assert message.data == row["payload"].encode()


async def test_a_replay_sends_events_as_stored_and_seals_those_from_before(
    bus: EventBus, store: EventStore, pool: asyncpg.Pool
) -> None:
    from hilo.replay import replay

    sealed, legacy = received(), received(OTHER, "hola de antes")
    await store.append([sealed, NewEvent.from_event(legacy)])  # the second as stored before
    assert await replay(pool, bus) == 2
    first = await bus.js.get_msg(bus.naming.events_stream, 1)
    second = await bus.js.get_msg(bus.naming.events_stream, 2)
    assert first.data is not None and second.data is not None and second.subject is not None
    assert_nothing_readable(first.data)
    assert OTHER.lstrip("+") not in second.subject and b"hola de antes" not in second.data
    assert [await bus.decode(m.data or b"") for m in (first, second)] == [sealed, legacy]


async def test_events_stored_before_sealing_are_still_read(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    legacy = received(text="de antes")
    await store.append([NewEvent.from_event(legacy)])  # plain JSON, the number as stream
    assert await pool.fetchval("SELECT stream FROM events") == CONTACT
    newer = received(text="de ahora")
    await store.append([newer])
    assert [r.to_event() for r in await store.read_stream(CONTACT)] == [legacy, newer]
    assert [r.to_event() for r in await store.read_all()] == [legacy, newer]


async def test_a_forgotten_contact_is_skipped_by_readers_and_others_are_untouched(
    bus: EventBus, store: EventStore, pool: asyncpg.Pool, codec: EventCodec
) -> None:
    mine, theirs = received(), received(OTHER, "hola")
    for event in (mine, theirs):
        await store.append([event])
        await bus.publish(event)
    projection = PROJECTIONS["conversations"]
    await catch_up(pool, projection, codec=codec)
    assert await codec.keyring.destroy(codec.stream_of(CONTACT)) == 1

    records = await store.read_all()
    assert [r.forgotten for r in records] == [True, False]
    forgotten = records[0].to_event()
    assert isinstance(forgotten, ForgottenEvent) and forgotten.event_id == mine.event_id
    assert records[1].to_event() == theirs
    assert render.event_line(records[0])["conversation"] == render.FORGOTTEN
    assert_nothing_readable(str(render.event_line(records[0])))

    # A rebuild leaves the forgotten contact out.
    await rebuild(pool, projection, codec=codec)
    contacts = await pool.fetch("SELECT conversation FROM proj_conversations")
    assert [r["conversation"] for r in contacts] == [OTHER]

    # A consumer acknowledges the forgotten contact's event and hands it to nobody.
    handled: list[Event] = []

    async def handle(event: Event, delivery: Delivery) -> None:
        handled.append(event)

    consumer = Consumer(bus, ConsumerSpec(durable="privacy-test"), handle)
    await consumer.declare()
    task = asyncio.create_task(consumer.run())
    try:
        await drained(bus, "privacy-test")
    finally:
        consumer.stop()
        await task
    assert handled == [theirs]
    from hilo.dead_letters import read_dead_letters

    assert await read_dead_letters(bus) == []


async def test_old_transcripts_read_empty_and_say_they_were_erased(
    store: EventStore, codec: EventCodec
) -> None:
    voice_note = received(text=None)  # type: ignore[arg-type]
    heard = voice_note.caused(
        AudioTranscribed,
        "transcribed",
        message_event_id=voice_note.event_id,
        text=TEXT,
        backend="local",
        model="base",
        occurred_at=datetime.now(UTC) - timedelta(days=40),
    )
    await store.append([voice_note, heard])
    day = heard.occurred_at.date()
    destroyed = await codec.keyring.destroy_transcripts_before(day + timedelta(days=1))
    assert destroyed == [(codec.stream_of(CONTACT), day)]
    records = await store.read_stream(CONTACT)
    read = records[1].to_event()
    assert isinstance(read, AudioTranscribed)
    assert read.text == "" and read.model == "base"
    assert erased_scopes(read) == {f"transcript:{day.isoformat()}"}
    assert records[0].to_event() == voice_note  # the contact's other data stays
    assert not erased_scopes(records[0].to_event())


async def test_a_consumer_sees_the_number_and_the_words(bus: EventBus) -> None:
    seen: list[Event] = []

    async def handle(event: Event, delivery: Delivery) -> None:
        seen.append(event)

    consumer = Consumer(bus, ConsumerSpec(durable="privacy-reader"), handle)
    task = asyncio.create_task(consumer.run())
    try:
        event = received()
        await bus.publish(event)

        async def arrived() -> list[Event]:
            return seen

        await eventually(arrived)
    finally:
        consumer.stop()
        await task
    assert seen == [event]


async def test_the_recorder_stores_what_the_bus_carried_and_seals_what_came_clear(
    bus: EventBus, settings: HiloSettings, store: EventStore, pool: asyncpg.Pool
) -> None:
    from services.recorder.app import build as build_recorder

    sealed, clear = received(), received(OTHER, "de un publicador de antes")
    await bus.publish(sealed)
    # A publisher from before sealing: the event's plain JSON, on a subject without the number.
    await bus.publish_raw(
        bus.naming.subject(clear.type, bus.stream_of(OTHER)),
        clear.to_json(),
        event_id=str(clear.event_id),
        event_type=clear.type,
    )
    async with build_recorder().running(settings, http=False):

        async def both() -> bool:
            return await store.head() == 2

        await eventually(both)
    carried = await bus.js.get_msg(bus.naming.events_stream, 1)
    assert carried.data is not None
    rows = await pool.fetch("SELECT stream, data::text AS data FROM events ORDER BY position")
    assert orjson.loads(rows[0]["data"]) == orjson.loads(carried.data)  # as it came, once sealed
    assert rows[1]["stream"] == store.stream_of(OTHER)
    assert OTHER.lstrip("+") not in rows[1]["data"] and "publicador" not in rows[1]["data"]
    assert [r.to_event() for r in await store.read_all()] == [sealed, clear]


async def test_many_handlers_sealing_at_once_never_wait_on_their_own_pool(
    bus: EventBus, settings: HiloSettings
) -> None:
    """Each transaction holds one of the service's connections while it seals: the keys
    come through the keyring's own connections, or a busy service would deadlock."""
    pool = await create_pool(settings.require_database_url(), max_size=2)
    outbox = Outbox("test", pool, bus)
    contacts = [f"+3460077{n:04d}" for n in range(8)]  # new contacts: new keys to create

    async def handle(contact: str) -> None:
        async with outbox.transaction() as tx:
            await tx.publish(received(contact))

    try:
        # A bound on liveness, not on speed: a deadlock fails here instead of hanging.
        await asyncio.wait_for(asyncio.gather(*(handle(c) for c in contacts)), 60)
        assert await pool.fetchval("SELECT count(*) FROM hilo_outbox") == len(contacts)
    finally:
        await pool.close()


async def test_outbox_rows_from_before_sealing_go_out_sealed(
    bus: EventBus, pool: asyncpg.Pool
) -> None:
    outbox = Outbox("test", pool, bus)
    event = received()
    await pool.execute(  # as a service wrote it before sealing existed
        "INSERT INTO hilo_outbox (owner, event_id, conversation, event_type, payload)"
        " VALUES ('test', $1, $2, $3, $4)",
        event.event_id,
        CONTACT,
        event.type,
        event.model_dump_json(),
    )
    assert await outbox.flush(CONTACT, now=True) == 1
    message = await bus.js.get_msg(bus.naming.events_stream, 1)
    assert message.subject is not None and message.data is not None
    assert_nothing_readable(message.subject, message.data)
    assert await bus.decode(message.data) == event
