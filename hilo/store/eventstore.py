"""The PostgreSQL event store: append-only, gap-free global order, one stream per conversation.

``append`` is idempotent on ``event_id``: appending an event that is already
stored changes nothing and reports it as a duplicate. A stream version the
caller expected but did not find is a real conflict and raises
:class:`ConcurrencyConflict`; it is never silently swallowed.

A contact's events are stored sealed (:mod:`hilo.privacy.sealing`): the stream is the
contact's pseudonym and the personal fields are encrypted with the contact's data keys.
A store with a codec seals typed events on append and opens what it reads
(:attr:`RecordedEvent.opened`); ``data`` is always the row as stored. Events stored
before sealing existed (plain JSON, the number as stream) are read as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
import orjson

from hilo.privacy.codec import EventCodec, Sealed
from hilo.privacy.sealing import SEALED, Forgotten, Opened, is_contact
from schemas import Event, EventDecodeError, registry

NOTIFY_CHANNEL = "hilo_events"

# Lock, duplicate and version checks, writes and notification in one round trip: the head is
# locked for as short a time as possible (hilo/store/sql/004_append_function_leaner.sql).
# Payloads go as text[] (encoded in C; the server parses those it writes into jsonb).
_APPEND = """
SELECT first_position, written, conflict_stream, conflict_expected, conflict_actual
FROM hilo_append($1::uuid[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::uuid[],
                 $7::uuid[], $8::text[], $9::text[], $10::int[], $11::text)
"""

_COLUMNS = (
    "position, event_id, stream, stream_version, type, schema_version, occurred_at, "
    # Text, decoded here with orjson: measured 2.5x faster than asyncpg's binary jsonb codec.
    "recorded_at, data::text AS data"
)


class ConcurrencyConflict(Exception):
    """A stream was not at the version the writer expected."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream!r} is at version {actual}, expected {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class NewEvent:
    """What the store needs of an event; built from a typed event or from raw JSON."""

    event_id: uuid.UUID
    stream: str
    type: str
    schema_version: int
    occurred_at: datetime
    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    data_json: str

    @classmethod
    def from_event(cls, event: Event) -> NewEvent:
        return cls(
            event_id=event.event_id,
            stream=event.conversation,
            type=event.type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            data_json=event.model_dump_json(),
        )

    @classmethod
    def from_sealed(cls, sealed: Sealed, event: Event) -> NewEvent:
        return cls(
            event_id=event.event_id,
            stream=sealed.stream,
            type=event.type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            data_json=sealed.json,
        )


@dataclass(frozen=True)
class AppendResult:
    positions: tuple[int, ...] = ()
    duplicates: tuple[uuid.UUID, ...] = ()

    @property
    def head(self) -> int | None:
        return self.positions[-1] if self.positions else None


class RecordedEvent(NamedTuple):
    """One stored event. A named tuple: reading history builds one per row, and a frozen
    dataclass's field-by-field ``__init__`` measured as a large share of a read."""

    position: int
    event_id: uuid.UUID
    stream: str
    stream_version: int
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    # As stored: sealed for a contact's event.
    data: dict[str, Any]
    # The data opened by the store's codec (None: read without a codec, or not sealed).
    opened: Opened | Forgotten | None = None

    @property
    def forgotten(self) -> bool:
        return isinstance(self.opened, Forgotten)

    @property
    def clear(self) -> dict[str, Any]:
        """The event's data in clear (only the envelope when forgotten)."""
        if self.opened is not None:
            return self.opened.data
        if SEALED in self.data:
            raise EventDecodeError("a sealed event: read it through a store with a codec")
        return self.data

    def to_event(self) -> Event:
        """The typed event; a ``ForgottenEvent`` when its contact was forgotten."""
        if self.opened is not None:
            return self.opened.to_event()
        return registry.decode(dict(self.clear))


def _record(row: asyncpg.Record) -> RecordedEvent:
    # Columns come in _COLUMNS order, the data last, as text.
    position, event_id, stream, version, type_, schema_version, occurred, recorded, data = row
    return RecordedEvent(
        position,
        event_id,
        stream,
        version,
        type_,
        schema_version,
        occurred,
        recorded,
        orjson.loads(data),
    )


class EventStore:
    def __init__(self, pool: asyncpg.Pool, codec: EventCodec | None = None) -> None:
        self.pool = pool
        self.codec = codec

    def stream_of(self, conversation: str) -> str:
        """The stream of a conversation: a contact's pseudonym (a number is looked up)."""
        return self.codec.stream_of(conversation) if self.codec is not None else conversation

    async def _new(self, event: Event) -> NewEvent:
        if self.codec is not None:
            return NewEvent.from_sealed(await self.codec.seal(event), event)
        if is_contact(event.conversation):
            raise RuntimeError("a contact's event cannot be stored without a codec to seal it")
        return NewEvent.from_event(event)

    async def _opened(self, records: list[RecordedEvent]) -> list[RecordedEvent]:
        """The records with their sealed data opened (when this store has a codec)."""
        if self.codec is None:
            return records
        sealed = [i for i, r in enumerate(records) if SEALED in r.data]
        if not sealed:
            return records
        opened = await self.codec.open_many([records[i].data for i in sealed])
        for i, result in zip(sealed, opened, strict=True):
            records[i] = records[i]._replace(opened=result)
        return records

    async def append(
        self,
        events: Sequence[Event | NewEvent],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> AppendResult:
        """Append in order, atomically. ``expected_versions`` maps stream → version
        it must be at (0 for a new stream) before these events."""
        new = [e if isinstance(e, NewEvent) else await self._new(e) for e in events]
        if not new:
            return AppendResult()
        expected = {self.stream_of(s): v for s, v in (expected_versions or {}).items()}
        async with self.pool.acquire() as conn:
            return await append_in_transaction(conn, new, expected)

    async def head(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval("SELECT position FROM event_store_head")
            return int(value or 0)

    async def stream_version(self, stream: str) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT version FROM event_streams WHERE stream=$1", self.stream_of(stream)
            )
            return int(value or 0)

    async def read_all(
        self,
        after: int = 0,
        *,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        up_to: int | None = None,
    ) -> list[RecordedEvent]:
        """Events with position > ``after`` in global order (at most ``limit``)."""
        clauses = ["position > $1"]
        args: list[Any] = [after]
        if types:
            args.append(list(types))
            clauses.append(f"type = ANY(${len(args)}::text[])")
        if up_to is not None:
            args.append(up_to)
            clauses.append(f"position <= ${len(args)}")
        args.append(limit)
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(clauses)} "
            f"ORDER BY position LIMIT ${len(args)}"
        )
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
        return await self._opened([_record(r) for r in rows])

    async def iterate_all(
        self,
        after: int = 0,
        *,
        page: int = 5000,
        types: Sequence[str] | None = None,
        up_to: int | None = None,
    ) -> AsyncIterator[list[RecordedEvent]]:
        position = after
        while True:
            batch = await self.read_all(position, limit=page, types=types, up_to=up_to)
            if not batch:
                return
            yield batch
            position = batch[-1].position

    async def read_stream(self, stream: str, *, after_version: int = 0) -> list[RecordedEvent]:
        """A stream's events in order. A contact's number finds their pseudonymous stream,
        and the events stored under the number itself before sealing existed."""
        streams = [self.stream_of(stream)]
        if streams[0] != stream:
            streams.append(stream)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE stream = ANY($1::text[])"
                " AND stream_version > $2 ORDER BY position",
                streams,
                after_version,
            )
        return await self._opened([_record(r) for r in rows])

    async def streams_with(self, event_type: str, *, stream: str | None = None) -> list[str]:
        """The streams holding at least one event of this type, in order (or just ``stream``:
        a contact's number names their pseudonymous stream and the one from before sealing)."""
        streams = None if stream is None else sorted({self.stream_of(stream), stream})
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT stream FROM events WHERE type = $1 "
                "AND ($2::text[] IS NULL OR stream = ANY($2::text[])) ORDER BY stream",
                event_type,
                streams,
            )
        return [r["stream"] for r in rows]

    async def get(self, event_id: uuid.UUID) -> RecordedEvent | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM events WHERE event_id=$1", event_id)
        return (await self._opened([_record(row)]))[0] if row else None


