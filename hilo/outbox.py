"""Exactly-once effects on an at-least-once bus: tracking records and a transactional outbox.

A handler that changes its state and then publishes would, crashing in between, either
lose the event (state written, nothing published) or repeat the change (published, state
not written). Here both go in ONE PostgreSQL transaction, as in the ``eventsourcing``
library's process applications and faststream-outbox:

    async with ctx.transaction() as tx:
        if not await tx.track():         # this consumer handled the event already
            return
        ...write state with tx.conn...
        await tx.publish(event)          # an outbox row, not a network call

After the commit the rows are published in (conversation, id) order with the event id as
``Nats-Msg-Id``, then marked. A crash before the mark publishes them again on restart (the
relay); JetStream's dedupe window and the store's unique ``event_id`` absorb the repeat.
Rows of one conversation are published by one process at a time (an advisory lock), so
two replicas keep a conversation's order. A row NATS keeps refusing goes dead after
``max_attempts`` with its reason (``hilo events --dead-letters``); a bus that is merely
unreachable never kills a row: the events wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NoStreamResponseError
from prometheus_client import Counter

from hilo.bus import EventBus, PublishFailed, raise_if_cancelled
from hilo.privacy.codec import Sealed
from hilo.privacy.sealing import is_contact
from schemas import Event, EventDecodeError, registry

log = logging.getLogger(__name__)

RELAYED = Counter("hilo_outbox_published_total", "Outbox rows published", ["owner"])
DEAD = Counter("hilo_outbox_dead_total", "Outbox rows given up on", ["owner"])

# Conversations flushed side by side after one transaction (each takes a pool connection).
FLUSH_PARALLELISM = 8

# Delays between attempts of a row NATS refused; the last one repeats.
BACKOFF_SECONDS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 15.0, 60.0)


@dataclass
class Transaction:
    """One handler's transaction: its state, its tracking record and its outbox rows."""

    conn: asyncpg.Connection
    outbox: Outbox
    consumer: str | None = None
    event_id: Any = None
    # What this transaction added, in order: published right after the commit.
    added: list[_Pending] = field(default_factory=list)

    @property
    def conversations(self) -> set[str]:
        return {p.conversation for p in self.added}

    async def track(self, event_id: Any = None, consumer: str | None = None) -> bool:
        """Record that the consumer handled this event; False if it had already."""
        consumer = consumer or self.consumer
        event_id = event_id or self.event_id
        if consumer is None or event_id is None:
            raise ValueError("track() needs a consumer and an event id")
        status = await self.conn.execute(
            "INSERT INTO hilo_tracking (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            consumer,
            event_id,
        )
        return bool(status == "INSERT 0 1")

    async def publish(self, event: Event) -> None:
        await self.publish_all([event])

    async def publish_all(self, events: Sequence[Event]) -> None:
        """Outbox rows for these events (one statement), kept in the given order."""
        if events:
            pending = [_Pending.of(await self.outbox.bus.seal(e)) for e in events]
            await self.outbox.add_many(self.conn, pending)
            self.added.extend(pending)


@dataclass(frozen=True)
class _Pending:
    event_id: Any
    conversation: str
    event_type: str
    payload: str

    @classmethod
    def of(cls, event: Sealed) -> _Pending:
        # Sealed: the row holds what the bus carries, the pseudonym as its conversation.
        return cls(event.event_id, event.stream, event.type, event.json)


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: Any
    event_type: str
    conversation: str
    payload: str
    attempts: int


