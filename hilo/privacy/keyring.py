"""Per-contact data keys in PostgreSQL, wrapped by the master key; destroying one shreds.

Each contact (by pseudonym) has a ``contact`` key for their personal fields and one
``transcript:YYYY-MM-DD`` key per day of transcripts, so retention can destroy old
transcripts without forgetting the contact. Keys are created on first use, race-safe
(``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT``: two processes at once get one key).

A destroyed key must not live on in a long-running process's memory: destroying notifies
every process (``LISTEN``/``NOTIFY`` on :data:`CHANNEL`) and each drops what it cached of
that contact; a cached key is also re-read after :data:`CACHE_SECONDS` in case a
notification was missed (a dropped listener connection clears the whole cache). A
destroyed key leaves a tombstone, so "destroyed" (forgotten) is told apart from "never
existed" (a broken or forged field), and it never comes back: a contact who writes again
after being forgotten gets new keys, a new life.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

CHANNEL = "hilo_data_keys"
CACHE_SECONDS = 30.0
# Keys cached per process at most (a key and an AES context each); beyond, the cache starts over.
MAX_CACHED = 50_000
CONTACT_SCOPE = "contact"
TRANSCRIPT_PREFIX = "transcript:"
_NONCE_BYTES = 12


def transcript_scope(day: date) -> str:
    return f"{TRANSCRIPT_PREFIX}{day.isoformat()}"


class KeyUnwrapFailed(RuntimeError):
    """A stored data key does not open with this master key (a different HILO_MASTER_KEY?)."""


@dataclass(frozen=True)
class DataKey:
    key_id: uuid.UUID
    pseudonym: str
    scope: str
    cipher: AESGCM = field(compare=False, repr=False)


def _associated(key_id: uuid.UUID, pseudonym: str, scope: str) -> bytes:
    # A wrapped key cannot be moved to another row (contact, scope) and still open.
    return f"{key_id}|{pseudonym}|{scope}".encode()


def wrap(wrapping: AESGCM, key_id: uuid.UUID, pseudonym: str, scope: str, secret: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + wrapping.encrypt(nonce, secret, _associated(key_id, pseudonym, scope))


def unwrap(
    wrapping: AESGCM, key_id: uuid.UUID, pseudonym: str, scope: str, wrapped: bytes
) -> bytes:
    try:
        return wrapping.decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _associated(key_id, pseudonym, scope)
        )
    except InvalidTag as exc:
        raise KeyUnwrapFailed(f"data key {key_id} does not open with this HILO_MASTER_KEY") from exc


def _set(event: asyncio.Event, *_: object) -> None:
    event.set()


class Keyring:
    """Get-or-create, look up and destroy data keys; a per-process cache kept honest.

    Give it a pool of its own in a service: events are sealed inside handlers' transactions,
    each holding a connection of the service's pool, and a key looked up on that same pool
    would wait for a connection that the waiting transactions hold (a deadlock under load).
    Keys are created in transactions of their own, so a key is never rolled back with the
    handler's work after being cached and used.
    """

    def __init__(
        self, pool: asyncpg.Pool, wrapping_key: bytes, *, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self.pool = pool
        self._wrapping = AESGCM(wrapping_key)
        self.cache_seconds = cache_seconds
        # (pseudonym, scope) → (key, cached at); key id → (key or None when destroyed, at).
        self._by_scope: dict[tuple[str, str], tuple[DataKey, float]] = {}
        self._by_id: dict[uuid.UUID, tuple[DataKey | None, float]] = {}
        # pseudonym → its cached (pseudonym, scope) and key ids: forgetting one is cheap.
        self._of_contact: dict[str, set[tuple[str, str] | uuid.UUID]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        # How many invalidations this process has received (tests wait on it).
        self.invalidations = 0

    # --- the cache -------------------------------------------------------------------
    def _fresh(self, at: float) -> bool:
        return time.monotonic() - at < self.cache_seconds

    def _remember(self, key: DataKey) -> DataKey:
        if len(self._by_id) >= MAX_CACHED:
            self.forget_cached()
        now = time.monotonic()
        self._by_scope[(key.pseudonym, key.scope)] = (key, now)
        self._by_id[key.key_id] = (key, now)
        self._of_contact.setdefault(key.pseudonym, set()).update(
            ((key.pseudonym, key.scope), key.key_id)
        )
        return key

    def forget_cached(self, pseudonym: str | None = None) -> None:
        """Drop what is cached of one contact (None: of everyone)."""
        if pseudonym is None:
            self._by_scope.clear()
            self._by_id.clear()
            self._of_contact.clear()
            return
        for entry in self._of_contact.pop(pseudonym, ()):
            if isinstance(entry, tuple):
                self._by_scope.pop(entry, None)
            else:
                self._by_id.pop(entry, None)

    def cached(self, pseudonym: str, scope: str = CONTACT_SCOPE) -> DataKey | None:
        entry = self._by_scope.get((pseudonym, scope))
        return entry[0] if entry and self._fresh(entry[1]) else None

    # --- keys --------------------------------------------------------------------------
    def _open_row(self, row: asyncpg.Record) -> DataKey:
        key_id, pseudonym, scope = row["key_id"], row["pseudonym"], row["scope"]
        secret = unwrap(self._wrapping, key_id, pseudonym, scope, row["wrapped"])
        return DataKey(key_id, pseudonym, scope, AESGCM(secret))

    async def key_for(self, pseudonym: str, scope: str = CONTACT_SCOPE) -> DataKey:
        """The contact's live key for ``scope``, created on first use."""
        cached = self.cached(pseudonym, scope)
        if cached is not None:
            return cached
        async with self.pool.acquire() as conn:
            for _ in range(5):
                row = await conn.fetchrow(
                    "SELECT key_id, pseudonym, scope, wrapped FROM hilo_data_keys"
                    " WHERE pseudonym = $1 AND scope = $2",
                    pseudonym,
                    scope,
                )
                if row is not None:
                    return self._remember(self._open_row(row))
                key_id = uuid.uuid4()
                wrapped = wrap(self._wrapping, key_id, pseudonym, scope, AESGCM.generate_key(256))
                # Two processes creating at once: one row wins, both then read it.
                await conn.execute(
                    "INSERT INTO hilo_data_keys (key_id, pseudonym, scope, wrapped)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (pseudonym, scope) DO NOTHING",
                    key_id,
                    pseudonym,
                    scope,
                    wrapped,
                )
        raise RuntimeError(f"no data key could be created for a contact ({scope})")

    async def get(self, pseudonym: str, scope: str = CONTACT_SCOPE) -> DataKey | None:
        """The contact's live key for ``scope``; None when there is none (or it was destroyed)."""
        cached = self.cached(pseudonym, scope)
        if cached is not None:
            return cached
        row = await self.pool.fetchrow(
            "SELECT key_id, pseudonym, scope, wrapped FROM hilo_data_keys"
            " WHERE pseudonym = $1 AND scope = $2",
            pseudonym,
            scope,
        )
        return self._remember(self._open_row(row)) if row else None

    async def by_ids(self, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DataKey | None]:
        """Keys by id: a live key, or None for a destroyed one. Ids never issued are left out."""
        found: dict[uuid.UUID, DataKey | None] = {}
        missing: list[uuid.UUID] = []
        for key_id in set(key_ids):
            entry = self._by_id.get(key_id)
            # A destroyed key never comes back: its tombstone is cached for good.
            if entry is not None and (entry[0] is None or self._fresh(entry[1])):
                found[key_id] = entry[0]
            else:
                missing.append(key_id)
        if not missing:
            return found
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key_id, pseudonym, scope, wrapped FROM hilo_data_keys"
                " WHERE key_id = ANY($1::uuid[])",
                missing,
            )
            for row in rows:
                found[row["key_id"]] = self._remember(self._open_row(row))
            gone = [k for k in missing if k not in found]
            if gone:
                for row in await conn.fetch(
                    "SELECT key_id FROM hilo_destroyed_keys WHERE key_id = ANY($1::uuid[])", gone
                ):
                    found[row["key_id"]] = None
                    self._by_id[row["key_id"]] = (None, time.monotonic())
        return found

    async def destroy(self, pseudonym: str) -> int:
        """Destroy every key of the contact (all scopes); how many were destroyed."""
        destroyed = await self._destroy(
            "DELETE FROM hilo_data_keys WHERE pseudonym = $1 RETURNING key_id, pseudonym, scope",
            pseudonym,
        )
        return len(destroyed)

    async def destroy_transcripts_before(self, day: date) -> list[tuple[str, date]]:
        """Destroy every contact's transcript keys of days before ``day``: (pseudonym, day)."""
        destroyed = await self._destroy(
            "DELETE FROM hilo_data_keys WHERE scope LIKE 'transcript:%' AND scope < $1"
            " RETURNING key_id, pseudonym, scope",
            transcript_scope(day),
        )
        return sorted(
            (pseudonym, date.fromisoformat(scope.removeprefix(TRANSCRIPT_PREFIX)))
            for pseudonym, scope in destroyed
        )

    async def _destroy(self, delete: str, argument: str) -> list[tuple[str, str]]:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(delete, argument)
            if rows:
                await conn.executemany(
                    "INSERT INTO hilo_destroyed_keys (key_id, pseudonym, scope)"
                    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    [(r["key_id"], r["pseudonym"], r["scope"]) for r in rows],
                )
                for pseudonym in sorted({r["pseudonym"] for r in rows}):
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, pseudonym)
        for pseudonym in {r["pseudonym"] for r in rows}:
            self.forget_cached(pseudonym)
        return [(r["pseudonym"], r["scope"]) for r in rows]

    # --- hearing other processes' destroys -------------------------------------------
    async def listen(self, database_url: str) -> None:
        """Start following other processes' destroys; returns once listening."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._follow(database_url), name="keyring")
        await self._listening.wait()

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.forget_cached(payload)
        self.invalidations += 1

    async def _follow(self, database_url: str) -> None:
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(database_url)
                conn.add_termination_listener(functools.partial(_set, lost))
                await conn.add_listener(CHANNEL, self._heard)
                # Whatever was destroyed while nobody listened: forget it all.
                self.forget_cached()
                self._listening.set()
                await lost.wait()
                log.warning("keyring: listener connection lost; cache cleared, reconnecting")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("keyring: cannot listen for destroyed keys yet: %r", exc)
                self._listening.set()  # the TTL still bounds staleness meanwhile
                await asyncio.sleep(1.0)
            finally:
                self.forget_cached()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
