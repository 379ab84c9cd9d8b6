"""A service deletes a forgotten contact's readable rows, once, and says so (real PG, NATS)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from hilo.bus import EventBus
from hilo.erasure import ContactColumn, erase_rows, pseudonyms, shared_columns
from hilo.privacy.pseudonyms import derive_key, pseudonym
from hilo.settings import HiloSettings
from hilo.testing import Published, settled, watching
from schemas import ContactDataErased, ContactForgotten
from services.projector.forgetting import NotFoldedYet, after_every_projection
from services.router.app import build
from services.router.settings import RouterSettings
from services.router.store import PERSONAL_COLUMNS

ANA, BETO = "+34600111222", "+573001112233"
KEY = derive_key(bytes(range(32)), "contact pseudonym")


def pseudonym_of(conversation: str) -> str:
    return pseudonym(conversation, KEY) if conversation.startswith("+") else conversation


async def holder(conn: asyncpg.Connection | asyncpg.Pool, contact: str) -> None:
    await conn.execute(
        "INSERT INTO router_holders (conversation, mode) VALUES ($1, 'human')", contact
    )


async def outbox_row(conn: asyncpg.Pool, owner: str, conversation: str) -> None:
    await conn.execute(
        "INSERT INTO hilo_outbox (owner, event_id, conversation, event_type, payload)"
        " VALUES ($1, $2, $3, 'reply.ready', $4)",
        owner,
        uuid.uuid4(),
        conversation,
        json.dumps({"text": "hola"}),
    )


async def contacts(pool: asyncpg.Pool, table: str, column: str = "conversation") -> list[str]:
    rows = await pool.fetch(f"SELECT {column} FROM {table} ORDER BY {column}")
    return [r[0] for r in rows]


async def test_only_the_forgotten_contacts_rows_of_this_service_go(pool: asyncpg.Pool) -> None:
    for contact in (ANA, BETO):
        await holder(pool, contact)
        await outbox_row(pool, "router", contact)
        await outbox_row(pool, "analyzer", contact)
    # A row already under the pseudonym (a sealed outbox row) is the contact's too.
    await outbox_row(pool, "router", pseudonym_of(ANA))
    columns = (*PERSONAL_COLUMNS, *shared_columns("router"))

    async with pool.acquire() as conn, conn.transaction():
        erased = await erase_rows(conn, columns, pseudonym_of(ANA), pseudonym_of)

    assert erased.rows == 3
    assert set(erased.tables) == {"router_holders", "hilo_outbox"}
    assert await contacts(pool, "router_holders") == [BETO]
    rows = await pool.fetch("SELECT owner, conversation FROM hilo_outbox ORDER BY owner")
    assert sorted((r["owner"], r["conversation"]) for r in rows) == [
        ("analyzer", ANA),
        ("analyzer", BETO),
        ("router", BETO),
    ]
    async with pool.acquire() as conn, conn.transaction():
        again = await erase_rows(conn, columns, pseudonym_of(ANA), pseudonym_of)
    assert again.rows == 0


async def test_a_column_of_another_name_and_no_rows(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO flow_contacts (contact, session) VALUES ($1, NULL), ($2, NULL)", ANA, BETO
    )
    async with pool.acquire() as conn, conn.transaction():
        erased = await erase_rows(
            conn,
            (
                ContactColumn("flow_contacts", "contact"),
                ContactColumn("router_holders", "conversation"),
            ),
            pseudonym_of(BETO),
            pseudonym_of,
        )
    assert erased.rows == 1 and erased.tables == ("flow_contacts",)
    assert await contacts(pool, "flow_contacts", "contact") == [ANA]


@pytest_asyncio.fixture
async def erased(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, ("contact.data_erased",), Published()) as seen:
        yield seen


def router_settings(tmp_path: Path) -> RouterSettings:
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    return RouterSettings(hilo_flows_dir=flows)


async def test_the_service_erases_once_and_says_so(
    settings: HiloSettings,
    bus: EventBus,
    pool: asyncpg.Pool,
    erased: Published,
    tmp_path: Path,
) -> None:
    service = build(router_settings(tmp_path))
    async with service.running(settings) as runtime:
        await holder(pool, ANA)
        await holder(pool, BETO)
        forgotten = ContactForgotten(
            conversation=pseudonyms(runtime)(ANA), keys_destroyed=1, requested_by="test"
        )
        await bus.publish(forgotten)

        [answer] = await erased.wait_for("contact.data_erased")
        assert isinstance(answer, ContactDataErased)
        assert (answer.service, answer.rows_deleted, answer.files_deleted) == ("router", 1, 0)
        assert answer.conversation == forgotten.conversation
        assert answer.causation_id == forgotten.event_id
        assert await contacts(pool, "router_holders") == [BETO]

        # A redelivery (a replay lets the same event through JetStream again) erases
        # nothing more and announces nothing new.
        await bus.publish_stored(forgotten.model_dump(mode="json"), replay_id="again")
        await settled(bus, "router-forget")
        assert len(erased.distinct("contact.data_erased")) == 1
        assert [e.event_id for e in erased.of("contact.data_erased")] == [answer.event_id] * len(
            erased.of("contact.data_erased")
        )


async def test_read_models_wait_until_every_projection_is_past_the_event(
    pool: asyncpg.Pool,
) -> None:
    forgotten = ContactForgotten(conversation=pseudonym_of(ANA), keys_destroyed=1, requested_by="t")
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(NotFoldedYet, match="not in the store"):
            await after_every_projection(conn, forgotten)
    from hilo.store.eventstore import EventStore

    [position] = (await EventStore(pool).append([forgotten])).positions
    await pool.execute(
        "INSERT INTO projection_checkpoints (name, position) VALUES"
        " ('conversations', $1), ('inbox', $1), ('flow_sessions', $2)",
        position,
        position - 1,
    )
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(NotFoldedYet, match="flow_sessions"):
            await after_every_projection(conn, forgotten)
    await pool.execute("UPDATE projection_checkpoints SET position = $1", position)
    async with pool.acquire() as conn, conn.transaction():
        await after_every_projection(conn, forgotten)


async def test_ingest_follows_the_store_and_deletes_call_recordings(
    settings: HiloSettings, pool: asyncpg.Pool, erased: Published
) -> None:
    from services.ingest.app import build as build_ingest
    from tests.ingest.conftest import ingest_settings

    recordings = settings.data_dir / "calls"
    recordings.mkdir(parents=True, exist_ok=True)
    for contact, name in ((ANA, "ana.mp3"), (BETO, "beto.mp3")):
        (recordings / name).write_bytes(b"ID3 call")
        await pool.execute(
            "INSERT INTO ingest_calls (call_id, conversation, audio_path) VALUES ($1, $2, $3)",
            f"conv_{name}",
            contact,
            f"calls/{name}",
        )
    async with build_ingest(ingest_settings()).running(settings) as runtime:
        forgotten = ContactForgotten(
            conversation=pseudonyms(runtime)(ANA), keys_destroyed=1, requested_by="test"
        )
        # Only stored, never published: ingest has no consumer, it reads the store.
        from hilo.store.eventstore import EventStore

        await EventStore(pool).append([forgotten])
        [answer] = await erased.wait_for("contact.data_erased", timeout=30)

    assert (answer.service, answer.rows_deleted, answer.files_deleted) == ("ingest", 1, 1)
    assert not (recordings / "ana.mp3").exists()
    assert (recordings / "beto.mp3").exists()
    assert await contacts(pool, "ingest_calls") == [BETO]