async def append_in_transaction(
    conn: asyncpg.Connection, new: Sequence[NewEvent], expected_versions: Mapping[str, int]
) -> AppendResult:
    """Append on ``conn``: its own transaction, or part of the caller's when one is open."""
    expected = sorted(expected_versions.items())
    row = await conn.fetchrow(
        _APPEND,
        [e.event_id for e in new],
        [e.stream for e in new],
        [e.type for e in new],
        [e.schema_version for e in new],
        [e.occurred_at for e in new],
        [e.correlation_id for e in new],
        [e.causation_id for e in new],
        [e.data_json for e in new],
        [stream for stream, _ in expected],
        [version for _, version in expected],
        NOTIFY_CHANNEL,
    )
    if row["conflict_stream"] is not None:
        raise ConcurrencyConflict(
            row["conflict_stream"], row["conflict_expected"], row["conflict_actual"]
        )
    # The written events' ordinals (1-based, ascending); their positions are consecutive.
    written: list[int] | None = row["written"]
    if not written:
        return AppendResult(duplicates=tuple(e.event_id for e in new))
    first: int = row["first_position"]
    positions = tuple(range(first, first + len(written)))
    if len(written) == len(new):
        return AppendResult(positions=positions)
    fresh = set(written)
    return AppendResult(
        positions=positions,
        duplicates=tuple(e.event_id for i, e in enumerate(new, 1) if i not in fresh),
    )


async def create_pool(
    database_url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    idle_seconds: float = 300.0,
    application_name: str = "hilo",
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        # A connection unused this long is closed (the server's connections are shared by
        # every process of the stack).
        max_inactive_connection_lifetime=idle_seconds,
        init=_init_connection,
        # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic
        # plan made while the events table was small, e.g. a sequential scan for the duplicate
        # check, and keep it as the table grows (measured: 4x slower appends after 5k events).
        # The application name says whose session it is in pg_stat_activity (`hilo-<service>`).
        server_settings={
            "plan_cache_mode": "force_custom_plan",
            "application_name": application_name,
        },
        # asyncpg's default reset on release (unlock advisory locks, UNLISTEN, RESET ALL) is a
        # round trip on every release. Nothing here leaves session state behind: the one
        # advisory lock (migrations) and the one listener (projector) are released explicitly.
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    return None


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb (a version byte, then the text) also serves COPY, which rebuilds use.
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


def _encode_jsonb(value: str) -> bytes:
    return b"\x01" + value.encode()


def _decode_jsonb(value: bytes) -> Any:
    # orjson: reading events is mostly JSON decoding, and orjson does it several times faster.
    return orjson.loads(memoryview(value)[1:])
