"""Forgetting itself (hilo/forgetting.py and `hilo contacts forget`): keys, fact, idempotence."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import pytest

from hilo.bus import EventBus
from hilo.forgetting import (
    Forgetting,
    NotAnnounced,
    UnknownContact,
    erasing_services,
    forget_contact,
    wait_for_erasures,
)
from hilo.privacy.codec import EventCodec
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import Published, watching
from schemas import ContactDataErased, MessageReceived
from tests.privacy.test_forget import hilo

ANA = "+34600111222"


def hello(contact: str = ANA) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        contact_name="Ana",
        text="Hola, soy Ana",
    )


async def forget(
    pool: asyncpg.Pool, bus: EventBus, codec: EventCodec, number: str = ANA
) -> Forgetting:
    return await forget_contact(
        number,
        requested_by="test",
        pool=pool,
        bus=bus,
        keys=codec.keyring,
        pseudonym_of=codec.stream_of,
    )


async def test_forgetting_destroys_the_keys_once_and_says_so_twice(
    store: EventStore, pool: asyncpg.Pool, bus: EventBus, codec: EventCodec
) -> None:
    await store.append([hello()])
    async with watching(bus, ("contact.forgotten",), Published()) as published:
        first = await forget(pool, bus, codec)
        assert not first.already_forgotten and first.event.keys_destroyed == 1
        assert first.pseudonym == codec.stream_of(ANA) and ANA not in first.event.model_dump_json()
        assert first.event.requested_by == "test"

        again = await forget(pool, bus, codec)
        assert again.already_forgotten and again.event == first.event
        await published.settle()
    # Published twice with one id (a run that stopped before publishing is completed);
    # stored once.
    assert {e.event_id for e in published.of("contact.forgotten")} == {first.event.event_id}
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'contact.forgotten'") == 1
    [record] = [r for r in await store.read_all() if r.type == "message.received"]
    assert record.forgotten


async def test_an_unknown_contact_and_keys_destroyed_by_a_run_that_stopped(
    store: EventStore, pool: asyncpg.Pool, bus: EventBus, codec: EventCodec
) -> None:
    with pytest.raises(UnknownContact, match="…1222"):
        await forget(pool, bus, codec)
    assert await pool.fetchval("SELECT count(*) FROM events") == 0

    await store.append([hello()])
    # A run destroyed the keys, then stopped before recording the fact: it is recorded now.
    await codec.keyring.destroy(codec.stream_of(ANA))
    completed = await forget(pool, bus, codec)
    assert not completed.already_forgotten and completed.event.keys_destroyed == 0


async def test_waiting_for_erasures_reads_the_services_answers_from_the_store(
    store: EventStore, pool: asyncpg.Pool, bus: EventBus, codec: EventCodec
) -> None:
    await store.append([hello()])
    forgetting = await forget(pool, bus, codec)
    expected = erasing_services()
    assert {"projector", "transcriber", "analyzer", "ingest"} <= set(expected)
    answers = [
        forgetting.event.caused(
            ContactDataErased, f"data_erased:{name}", service=name, rows_deleted=2
        )
        for name in expected[:-1]
    ]
    await EventStore(pool).append(answers)
    partial = await wait_for_erasures(pool, forgetting.event, timeout=0)
    assert partial.missing == [expected[-1]]
    assert {r["service"]: r["rows"] for r in partial.rows()}[expected[0]] == 2

    last = forgetting.event.caused(
        ContactDataErased, f"data_erased:{expected[-1]}", service=expected[-1]
    )
    await EventStore(pool).append([last])
    assert (await wait_for_erasures(pool, forgetting.event, timeout=10)).complete


async def test_the_command_waits_and_says_who_has_not_answered(
    settings: HiloSettings, store: EventStore, tmp_path: Path
) -> None:
    await store.append([hello()])
    # No service runs: nobody answers within --wait, exit 2 naming them all.
    done = await asyncio.to_thread(
        hilo,
        settings,
        tmp_path,
        "contacts",
        "forget",
        "0034 600 111 222",
        "--yes",
        "--wait",
        "0",
        "--json",
    )
    assert done.returncode == 2, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["contact"] == "…1222" and outcome["keys_destroyed"] == 1
    assert outcome["waiting_for"] == list(erasing_services())
    assert "not confirmed yet by: " in done.stderr

    # Without --yes it asks; "no" changes nothing.
    declined = await asyncio.to_thread(
        hilo, settings, tmp_path, "contacts", "forget", "whatsapp:+573001112233"
    )
    assert declined.returncode == 1 and "Forget the contact …2233?" in declined.stdout
    assert "Traceback" not in declined.stderr


async def test_nats_away_is_said_and_forgetting_again_completes(
    settings: HiloSettings,
    store: EventStore,
    pool: asyncpg.Pool,
    bus: EventBus,
    codec: EventCodec,
) -> None:
    await store.append([hello()])
    away = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    await away.close()
    with pytest.raises(NotAnnounced, match="forget again"):
        await forget(pool, away, codec)
    assert await codec.keyring.get(codec.stream_of(ANA)) is None

    async with watching(bus, ("contact.forgotten",), Published()) as published:
        completed = await forget(pool, bus, codec)
        [announced] = await published.wait_for("contact.forgotten")
    assert not completed.already_forgotten and announced.event_id == completed.event.event_id
