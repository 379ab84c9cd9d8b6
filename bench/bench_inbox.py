"""The operator API's two hot reads over a big store, and the rebuild of its read models.

A store of BENCH_INBOX_EVENTS events (default 1,000,000) over BENCH_INBOX_CONVERSATIONS
contacts (default 10,000) is written with COPY (messages in and out, sends, analyses, tasks,
calendar events), the projections are rebuilt from it (timed), and the inbox serves
``GET /api/conversations`` (first page, a filtered page, a search, a deep page) and
``GET /api/conversations/{contact}`` over HTTP with a bearer token. Peer: the same rows read
straight from PostgreSQL with asyncpg (the floor under any API on these read models).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from _common import percentile, servers, service_settings

from hilo.projections.runner import PROJECTIONS, rebuild
from services.inbox import accounts
from services.inbox.app import build
from services.inbox.settings import InboxSettings
from services.inbox.store import AccountStore

EVENTS = int(os.environ.get("BENCH_INBOX_EVENTS", "1000000"))
CONVERSATIONS = int(os.environ.get("BENCH_INBOX_CONVERSATIONS", "10000"))
REQUESTS = int(os.environ.get("BENCH_INBOX_REQUESTS", "400"))
START = datetime(2026, 1, 1, tzinfo=UTC)
COLUMNS = [
    "position",
    "event_id",
    "stream",
    "stream_version",
    "type",
    "schema_version",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "data",
]
NAMES = ("José Pérez", "Lucía Gómez", "Ramón Núñez", "Ana Martín", "Chris Lee", "Zoe Ortega")
TEXTS = (
    "Hola, quiero agendar una reunión el viernes a las 10",
    "¿Me envías la cotización del almacén?",
    "Gracias, perfecto",
    "Necesito cambiar la cita al jueves",
    "Do you have parking near the clinic?",
)


def contact_of(index: int) -> str:
    return f"+34600{index:06d}"


def _event(
    position: int, contact: str, version: int, kind: str, at: datetime, body: dict[str, Any]
) -> tuple[Any, ...]:
    event_id = uuid.uuid4()
    data = {
        "type": kind,
        "schema_version": 2 if kind == "conversation.mode_changed" else 1,
        "event_id": str(event_id),
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "conversation": contact,
        "correlation_id": str(event_id),
        "causation_id": None,
        **body,
    }
    return (
        position,
        event_id,
        contact,
        version,
        kind,
        data["schema_version"],
        at,
        event_id,
        None,
        orjson.dumps(data).decode(),
    )


def generate(total: int, conversations: int) -> Iterator[tuple[Any, ...]]:
    """Events in global order: round after round, each contact says something and is answered."""
    rng = random.Random(7)
    versions = [0] * conversations
    per_conversation = max(total // conversations, 1)
    step = timedelta(days=300) / (per_conversation + 1)
    position = 0
    for turn in range(per_conversation):
        for index in range(conversations):
            if position >= total:
                return
            contact = contact_of(index)
            at = START + step * turn + timedelta(seconds=index)
            versions[index] += 1
            position += 1
            phase = turn % 10
            if phase in (0, 3, 6, 8):
                body: dict[str, Any] = {
                    "provider": "twilio",
                    "provider_message_id": f"SM{uuid.uuid4().hex}",
                    "contact_name": NAMES[index % len(NAMES)],
                    "text": rng.choice(TEXTS),
                    "kind": "text",
                    "media": [],
                }
                kind = "message.received"
            elif phase in (1, 4, 7):
                body = {
                    "reply_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{turn}")),
                    "author": "analyzer" if phase != 7 else "human",
                    "text": "¡Hola! Te confirmo la cita.",
                }
                kind = "reply.ready"
            elif phase in (2, 5):
                body = {
                    "reply_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{turn - 1}")),
                    "provider": "outbox",
                    "provider_message_id": f"outbox-{index}-{turn}",
                    "text": "¡Hola! Te confirmo la cita.",
                    "sent_at": at.isoformat(),
                }
                kind = "message.sent"
            elif turn % 30 == 9:
                body = {
                    "task_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"task:{index}:{turn}")),
                    "title": "Enviar cotización",
                    "task_type": "quote",
                    "priority": 2,
                    "due": None,
                }
                kind = "task.created"
            else:
                body = {
                    "intent": "schedule",
                    "sentiment": rng.choice(("positive", "neutral", "negative")),
                    "language": "es",
                    "summary": "Quiere una cita",
                    "entities": [],
                }
                kind = "intent.detected"
            yield _event(position, contact, versions[index], kind, at, body)


async def fill_store(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        rows = list(generate(EVENTS, CONVERSATIONS))
        await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
        await conn.execute("UPDATE event_store_head SET position = $1", len(rows))
        await conn.execute(
            "INSERT INTO event_streams (stream, version)"
            " SELECT stream, max(stream_version) FROM events GROUP BY stream"
        )
        await conn.execute("ANALYZE events")
        return len(rows)


async def timed(samples: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    times = []
    for i in range(samples):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, ours: list[float], peer: list[float]) -> str:
    ours_p50, peer_p50 = statistics.median(ours), statistics.median(peer)
    return (
        f"  {name:<34} p50 {ours_p50:6.1f} ms  p99 {percentile(ours, 0.99):6.1f} ms"
        f"   | asyncpg p50 {peer_p50:5.1f} ms p99 {percentile(peer, 0.99):5.1f} ms"
        f"   ratio p50 {ours_p50 / peer_p50:5.1f}x"
    )


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "inbox") as settings_for:
            settings = settings_for("inbox")
            assert settings.database_url is not None
            pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
            assert pool is not None
            try:
                started = time.perf_counter()
                count = await fill_store(pool)
                print(
                    f"store: {count:,} events over {CONVERSATIONS:,} contacts written with COPY"
                    f" in {time.perf_counter() - started:.1f} s"
                )
                from hilo.store.eventstore import create_pool

                hilo_pool = await create_pool(settings.database_url, max_size=4)
                try:
                    for name in ("inbox", "conversations"):
                        started = time.perf_counter()
                        folded = await rebuild(hilo_pool, PROJECTIONS[name])
                        seconds = time.perf_counter() - started
                        print(
                            f"rebuild {name:<14} {folded:,} events in {seconds:5.1f} s"
                            f" ({folded / seconds:,.0f} events/s)"
                        )
                finally:
                    await hilo_pool.close()
                await pool.execute("ANALYZE")
                token = accounts.new_api_token()
                await AccountStore(pool).add_token("bench", "admin", token)
                await measure(pool, settings, token)
            finally:
                await pool.close()


async def measure(pool: asyncpg.Pool, settings: Any, token: str) -> None:
    service = build(InboxSettings(_env_file=None))
    rng = random.Random(11)
    contacts = [contact_of(rng.randrange(CONVERSATIONS)) for _ in range(REQUESTS)]
    async with service.running(settings):
        base = f"http://127.0.0.1:{service.http_port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as api:
            page = (await api.get("/api/conversations", params={"limit": 50})).json()
            deep_cursor = page["next_cursor"]
            for _ in range(20):
                deep_cursor = (
                    await api.get("/api/conversations", params={"cursor": deep_cursor})
                ).json()["next_cursor"]

            async def get(path: str, params: dict[str, Any] | None = None) -> None:
                response = await api.get(path, params=params)
                assert response.status_code == 200, response.text

            cases: list[
                tuple[str, Callable[[int], Awaitable[Any]], Callable[[int], Awaitable[Any]]]
            ]
            cases = [
                (
                    "GET /api/conversations",
                    lambda i: get("/api/conversations"),
                    lambda i: pool.fetch(
                        "SELECT contact, name, last_message_at, last_text, unread, mode,"
                        " sentiment, open_tasks, channel, channels, opted_out"
                        " FROM proj_inbox_conversations"
                        " ORDER BY last_message_at DESC, contact DESC LIMIT 51"
                    ),
                ),
                (
                    "  ?sentiment=negative&has_tasks",
                    lambda i: get(
                        "/api/conversations", {"sentiment": "negative", "has_tasks": "true"}
                    ),
                    lambda i: pool.fetch(
                        "SELECT contact FROM proj_inbox_conversations WHERE sentiment = $1"
                        " AND open_tasks > 0 ORDER BY last_message_at DESC, contact DESC"
                        " LIMIT 51",
                        "negative",
                    ),
                ),
                (
                    "  ?q=ramon cotizacion",
                    lambda i: get("/api/conversations", {"q": "ramon cotizacion"}),
                    lambda i: pool.fetch(
                        "SELECT contact FROM proj_inbox_conversations"
                        " WHERE search @@ to_tsquery('simple', 'ramon:* & cotizacion:*')"
                        " ORDER BY last_message_at DESC, contact DESC LIMIT 51"
                    ),
                ),
                (
                    "  ?cursor=(page 21)",
                    lambda i: get("/api/conversations", {"cursor": deep_cursor}),
                    lambda i: pool.fetch(
                        "SELECT contact FROM proj_inbox_conversations"
                        " ORDER BY last_message_at DESC, contact DESC LIMIT 51 OFFSET 1000"
                    ),
                ),
                (
                    "GET /api/conversations/{contact}",
                    lambda i: get(f"/api/conversations/{contacts[i]}"),
                    lambda i: pool.fetchrow(
                        "SELECT doc FROM proj_conversations WHERE conversation = $1", contacts[i]
                    ),
                ),
            ]
            print(f"\nreads over HTTP, {REQUESTS} requests each, one at a time")
            for name, ours, peer in cases:
                await timed(20, ours)  # warm-up
                # Alternate rounds so that the machine's drift stays out of the ratio.
                ours_ms: list[float] = []
                peer_ms: list[float] = []
                for _ in range(4):
                    ours_ms += await timed(REQUESTS // 4, ours)
                    peer_ms += await timed(REQUESTS // 4, peer)
                print(line(name, ours_ms, peer_ms))


if __name__ == "__main__":
    asyncio.run(main())