class Outbox:
    """One service's outbox: rows added in its transactions, published after commit."""

    def __init__(
        self,
        owner: str,
        db: asyncpg.Pool,
        bus: EventBus,
        *,
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
    ) -> None:
        self.owner = owner
        self.db = db
        self.bus = bus
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        # Conversations with rows that failed to publish: later rows wait behind them.
        self._behind: set[str] = set()

    @contextlib.asynccontextmanager
    async def transaction(
        self, consumer: str | None = None, event_id: Any = None
    ) -> AsyncIterator[Transaction]:
        async with self.db.acquire() as conn, conn.transaction():
            tx = Transaction(conn, self, consumer, event_id)
            yield tx
        await self._publish_committed(tx.added)

    async def _publish_committed(self, added: list[_Pending]) -> None:
        """The hot path: publish what the transaction just committed, straight from memory.

        A conversation with older rows still waiting (a failed publish) goes through
        :meth:`flush` instead, so nothing overtakes them.
        """
        if not added:
            return
        behind = {p.conversation for p in added} & self._behind
        if behind:
            await self.flush_all(behind)
        published: list[Any] = []
        for pending in added:
            if pending.conversation in self._behind:
                continue
            if not self.bus.connected:  # no use waiting for a timeout: the relay retries
                self._behind.add(pending.conversation)
                continue
            try:
                await self.bus.publish_raw(
                    self.bus.naming.subject(pending.event_type, pending.conversation),
                    pending.payload.encode(),
                    event_id=str(pending.event_id),
                    event_type=pending.event_type,
                )
            except PublishFailed as exc:
                log.warning(
                    "%s outbox: %s waits for the relay: %r", self.owner, pending.event_type, exc
                )
                self._behind.add(pending.conversation)
                self._wake.set()
                continue
            published.append(pending.event_id)
        if published:
            try:
                await self.db.execute(
                    "UPDATE hilo_outbox SET published_at = now()"
                    " WHERE owner = $1 AND event_id = ANY($2::uuid[]) AND published_at IS NULL",
                    self.owner,
                    published,
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # Published but not marked: the relay publishes them again, which the event
                # ids make harmless.
                log.warning("%s outbox: marking published failed: %r", self.owner, exc)
            RELAYED.labels(self.owner).inc(len(published))

    async def flush_all(self, conversations: set[str], *, now: bool = False) -> None:
        """Flush several conversations side by side (a batch of webhooks for many contacts)."""
        if len(conversations) <= 1:
            for conversation in conversations:
                await self.flush(conversation, now=now)
            return
        gate = asyncio.Semaphore(FLUSH_PARALLELISM)

        async def one(conversation: str) -> None:
            async with gate:
                await self.flush(conversation, now=now)

        await asyncio.gather(*(one(c) for c in sorted(conversations)))

    async def add_many(self, conn: asyncpg.Connection, rows: Sequence[_Pending]) -> None:
        """Outbox rows in the caller's transaction, in order; the same event twice is one row."""
        if len(rows) == 1:
            [row] = rows
            await conn.execute(
                "INSERT INTO hilo_outbox (owner, event_id, conversation, event_type, payload)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, event_id) DO NOTHING",
                self.owner,
                row.event_id,
                row.conversation,
                row.event_type,
                row.payload,
            )
            return
        await conn.execute(
            "INSERT INTO hilo_outbox (owner, event_id, conversation, event_type, payload)"
            " SELECT $1, e, c, t, p FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[])"
            " WITH ORDINALITY AS x(e, c, t, p, n) ORDER BY n"
            " ON CONFLICT (owner, event_id) DO NOTHING",
            self.owner,
            [r.event_id for r in rows],
            [r.conversation for r in rows],
            [r.event_type for r in rows],
            [r.payload for r in rows],
        )

    async def unpublished(self, event_ids: Sequence[Any]) -> set[Any]:
        """Which of these events are still waiting in the outbox."""
        rows = await self.db.fetch(
            "SELECT event_id FROM hilo_outbox WHERE owner = $1 AND event_id = ANY($2::uuid[])"
            " AND published_at IS NULL",
            self.owner,
            list(event_ids),
        )
        return {r["event_id"] for r in rows}

    async def flush(self, conversation: str, *, now: bool = False) -> int:
        """Publish the conversation's pending rows in order; how many went out.

        Rows wait out their back-off unless ``now`` (someone is waiting for them: a provider
        retrying a webhook). Never raises for a bus problem: what is not published stays
        for the relay.
        """
        try:
            return await self._flush(conversation, now)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("%s outbox: flushing failed, the relay retries: %r", self.owner, exc)
            self._wake.set()
            return 0

    async def _flush(self, conversation: str, now: bool) -> int:
        # Rows are kept under the stream's name: a contact's pseudonym, not the number. Rows
        # written before sealing existed are under the number: sealed on their way out.
        stream = self.bus.stream_of(conversation)
        names = sorted({stream, conversation})
        published: list[int] = []
        async with self.db.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
                f"hilo_outbox:{self.owner}:{stream}",
            )
            if not locked:
                # Another flush holds the conversation; it may have read its rows before ours
                # committed, so the relay looks again right after.
                self._wake.set()
                return 0
            rows = [
                _Row(**dict(r))
                for r in await conn.fetch(
                    "SELECT id, event_id, event_type, conversation, payload, attempts"
                    " FROM hilo_outbox WHERE owner = $1 AND conversation = ANY($2::text[])"
                    " AND published_at IS NULL AND dead_at IS NULL"
                    " AND ($3 OR next_attempt_at IS NULL OR next_attempt_at <= now())"
                    " ORDER BY id",
                    self.owner,
                    names,
                    now,
                )
            ]
            for row in rows:
                try:
                    try:
                        subject, payload = await self._wire(row)
                    except EventDecodeError as exc:  # a row nothing will ever publish
                        raise PublishFailed(f"unreadable outbox row: {exc}") from None
                    await self.bus.publish_raw(
                        subject, payload, event_id=str(row.event_id), event_type=row.event_type
                    )
                except PublishFailed as exc:
                    await self._failed(conn, row, exc)
                    break  # later rows of the conversation wait for this one
                published.append(row.id)
            if published:
                await conn.execute(
                    "UPDATE hilo_outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    published,
                )
        if len(published) == len(rows):
            self._behind.discard(stream)
        RELAYED.labels(self.owner).inc(len(published))
        return len(published)

    async def _wire(self, row: _Row) -> tuple[str, bytes]:
        """The row's subject and payload; a row from before sealing is sealed now."""
        if not is_contact(row.conversation):
            return self.bus.naming.subject(row.event_type, row.conversation), row.payload.encode()
        sealed = await self.bus.seal(registry.decode_json(row.payload))
        return self.bus.naming.subject(row.event_type, sealed.stream), sealed.json.encode()

    async def _failed(self, conn: asyncpg.Connection, row: _Row, exc: PublishFailed) -> None:
        cause = exc.__cause__
        # An unreachable bus is waited out, and so is a stream without a leader for a moment
        # (a cluster node restarting: NoStreamResponseError for a type the stream takes);
        # a refusal (no stream for the subject; a payload too large) counts towards giving up.
        unreachable = (
            not self.bus.connected
            or (isinstance(cause, NoStreamResponseError) and row.event_type in registry.types)
            or (
                isinstance(cause, TimeoutError | NatsTimeoutError | ConnectionClosedError | OSError)
                and not isinstance(cause, NoRespondersError)
            )
        )
        attempts = row.attempts if unreachable else row.attempts + 1
        delay = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS) - 1)]
        dead = attempts >= self.max_attempts
        await conn.execute(
            "UPDATE hilo_outbox SET attempts = $2, last_error = $3,"
            " next_attempt_at = now() + make_interval(secs => $4),"
            " dead_at = CASE WHEN $5 THEN now() END WHERE id = $1",
            row.id,
            attempts,
            repr(cause or exc)[:1000],
            delay,
            dead,
        )
        if dead:
            DEAD.labels(self.owner).inc()
            log.error(
                "%s outbox: gave up on %s %s after %d attempts: %r",
                self.owner,
                row.event_type,
                row.event_id,
                attempts,
                cause or exc,
            )
        else:
            log.warning("%s outbox: %s not published yet: %r", self.owner, row.event_type, exc)

    async def pending_conversations(self, limit: int = 500) -> list[str]:
        """Conversations with rows to publish: failed ones, and rows a crash left behind
        (rows younger than a second are still in the hands of their transaction's publish)."""
        rows = await self.db.fetch(
            "SELECT conversation FROM hilo_outbox WHERE owner = $1 AND published_at IS NULL"
            " AND dead_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
            " AND (created_at < now() - interval '1 second' OR conversation = ANY($3::text[]))"
            " GROUP BY conversation ORDER BY min(id) LIMIT $2",
            self.owner,
            limit,
            sorted(self._behind),
        )
        return [r["conversation"] for r in rows]

    async def relay(self) -> None:
        """Publish what the transactions' own flushes could not (a crash, a bus outage)."""
        while True:
            raise_if_cancelled()
            self._wake.clear()
            try:
                for conversation in await self.pending_conversations():
                    await self.flush(conversation)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s outbox: relay pass failed", self.owner)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)


