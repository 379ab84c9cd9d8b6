"""A service deletes its readable copies of a forgotten contact, and says so.

Crypto-shredding makes the sealed copies (the store, the bus, outbox payloads) noise; what
a service decrypted and kept in clear (read models, its own tables, audio files) it must
delete itself. Each service that keeps such copies names them (:class:`ContactColumn`:
a table and the column holding the contact) and wires :func:`erase_on_forget`; on
``contact.forgotten`` it deletes the rows, the files, and its own outbox and dead-work rows
of that contact, then publishes ``contact.data_erased`` in the same transaction (the
tracking record makes a redelivery publish nothing new; its id is derived from the
forgotten event and the service).

``contact.forgotten`` names the contact by pseudonym only. Tables keep the number (a
service works with the number in clear), so rows are found by computing the pseudonym of
each distinct contact of the table (:func:`contacts_of`): an HMAC per contact, run once per
forgetting, instead of a pseudonym column in every table (and in every future one).
Columns that already hold the pseudonym (the outbox after sealing) match as they are.

Deleted rows leave dead tuples in the table's pages until VACUUM: the tables that lost
rows are vacuumed right after the commit, so the space is marked free and reused (a plain
VACUUM: it takes no lock that stops the service; the bytes can stay in freed page space
until overwritten, and in WAL and backups until they rotate — README, "Forgetting a
contact").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from hilo.service import Context, Runtime, Service
from schemas import ContactDataErased, ContactForgotten

log = logging.getLogger(__name__)

PseudonymOf = Callable[[str], str]
# Deletes the contact's files (by pseudonym); how many were deleted.
FileEraser = Callable[[Runtime, str], Awaitable[int]]
# Runs first in the erasing transaction: raise to try again later (a projection behind).
Guard = Callable[[asyncpg.Connection, ContactForgotten], Awaitable[None]]

# Retried for minutes before the event is dead-lettered: a projector that lags behind the
# forgotten event, or PostgreSQL away for a while.
MAX_DELIVER = 40
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
# How often a service without consumers looks for new forgotten contacts in the store.
STORE_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class ContactColumn:
    """A table and the column naming the contact of each row (number or pseudonym)."""

    table: str
    column: str
    # Only the rows of this owner (the shared outbox and dead-work tables).
    owner: str | None = None

    def _where(self) -> str:
        return f"{self.column} IS NOT NULL" + (" AND owner = $1" if self.owner else "")

    def _args(self) -> tuple[str, ...]:
        return (self.owner,) if self.owner else ()


def durable_of(service: str) -> str:
    """The consumer (and tracking) name of a service's erasures."""
    return f"{service.replace('_', '-')}-forget"


def shared_columns(owner: str) -> tuple[ContactColumn, ...]:
    """A service's rows in the shared tables: unsent (or sent) outbox rows and dead work."""
    return (
        ContactColumn("hilo_outbox", "conversation", owner),
        ContactColumn("hilo_dead_work", "conversation", owner),
    )


@dataclass(frozen=True)
class Erased:
    rows: int
    tables: tuple[str, ...]


async def contacts_of(
    conn: asyncpg.Connection, spot: ContactColumn, pseudonym: str, pseudonym_of: PseudonymOf
) -> list[str]:
    """The values of ``spot`` that name the contact with this pseudonym."""
    rows = await conn.fetch(
        f"SELECT DISTINCT {spot.column} AS who FROM {spot.table} WHERE {spot._where()}",
        *spot._args(),
    )
    return [r["who"] for r in rows if r["who"] == pseudonym or pseudonym_of(r["who"]) == pseudonym]


def _remembered(pseudonym_of: PseudonymOf) -> PseudonymOf:
    """One HMAC per contact however many tables name them."""
    known: dict[str, str] = {}

    def of(conversation: str) -> str:
        found = known.get(conversation)
        if found is None:
            found = known[conversation] = pseudonym_of(conversation)
        return found

    return of


