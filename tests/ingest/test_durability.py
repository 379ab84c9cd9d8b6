"""What reaches the store and the projection, and what happens when NATS is away."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from hilo.bus import EventBus
from hilo.embedded import EmbeddedNats, free_port
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import eventually
from services.projector.app import build as build_projector
from services.recorder.app import build as build_recorder
from tests.ingest.conftest import (
    CONTACT,
    IngestFactory,
    envelope,
    inbound_form,
    meta_message,
    meta_payload,
    meta_value,
    status_form,
    transcription_data,
)


async def test_one_contact_is_one_conversation_across_providers(
    ingest: IngestFactory, settings: HiloSettings, store: EventStore, bus: EventBus
) -> None:
    async with ingest() as running, build_recorder().running(settings, http=False):
        twilio = await running.twilio(inbound_form("por WhatsApp (Twilio)"))
        meta = await running.meta(
            meta_payload(
                meta_value(messages=[meta_message("573001112233", "text", {"body": "por Meta"})])
            )
        )
        call = await running.elevenlabs(
            envelope(
                "post_call_transcription", transcription_data("conv_join", "+57 300 111 22 33")
            )
        )
        assert twilio.status_code == meta.status_code == call.status_code == 200

        async def all_three() -> list[Any] | None:
            records = await store.read_stream(CONTACT)
            return records if len(records) == 3 else None

        records = await eventually(all_three)
    assert sorted(r.type for r in records) == ["call.ended", "message.received", "message.received"]


async def test_reordered_statuses_end_at_the_furthest_in_the_projection(
    ingest: IngestFactory, settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    sid = "SM" + "7" * 32
    async with (
        ingest() as running,
        build_recorder().running(settings, http=False),
        build_projector().running(settings, http=False),
    ):
        for status in ("read", "sent", "delivered", "queued"):
            answer = await running.twilio(status_form(sid, status), path="/webhooks/twilio/status")
            assert answer.status_code == 200

        async def final_status() -> str | None:
            async with pool.acquire() as conn:
                doc = await conn.fetchval(
                    "SELECT doc FROM proj_conversations WHERE conversation = $1", CONTACT
                )
            if not doc:
                return None
            item = doc["items"].get(f"status:{sid}") or {}
            history = item.get("status_history") or []
            return str(item["status"]) if len(history) == 4 else None

        assert await eventually(final_status, timeout=30) == "read"


async def test_nats_down_answers_503_and_the_retry_succeeds_once_it_is_back(
    ingest: IngestFactory, settings: HiloSettings, tmp_path: Path
) -> None:
    nats = EmbeddedNats(tmp_path / "own-nats", port=free_port())
    nats.start()
    own = settings.model_copy(update={"nats_url": nats.url})
    try:
        async with ingest(hilo=own) as running:
            first = inbound_form("antes")
            assert (await running.twilio(first)).status_code == 200
            nats.stop()
            ready = f"{running.base}/readyz"

            async def unready() -> httpx.Response | None:
                answer = await running.http.get(ready)
                return answer if answer.status_code == 503 else None

            assert "nats unreachable" in (await eventually(unready)).json()["problems"]
            second = inbound_form("durante")
            refused = await running.twilio(second)
            assert refused.status_code == 503
            assert refused.json()["error"] == "nats_unavailable"
            update = meta_payload(
                meta_value(messages=[meta_message("573001112233", "text", {"body": "x"})])
            )
            meta_refused = await running.meta(update)
            assert meta_refused.status_code == 503

            nats.start()

            async def ready_again() -> bool:
                return (await running.http.get(ready)).status_code == 200

            await eventually(ready_again, timeout=15)
            assert (await running.twilio(second)).status_code == 200  # the provider's retry
            assert (await running.twilio(first)).status_code == 200  # an old retry: no publish
            # Refused, yet kept: the outbox publishes the Meta update even if Meta gave up;
            # its retry then finds it published.
            meta_retry = await running.meta(update)
            assert meta_retry.status_code == 200
            assert meta_retry.json()["published"] == 0
            own_bus = await EventBus.connect(nats.url, own.namespace)
            try:
                info = await own_bus.js.stream_info(own_bus.naming.events_stream)
                assert info.state.messages == 3
            finally:
                await own_bus.close()
    finally:
        nats.stop()
    await asyncio.sleep(0)


async def test_old_deliveries_are_forgotten(pool: asyncpg.Pool) -> None:
    from services.ingest.ledger import forget_older_than

    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO ingest_deliveries (provider, delivery_key, event_id, published_at) VALUES"
            " ('meta', 'old', gen_random_uuid(), now() - interval '9 days'),"
            " ('meta', 'recent', gen_random_uuid(), now() - interval '6 days')"
        )
    assert await forget_older_than(pool, 8) == 1
    async with pool.acquire() as conn:
        left = await conn.fetch("SELECT delivery_key FROM ingest_deliveries")
    assert [r["delivery_key"] for r in left] == ["recent"]
