"""Publishing deliveries once: the durable dedupe table and the JetStream acknowledgement.

A delivery whose row exists was published before: skipped. Others are published (stable event
ids; ``Nats-Msg-Id`` absorbs a concurrent replica doing the same) and their rows written only
after JetStream acknowledged them, so a crash in between never loses a message — the
provider's retry publishes the same event id again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from hilo.bus import PublishFailed
from hilo.service import PUBLISHED, Runtime
from services.ingest.deliveries import Delivery
from services.ingest.problems import Unavailable

log = logging.getLogger(__name__)

# How many conversations of one batch are published side by side.
PARALLEL_CONVERSATIONS = 32
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


@dataclass(frozen=True)
class Outcome:
    published: int
    duplicates: int

    def as_json(self) -> dict[str, Any]:
        return {"status": "accepted", "published": self.published, "duplicates": self.duplicates}


async def publish_once(
    runtime: Runtime, provider: str, deliveries: list[Delivery], *, timeout: float
) -> Outcome:
    """Publish what was never published; raise Unavailable (503) when it cannot be made durable."""
    if not deliveries:
        return Outcome(0, 0)
    keys = [d.key for d in deliveries]
    try:
        async with runtime.db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT delivery_key FROM ingest_deliveries"
                " WHERE provider = $1 AND delivery_key = ANY($2::text[])",
                provider,
                keys,
            )
    except DATABASE_ERRORS as exc:
        raise Unavailable("database_unavailable", type(exc).__name__) from None
    seen = {r["delivery_key"] for r in rows}
    fresh: list[Delivery] = []
    for delivery in deliveries:
        if delivery.key not in seen:
            seen.add(delivery.key)  # the same update twice in one batch is published once
            fresh.append(delivery)
    done: list[Delivery] = []
    failures: list[PublishFailed] = []
    if fresh and not runtime.bus.connected:
        failures.append(PublishFailed("NATS is not connected"))
    else:
        await _publish_in_conversation_order(runtime, fresh, timeout, done, failures)
    if failures:
        log.warning(
            "%s: %d of %d not published: %s",
            provider,
            len(fresh) - len(done),
            len(fresh),
            failures[0],
        )
        await _remember(runtime, provider, done, quiet=True)
        detail = "the event could not be made durable; retry"
        raise Unavailable("nats_unavailable", detail) from None
    await _remember(runtime, provider, done, quiet=False)
    return Outcome(len(done), len(deliveries) - len(done))


async def _publish_in_conversation_order(
    runtime: Runtime,
    fresh: list[Delivery],
    timeout: float,
    done: list[Delivery],
    failures: list[PublishFailed],
) -> None:
    """One conversation's events one after another (consumers see them in that order);
    different conversations of a batch (Meta sends up to 1,000 updates) side by side."""
    lanes: dict[str, list[Delivery]] = {}
    for delivery in fresh:
        lanes.setdefault(delivery.event.conversation, []).append(delivery)
    gate = asyncio.Semaphore(PARALLEL_CONVERSATIONS)

    async def lane(in_order: list[Delivery]) -> None:
        async with gate:
            for delivery in in_order:
                try:
                    await runtime.bus.publish(delivery.event, timeout=timeout)
                except PublishFailed as exc:
                    failures.append(exc)
                    return  # the rest of this conversation waits for the provider's retry
                PUBLISHED.labels(runtime.service, delivery.event.type).inc()
                done.append(delivery)

    if len(lanes) == 1:  # the usual webhook: one message
        await lane(fresh)
    else:
        await asyncio.gather(*(lane(in_order) for in_order in lanes.values()))


async def _remember(runtime: Runtime, provider: str, done: list[Delivery], *, quiet: bool) -> None:
    if not done:
        return
    try:
        async with runtime.db.acquire() as conn:
            await conn.execute(
                "INSERT INTO ingest_deliveries (provider, delivery_key, event_id)"
                " SELECT $1, k, e FROM unnest($2::text[], $3::uuid[]) AS t(k, e)"
                " ON CONFLICT (provider, delivery_key) DO NOTHING",
                provider,
                [d.key for d in done],
                [d.event.event_id for d in done],
            )
    except DATABASE_ERRORS as exc:
        # Published but not remembered: a retry republishes the same ids, which JetStream
        # and the store absorb. Say so, but the provider may still be told it failed.
        log.warning("%s: %d published deliveries not remembered: %r", provider, len(done), exc)
        if not quiet:
            raise Unavailable("database_unavailable", type(exc).__name__) from None


async def forget_older_than(db: asyncpg.Pool, days: float) -> int:
    async with db.acquire() as conn:
        status = await conn.execute(
            "DELETE FROM ingest_deliveries WHERE published_at < now() - $1::interval",
            timedelta(days=days),
        )
    return int(str(status).split()[-1])


# --- ElevenLabs calls: which contact a call belongs to, and audio waiting for it ------------
async def remember_call(db: asyncpg.Pool, call_id: str, conversation: str) -> dict[str, Any] | None:
    """Note the call's contact; returns audio that arrived before it, if any."""
    async with db.acquire() as conn:
        pending = await conn.fetchval(
            "INSERT INTO ingest_calls (call_id, conversation) VALUES ($1, $2)"
            " ON CONFLICT (call_id) DO UPDATE"
            " SET conversation = EXCLUDED.conversation, updated_at = now()"
            " RETURNING pending_audio",
            call_id,
            conversation,
        )
    return _json_object(pending)


async def park_audio(db: asyncpg.Pool, call_id: str, audio: dict[str, Any]) -> str | None:
    """Keep the stored audio's reference; returns the call's contact when already known.

    Both statements lock the call's row, so whichever of the two webhooks comes second sees
    the other's half and publishes ``call.audio_recorded``.
    """
    async with db.acquire() as conn:
        conversation: str | None = await conn.fetchval(
            "INSERT INTO ingest_calls (call_id, pending_audio) VALUES ($1, $2::jsonb)"
            " ON CONFLICT (call_id) DO UPDATE"
            " SET pending_audio = EXCLUDED.pending_audio, updated_at = now()"
            " RETURNING conversation",
            call_id,
            json.dumps(audio),
        )
    return conversation


async def audio_published(db: asyncpg.Pool, call_id: str) -> None:
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE ingest_calls SET pending_audio = NULL, updated_at = now() WHERE call_id = $1",
            call_id,
        )


def _json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None
