"""Event store and bus throughput beside their peers, on the same servers in the same run.

Peers: the `eventsourcing` library's PostgreSQL application recorder (append and read its
notifications) for the store, and a raw nats-py JetStream publish loop for the bus.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import nats
from _common import print_table, rate, servers, side_by_side
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from hilo.bus import EventBus
from hilo.embedded import ensure_database
from hilo.privacy.codec import codec_for
from hilo.privacy.master import decode_master_key
from hilo.projections.runner import ConversationsProjection, rebuild
from hilo.store.eventstore import EventStore, NewEvent, create_pool
from hilo.store.migrations import migrate_url
from hilo.testing import TEST_MASTER_KEY
from schemas import MessageReceived

SINGLE = 1_500
BATCH = 100
BATCHED_TOTAL = 20_000
PUBLISHES = 2_000
CONVERSATIONS = 200
TOPIC = "hilo.message.received"


def sample_events(count: int) -> list[MessageReceived]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        MessageReceived(
            conversation=f"+5730011{i % CONVERSATIONS:05d}",
            occurred_at=start + timedelta(seconds=i),
            provider="twilio",
            provider_message_id=f"SM{uuid.uuid4().hex}",
            contact_name="Cliente de prueba",
            text=f"Hola, quiero agendar una reunión el viernes a las 10 (mensaje {i})",
        )
        for i in range(count)
    ]


def as_new(events: list[MessageReceived]) -> list[NewEvent]:
    return [NewEvent.from_event(e) for e in events]


def as_stored(events: list[NewEvent]) -> list[StoredEvent]:
    # One aggregate per event, version 1, so the peer also does one row per event.
    return [StoredEvent(e.event_id, 1, TOPIC, e.data_json.encode()) for e in events]


def eventsourcing_recorder(database_url: str) -> PostgresApplicationRecorder:
    url = urlparse(database_url)
    host = parse_qs(url.query).get("host", [url.hostname or "127.0.0.1"])[0]
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=host,
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        pool_size=4,
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


async def measure_store(server_uri: str) -> list[tuple[str, float, float | None]]:
    hilo_url = await ensure_database(server_uri, "bench_hilo")
    peer_url = await ensure_database(server_uri, "bench_eventsourcing")
    await migrate_url(hilo_url)
    pool = await create_pool(hilo_url, max_size=4)
    store = EventStore(pool)
    peer = eventsourcing_recorder(peer_url)

    def single_input() -> list[NewEvent]:
        return as_new(sample_events(SINGLE))

    def batched_input() -> list[NewEvent]:
        return as_new(sample_events(BATCHED_TOTAL))

    async def hilo_append(events: list[NewEvent], size: int) -> int:
        for i in range(0, len(events), size):
            await store.append(events[i : i + size])
        return len(events)

    async def peer_append(events: list[NewEvent], size: int) -> int:
        # The peer's API is synchronous; a thread per call is how an asyncio service uses it.
        stored = as_stored(events)
        for i in range(0, len(stored), size):
            await asyncio.to_thread(peer.insert_events, stored[i : i + size])
        return len(stored)

    async def hilo_single(events: list[NewEvent]) -> int:
        return await hilo_append(events, 1)

    async def hilo_batched(events: list[NewEvent]) -> int:
        return await hilo_append(events, BATCH)

    async def peer_single(events: list[NewEvent]) -> int:
        return await peer_append(events, 1)

    async def peer_batched(events: list[NewEvent]) -> int:
        return await peer_append(events, BATCH)

    def nothing() -> None:
        return None

    async def hilo_read_all(_: None) -> int:
        count = 0
        async for page in store.iterate_all(page=5000):
            count += len(page)
        return count

    async def peer_read_all(_: None) -> int:
        def read() -> int:
            count, start = 0, 1
            while True:
                page = peer.select_notifications(start, 5000)
                if not page:
                    return count
                count += len(page)
                start = page[-1].id + 1

        return await asyncio.to_thread(read)

    async def hilo_rebuild(_: None) -> int:
        return await rebuild(pool, ConversationsProjection())

    rows: list[tuple[str, float, float | None]] = []
    ours, theirs = await side_by_side(hilo_single, peer_single, single_input)
    rows.append(("append, one event a transaction", ours, theirs))
    ours, theirs = await side_by_side(hilo_batched, peer_batched, batched_input)
    rows.append((f"append, {BATCH} events a transaction", ours, theirs))
    ours, theirs = await side_by_side(hilo_read_all, peer_read_all, nothing)
    rows.append(("read all in order (pages of 5000)", ours, theirs))
    rows.append(("rebuild the conversations projection", await rate(hilo_rebuild, nothing), None))
    await pool.close()
    peer.datastore.close()
    return rows


async def measure_bus(nats_url: str, server_uri: str) -> list[tuple[str, float, float | None]]:
    # Contacts' events are sealed on the way out (per-contact keys in PostgreSQL, cached).
    pool = await create_pool(await ensure_database(server_uri, "bench_hilo"), max_size=2)
    codec = codec_for(decode_master_key(TEST_MASTER_KEY), pool)
    bus = await EventBus.connect(nats_url, "bench", codec=codec)
    await bus.ensure_streams()
    raw = await nats.connect(nats_url)
    js = raw.jetstream()

    def publish_input() -> list[MessageReceived]:
        return sample_events(PUBLISHES)

    async def hilo_publish(events: list[MessageReceived]) -> int:
        for event in events:
            await bus.publish(event)
        return len(events)

    async def raw_publish(events: list[MessageReceived]) -> int:
        # Same subjects, payloads and dedupe header; only our wrapper is missing.
        for event in events:
            sealed = await bus.seal(event)  # the same sealed payload: only the wrapper differs
            subject = bus.naming.subject(event.type, sealed.stream)
            await js.publish(
                subject, sealed.json.encode(), headers={"Nats-Msg-Id": str(event.event_id)}
            )
        return len(events)

    ours, theirs = await side_by_side(hilo_publish, raw_publish, publish_input)
    await raw.drain()
    await bus.close()
    await pool.close()
    return [("publish (sealed) and await the JetStream ack", ours, theirs)]


async def main() -> None:
    with servers() as infra:
        store_rows = await measure_store(infra.server_uri)
        bus_rows = await measure_bus(infra.nats_url, infra.server_uri)
    print_table(
        "Event store (PostgreSQL) vs eventsourcing's PostgresApplicationRecorder",
        store_rows,
        "events/s",
    )
    print_table("Event bus (JetStream, fsync on every write) vs raw nats-py", bus_rows, "events/s")


if __name__ == "__main__":
    asyncio.run(main())