async def erase_rows(
    conn: asyncpg.Connection,
    columns: Sequence[ContactColumn],
    pseudonym: str,
    pseudonym_of: PseudonymOf,
) -> Erased:
    """Delete every row naming the contact, in the caller's transaction."""
    pseudonym_of = _remembered(pseudonym_of)
    total = 0
    tables: list[str] = []
    for spot in columns:
        keys = await contacts_of(conn, spot, pseudonym, pseudonym_of)
        if not keys:
            continue
        args = (*spot._args(), keys)
        owner = " AND owner = $1" if spot.owner else ""
        status = await conn.execute(
            f"DELETE FROM {spot.table} WHERE {spot.column} = ANY(${len(args)}::text[]){owner}",
            *args,
        )
        deleted = int(status.split()[-1])
        if deleted:
            total += deleted
            if spot.table not in tables:
                tables.append(spot.table)
    return Erased(total, tuple(tables))


async def vacuum(pool: asyncpg.Pool, tables: Sequence[str]) -> None:
    """Mark the deleted rows' space free (outside any transaction, as VACUUM must be)."""
    for table in tables:
        try:
            async with pool.acquire() as conn:
                await conn.execute(f"VACUUM {table}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Autovacuum gets there too; the rows are deleted either way.
            log.warning("vacuum of %s after forgetting failed: %r", table, exc)


def pseudonyms(runtime: Runtime) -> PseudonymOf:
    """The pseudonym of a conversation, with this process's key (the codec's)."""
    return runtime.codec.stream_of


async def erase(
    runtime: Runtime,
    event: ContactForgotten,
    columns: Sequence[ContactColumn],
    *,
    files: FileEraser | None = None,
    guard: Guard | None = None,
) -> ContactDataErased | None:
    """Delete the forgotten contact's rows and files, and announce it: once per event
    (None when this service had done it already)."""
    pseudonym = event.conversation
    consumer = durable_of(runtime.service)
    # Files first: deleting twice is harmless, and the count goes into the fact.
    files_deleted = await files(runtime, pseudonym) if files is not None else 0
    async with runtime.transaction(consumer, event.event_id) as tx:
        if not await tx.track():
            return None
        if guard is not None:
            await guard(tx.conn, event)
        everything = (*columns, *shared_columns(runtime.service))
        erased = await erase_rows(tx.conn, everything, pseudonym, pseudonyms(runtime))
        answer = event.caused(
            ContactDataErased,
            f"data_erased:{runtime.service}",
            service=runtime.service,
            rows_deleted=erased.rows,
            files_deleted=files_deleted,
        )
        await tx.publish(answer)
    log.info(
        "%s erased a forgotten contact: %d rows (%s), %d files",
        runtime.service,
        erased.rows,
        ", ".join(erased.tables) or "none",
        files_deleted,
    )
    await vacuum(runtime.db, erased.tables)
    return answer


def erase_on_forget(
    service: Service,
    columns: Sequence[ContactColumn] = (),
    *,
    files: FileEraser | None = None,
    guard: Guard | None = None,
    from_store: bool = False,
) -> None:
    """On ``contact.forgotten``, ``service`` deletes its copies and says so (exactly once).

    A consuming service gets one more durable consumer. A service without consumers (ingest,
    which scales on HTTP, not on a consumer's lag) follows the store instead
    (``from_store``): it polls for ``contact.forgotten`` events it has not tracked yet.
    """
    if from_store:

        async def follow_the_store(runtime: Runtime) -> None:
            consumer = durable_of(runtime.service)
            while True:
                try:
                    for event in await _untracked(runtime.db, consumer):
                        await erase(runtime, event, columns, files=files, guard=guard)
                except Exception:
                    log.exception("%s: erasing forgotten contacts failed; trying again", consumer)
                await asyncio.sleep(STORE_POLL_SECONDS)

        service.background(follow_the_store)
        return

    async def on_contact_forgotten(event: ContactForgotten, ctx: Context) -> None:
        await erase(ctx.runtime, event, columns, files=files, guard=guard)

    service.subscriber(
        ContactForgotten,
        durable=durable_of(service.name),
        max_deliver=MAX_DELIVER,
        backoff=BACKOFF,
    )(on_contact_forgotten)


async def _untracked(pool: asyncpg.Pool, consumer: str) -> list[ContactForgotten]:
    rows = await pool.fetch(
        "SELECT e.data::text FROM events e WHERE e.type = $1 AND NOT EXISTS"
        " (SELECT 1 FROM hilo_tracking t WHERE t.consumer = $2 AND t.event_id = e.event_id)"
        " ORDER BY e.position LIMIT 100",
        ContactForgotten.event_type(),
        consumer,
    )
    return [ContactForgotten.model_validate(orjson.loads(r[0])) for r in rows]