# --- work given up on ------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Capped retries with back-off for a service's own work (analysing, asking an agent)."""

    max_attempts: int = 6
    backoff: Sequence[float] = (1.0, 2.0, 5.0, 15.0, 60.0)

    def delay(self, attempt: int) -> float:
        return self.backoff[min(max(attempt, 1) - 1, len(self.backoff) - 1)]

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


async def record_dead_work(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    owner: str,
    work_id: str,
    conversation: str | None,
    reason: str,
    attempts: int,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO hilo_dead_work (owner, work_id, conversation, reason, attempts, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (owner, work_id) DO UPDATE SET"
        " reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, failed_at = now()",
        owner,
        work_id,
        conversation,
        reason[:1000],
        attempts,
        json.dumps(detail or {}),
    )
    log.error("%s: gave up on %s after %d attempts: %s", owner, work_id, attempts, reason)


@dataclass(frozen=True)
class DeadLetter:
    source: str  # "outbox" or "work"
    owner: str
    key: str
    conversation: str | None
    reason: str
    attempts: int
    at: datetime


async def dead_letters(db: asyncpg.Pool | asyncpg.Connection) -> list[DeadLetter]:
    """Outbox rows and work items given up on, oldest first."""
    rows = await db.fetch(
        "SELECT 'outbox' AS source, owner, event_type || ' ' || event_id::text AS key,"
        " conversation, COALESCE(last_error, '') AS reason, attempts, dead_at AS at"
        " FROM hilo_outbox WHERE dead_at IS NOT NULL"
        " UNION ALL SELECT 'work', owner, work_id, conversation, reason, attempts, failed_at"
        " FROM hilo_dead_work ORDER BY at"
    )
    return [DeadLetter(**dict(r)) for r in rows]
