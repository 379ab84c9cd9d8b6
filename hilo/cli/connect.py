"""Finding the servers a CLI command talks to: the configured ones, or the embedded stack's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import asyncpg

from hilo.bus import EventBus
from hilo.cli.errors import UserError
from hilo.embedded import DATABASE_NAME, EmbeddedPostgres, EmbeddedServerError, ensure_database
from hilo.settings import HiloSettings
from hilo.store.eventstore import create_pool
from hilo.store.migrations import migrate

EMBEDDED_NATS_PORT = 4222


def embedded_nats_url(settings: HiloSettings) -> str:
    return f"nats://127.0.0.1:{EMBEDDED_NATS_PORT}"


async def database_url(settings: HiloSettings) -> str:
    if settings.database_url:
        return settings.database_url
    pg = EmbeddedPostgres(settings.data_dir / "pg")
    try:
        server_uri = await asyncio.to_thread(pg.start)
    except EmbeddedServerError as exc:
        raise UserError(str(exc)) from exc
    return await ensure_database(server_uri, DATABASE_NAME)


@contextlib.asynccontextmanager
async def database(settings: HiloSettings) -> AsyncIterator[asyncpg.Pool]:
    url = await database_url(settings)
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


@contextlib.asynccontextmanager
async def event_bus(settings: HiloSettings) -> AsyncIterator[EventBus]:
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
    bus = await EventBus.connect(url, settings.namespace, name="hilo-cli")
    try:
        await bus.ensure_streams()
        yield bus
    finally:
        await bus.close()


def _where(url: str) -> str:
    parsed = urlparse(url)
    return parsed.hostname or "local socket"
