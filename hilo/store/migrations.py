"""Schema migrations: numbered SQL files, applied once each, under an advisory lock.

The store's own files live in ``hilo/store/sql``; a service that owns tables
keeps its files in ``services/<name>/migrations``. Every process may run
``migrate`` at start-up: the lock makes concurrent starts wait, not collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

_LOCK_KEY = 0x48494C4F  # "HILO"


@dataclass(frozen=True)
class Migration:
    id: str
    sql: str


def _sql_files(folder: Traversable, owner: str) -> list[Migration]:
    if not folder.is_dir():
        return []
    return [
        Migration(id=f"{owner}/{entry.name}", sql=entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".sql")
    ]


def discover() -> list[Migration]:
    found = _sql_files(resources.files("hilo.store") / "sql", "store")
    services = resources.files("services")
    for service in sorted(services.iterdir(), key=lambda e: e.name):
        if service.is_dir() and not service.name.startswith("_"):
            found += _sql_files(service / "migrations", service.name)
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing; return the ids applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["id"] for r in await conn.fetch("SELECT id FROM schema_migrations")}
        for migration in discover():
            if migration.id in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (id) VALUES ($1)", migration.id)
            applied_now.append(migration.id)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now


async def migrate_url(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
