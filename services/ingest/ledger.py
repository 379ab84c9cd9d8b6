"""Publishing deliveries once: the durable dedupe key and the event, in one transaction.

A delivery's key and its event's outbox row are committed together (hilo/outbox.py), then
the event is published with its id as ``Nats-Msg-Id``. The webhook is answered 2xx only
once JetStream has acknowledged every event of the request; otherwise 503, and the
provider's retry finds the key known and waits for (or pushes) the same event again, so a
crash or an outage at any point neither loses a message nor publishes it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from hilo.erasure import ContactColumn, PseudonymOf, contacts_of
from hilo.service import PUBLISHED, Runtime
from services.ingest.deliveries import Delivery
from services.ingest.problems import Unavailable

log = logging.getLogger(__name__)

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
    """Publish what was never published; raise Unavailable (503) until it is durable on NATS."""
    del timeout  # the outbox publishes with the bus's acknowledgement timeout
    if not deliveries:
        return Outcome(0, 0)
    unique: dict[str, Delivery] = {}
    for delivery in deliveries:
        unique.setdefault(delivery.key, delivery)  # the same update twice in one batch
    try:
        async with runtime.outbox.transaction() as tx:
            rows = await tx.conn.fetch(
                "INSERT INTO ingest_deliveries (provider, delivery_key, event_id)"
                " SELECT $1, k, e FROM unnest($2::text[], $3::uuid[]) AS t(k, e)"
                " ON CONFLICT (provider, delivery_key) DO NOTHING RETURNING delivery_key",
                provider,
                list(unique),
                [d.event.event_id for d in unique.values()],
            )
            new_keys = {r["delivery_key"] for r in rows}
            fresh = [d for key, d in unique.items() if key in new_keys]
            await tx.publish_all([d.event for d in fresh])
            known = await _known_event_ids(
                tx.conn, provider, [k for k in unique if k not in new_keys]
            )
        # Committed; the transaction's end published what it could. A retried delivery whose
        # event is still waiting (an earlier outage) is pushed again here.
        waiting = await runtime.outbox.unpublished([*(d.event.event_id for d in fresh), *known])
        if waiting:
            await runtime.outbox.flush_all(
                {d.event.conversation for d in unique.values() if d.event.event_id in waiting}
                | await _conversations_of(runtime, waiting),
                now=True,
            )
            waiting = await runtime.outbox.unpublished(list(waiting))
    except DATABASE_ERRORS as exc:
        raise Unavailable("database_unavailable", type(exc).__name__) from None
    if waiting:
        log.warning("%s: %d of %d events not on NATS yet", provider, len(waiting), len(unique))
        raise Unavailable("nats_unavailable", "the event could not be made durable; retry")
    for delivery in fresh:
        PUBLISHED.labels(runtime.service, delivery.event.type).inc()
    return Outcome(len(fresh), len(deliveries) - len(fresh))


async def _known_event_ids(conn: asyncpg.Connection, provider: str, keys: list[str]) -> list[Any]:
    if not keys:
        return []
    rows = await conn.fetch(
        "SELECT event_id FROM ingest_deliveries WHERE provider = $1"
        " AND delivery_key = ANY($2::text[])",
        provider,
        keys,
    )
    return [r["event_id"] for r in rows]


async def _conversations_of(runtime: Runtime, event_ids: set[Any]) -> set[str]:
    rows = await runtime.db.fetch(
        "SELECT DISTINCT conversation FROM hilo_outbox WHERE owner = $1"
        " AND event_id = ANY($2::uuid[])",
        runtime.outbox.owner,
        list(event_ids),
    )
    return {r["conversation"] for r in rows}


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
            "INSERT INTO ingest_calls (call_id, pending_audio, audio_path)"
            " VALUES ($1, $2::jsonb, $3) ON CONFLICT (call_id) DO UPDATE"
            " SET pending_audio = EXCLUDED.pending_audio, audio_path = EXCLUDED.audio_path,"
            " updated_at = now()"
            " RETURNING conversation",
            call_id,
            json.dumps(audio),
            audio.get("path"),
        )
    return conversation


async def audio_published(db: asyncpg.Pool, call_id: str) -> None:
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE ingest_calls SET pending_audio = NULL, updated_at = now() WHERE call_id = $1",
            call_id,
        )


async def call_audio_of(db: asyncpg.Pool, pseudonym: str, pseudonym_of: PseudonymOf) -> list[str]:
    """The stored recordings of a contact's calls (paths relative to the data dir)."""
    async with db.acquire() as conn:
        numbers = await contacts_of(conn, PERSONAL_COLUMNS[0], pseudonym, pseudonym_of)
        rows = await conn.fetch(
            "SELECT audio_path FROM ingest_calls"
            " WHERE conversation = ANY($1::text[]) AND audio_path IS NOT NULL",
            numbers,
        )
    return [r["audio_path"] for r in rows]


def _json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (ContactColumn("ingest_calls", "conversation"),)
