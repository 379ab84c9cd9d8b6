"""`hilo migrate`: the schema brought up to date, then exit (a deploy runs it as a job).

Services still migrate at start-up (idempotently, under the same advisory lock), so a
forgotten job never leaves a service on a missing table; the job exists so that a
rollout's schema change is applied once, visibly, before any new replica starts.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import asyncpg

from hilo.cli.connect import database_url
from hilo.cli.errors import UserError
from hilo.settings import HiloSettings
from hilo.store.migrations import migrate


def apply_migrations(settings: HiloSettings) -> None:
    async def main() -> list[str]:
        async with database_url(settings) as url:
            try:
                conn = await asyncpg.connect(url)
            except (OSError, asyncpg.PostgresError) as exc:
                where = urlparse(url).hostname or "local socket"
                raise UserError(f"cannot reach PostgreSQL ({where}): {exc}") from exc
            try:
                return await migrate(conn)
            except asyncpg.PostgresError as exc:
                # Each file runs in its own transaction: the failed one left nothing behind.
                raise UserError(f"a migration failed and was rolled back: {exc}") from exc
            finally:
                await conn.close()

    applied = asyncio.run(main())
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("the database schema is up to date")
