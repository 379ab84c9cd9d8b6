"""Finding the servers a CLI command talks to: the configured ones, or the embedded stack's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import asyncpg

from hilo.bus import EventBus
from hilo.embedded import DATABASE_NAME, EmbeddedPostgres, EmbeddedServerError, ensure_database
from hilo.errors import UserError
from hilo.privacy.codec import EventCodec, codec_for
from hilo.privacy.master import master_key
from hilo.settings import HiloSettings
from hilo.store.eventstore import create_pool
from hilo.store.migrations import migrate


def embedded_nats_url(settings: HiloSettings) -> str:
    return f"nats://127.0.0.1:{settings.nats_port}"


@contextlib.asynccontextmanager
async def database_url(settings: HiloSettings) -> AsyncIterator[str]:
    """The configured database, or the embedded one (started for this command if it was not)."""
    if settings.database_url:
        yield settings.database_url
        return
    pg = EmbeddedPostgres(settings.data_dir / "pg")
    started_here = not pg.running()
    try:
        server_uri = await asyncio.to_thread(pg.start)
    except EmbeddedServerError as exc:
        raise UserError(str(exc)) from exc
    try:
        yield await ensure_database(server_uri, DATABASE_NAME)
    finally:
        if started_here:
            await asyncio.to_thread(pg.stop)


@contextlib.asynccontextmanager
async def database(settings: HiloSettings) -> AsyncIterator[asyncpg.Pool]:
    async with database_url(settings) as url, _pool(url) as pool:
        yield pool


@contextlib.asynccontextmanager
async def _pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    try:
        pool = await create_pool(url, max_size=4)
    except (OSError, asyncpg.PostgresError) as exc:
        raise UserError(f"cannot reach PostgreSQL ({_where(url)}): {exc}") from exc
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        yield pool
    finally:
        await pool.close()


def codec(settings: HiloSettings, pool: asyncpg.Pool) -> EventCodec:
    """Seals and opens contacts' events: HILO_MASTER_KEY, or the development stack's key."""
    return codec_for(master_key(settings, dev_file=True), pool)


@contextlib.asynccontextmanager
async def event_bus(
    settings: HiloSettings, codec: EventCodec | None = None
) -> AsyncIterator[EventBus]:
    url = settings.nats_url or embedded_nats_url(settings)
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), 2):
            pass
    except OSError as exc:
        raise UserError(
            f"cannot reach NATS at {parsed.hostname}:{parsed.port} "
            "(start the stack with `hilo up`, or set HILO_NATS_URL)"
        ) from exc
    bus = await EventBus.connect(url, settings.namespace, name="hilo-cli", codec=codec)
    try:
        await bus.ensure_streams()
        yield bus
    finally:
        await bus.close()


def _where(url: str) -> str:
    parsed = urlparse(url)
    return parsed.hostname or "local socket"
