"""What sealing personal data costs: per event, and on the store's append and read.

- Seal and open one typical ``message.received`` (a name, a text, the provider's payload):
  the codec alone, keys in hand (µs per event, median and p99), beside plain JSON encoding
  and decoding of the same event (the peer: what every event cost before sealing).
- The event store with sealing (keys in PostgreSQL, cached per process) against the same
  store writing plain JSON, on the same server in the same run, their rounds in turn:
  appends in batches of 100, then reading everything back as typed events.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
from _common import percentile, print_table, servers, service_settings, side_by_side
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hilo.privacy import sealing
from hilo.privacy.codec import codec_for
from hilo.privacy.keyring import CONTACT_SCOPE, DataKey
from hilo.privacy.master import master_key
from hilo.store.eventstore import EventStore, NewEvent, create_pool
from schemas import MessageReceived, registry

PER_EVENT = int(os.environ.get("BENCH_SEALING_EVENTS", "5000"))
STORED = int(os.environ.get("BENCH_SEALING_STORED", "4000"))
CONTACTS = 200
BATCH = 100


def typical(i: int, contact: int = 0) -> MessageReceived:
    number = f"+5730011{contact:05d}"
    text = f"Hola, quiero agendar una reunión el viernes a las 10, es sobre el pedido {i}"
    return MessageReceived(
        conversation=number,
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=i),
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        contact_name="Lucía Fernández",
        text=text,
        raw={"From": f"whatsapp:{number}", "Body": text, "ProfileName": "Lucía Fernández"},
    )


def microseconds(operation: Callable[[int], object], count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        operation(i)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def per_event() -> list[tuple[str, float, float | None]]:
    key = DataKey(uuid.uuid4(), "c" + "a" * 26, CONTACT_SCOPE, AESGCM(AESGCM.generate_key(256)))
    keys = {CONTACT_SCOPE: key}
    found: dict[str, DataKey | None] = {str(key.key_id): key}
    events = [typical(i) for i in range(PER_EVENT)]
    dumped = [e.model_dump(mode="json") for e in events]
    sealed = [orjson.dumps(sealing.seal(d, key.pseudonym, keys)) for d in dumped]
    plain = [e.model_dump_json() for e in events]

    def seal(i: int) -> object:
        return orjson.dumps(sealing.seal(events[i].model_dump(mode="json"), key.pseudonym, keys))

    def encode(i: int) -> object:
        return events[i].model_dump_json()

    def unseal(i: int) -> object:
        return sealing.open_sealed(orjson.loads(sealed[i]), found).to_event()

    def decode(i: int) -> object:
        return registry.decode_json(plain[i])

    rows: list[tuple[str, float, float | None]] = []
    for name, ours, theirs in (("seal", seal, encode), ("open", unseal, decode)):
        ours_times, their_times = microseconds(ours, PER_EVENT), microseconds(theirs, PER_EVENT)
        rows.append((f"{name}: median", percentile(ours_times, 0.5), percentile(their_times, 0.5)))
        rows.append((f"{name}: p99", percentile(ours_times, 0.99), percentile(their_times, 0.99)))
    size = sum(len(s) for s in sealed) / len(sealed)
    print(f"typical message.received: {size:,.0f} bytes sealed, {len(plain[0]):,} plain")
    return rows


async def through_the_store() -> list[tuple[str, float, float | None]]:
    with servers() as infra:
        async with (
            service_settings(infra, "sealed") as sealed_settings,
            service_settings(infra, "plain") as plain_settings,
        ):
            settings = sealed_settings("bse")
            sealed_pool = await create_pool(settings.require_database_url(), max_size=4)
            plain_pool = await create_pool(plain_settings("bpl").require_database_url(), max_size=4)
            sealed_store = EventStore(sealed_pool, codec_for(master_key(settings), sealed_pool))
            plain_store = EventStore(plain_pool)
            try:

                def prepare() -> list[MessageReceived]:
                    return [typical(i, i % CONTACTS) for i in range(STORED)]

                async def append_sealed(events: list[MessageReceived]) -> int:
                    for start in range(0, len(events), BATCH):
                        await sealed_store.append(events[start : start + BATCH])
                    return len(events)

                async def append_plain(events: list[MessageReceived]) -> int:
                    for start in range(0, len(events), BATCH):
                        chunk = events[start : start + BATCH]
                        await plain_store.append([NewEvent.from_event(e) for e in chunk])
                    return len(events)

                appended = await side_by_side(append_sealed, append_plain, prepare)

                async def read(store: EventStore) -> int:
                    count = 0
                    async for page in store.iterate_all(page=5000):
                        count += len([r.to_event() for r in page])
                    return count

                async def read_sealed(_: None) -> int:
                    return await read(sealed_store)

                async def read_plain(_: None) -> int:
                    return await read(plain_store)

                read_rates = await side_by_side(read_sealed, read_plain, lambda: None)
            finally:
                await sealed_pool.close()
                await plain_pool.close()
    return [
        (f"append, batches of {BATCH}", *appended),
        ("read all as typed events", *read_rates),
    ]


def print_microseconds(title: str, rows: list[tuple[str, float, float | None]]) -> None:
    print(f"\n{title}")
    print(f"  {'measure':<20} {'sealed':>9} {'plain':>9} {'ratio':>7}  (µs per event)")
    for name, ours, peer in rows:
        assert peer is not None
        print(f"  {name:<20} {ours:9.1f} {peer:9.1f} {ours / peer:7.2f}")


async def main() -> None:
    print_microseconds(
        "Sealing one typical message.received (keys in hand) vs plain JSON", per_event()
    )
    print_table(
        f"Event store with sealing vs plain JSON, {STORED:,} events over {CONTACTS} contacts",
        await through_the_store(),
        "events/s",
    )


if __name__ == "__main__":
    asyncio.run(main())
