"""What a service's erasure of one forgotten contact costs, by how many contacts it keeps.

Services find a forgotten contact's rows by computing the pseudonym of each distinct
contact of a table (hilo/erasure.py: one HMAC per contact, no pseudonym column to keep).
The peer is the design not taken: an indexed pseudonym column, deleted by equality. Both
delete the same contact's rows (5 per contact) from a copy of the analyzer's message
table holding CONTACTS contacts, their rounds in turn; figures are erasures per second.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
from _common import print_table, servers, service_settings, side_by_side

from hilo.erasure import ContactColumn, erase_rows
from hilo.privacy.master import master_key, pseudonym_key
from hilo.privacy.pseudonyms import pseudonym
from hilo.store.eventstore import create_pool

SIZES = [int(n) for n in os.environ.get("BENCH_FORGET_CONTACTS", "1000,10000").split(",")]
ROWS_PER_CONTACT = 5
ROUNDS = 7


async def fill(pool: asyncpg.Pool, contacts: int, key: bytes) -> list[str]:
    numbers = [f"+5730{i:08d}" for i in range(contacts)]
    now = datetime.now(UTC)
    await pool.execute("TRUNCATE analyzer_messages")
    await pool.execute("ALTER TABLE analyzer_messages ADD COLUMN IF NOT EXISTS pseudonym text")
    await pool.execute(
        "CREATE INDEX IF NOT EXISTS bench_pseudonym ON analyzer_messages (pseudonym)"
    )
    await pool.copy_records_to_table(
        "analyzer_messages",
        records=[
            (uuid.uuid4(), n, "inbound", now, f"hola {i}", pseudonym(n, key))
            for n in numbers
            for i in range(ROWS_PER_CONTACT)
        ],
        columns=["message_id", "conversation", "direction", "at", "text", "pseudonym"],
    )
    await pool.execute("ANALYZE analyzer_messages")
    return numbers


async def main() -> None:
    rows: list[tuple[str, float, float | None]] = []
    with servers() as infra:
        async with service_settings(infra, "forget") as settings_for:
            settings = settings_for("forget")
            key = pseudonym_key(master_key(settings))
            pool = await create_pool(settings.require_database_url(), max_size=2)
            table = (ContactColumn("analyzer_messages", "conversation"),)
            try:
                for size in SIZES:
                    queue = iter(await fill(pool, size, key))

                    def prepare(numbers: Iterator[str] = queue) -> str:
                        return pseudonym(next(numbers), key)

                    async def ours(target: str) -> int:
                        async with pool.acquire() as conn, conn.transaction():
                            erased = await erase_rows(
                                conn, table, target, lambda n: pseudonym(n, key)
                            )
                        assert erased.rows == ROWS_PER_CONTACT
                        return 1

                    async def column(target: str) -> int:
                        status = await pool.execute(
                            "DELETE FROM analyzer_messages WHERE pseudonym = $1", target
                        )
                        assert status.endswith(str(ROWS_PER_CONTACT))
                        return 1

                    mine, peer = await side_by_side(ours, column, prepare, rounds=ROUNDS)
                    rows.append((f"one contact erased among {size:,}", mine, peer))
            finally:
                await pool.close()
    print_table(
        "Erasing a forgotten contact (HMAC per distinct contact vs an indexed pseudonym column)",
        rows,
        "erasures/s",
    )


if __name__ == "__main__":
    asyncio.run(main())
