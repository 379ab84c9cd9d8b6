"""The web app's pages against the API calls under them: what server-side rendering costs.

A store of BENCH_WEB_EVENTS events (default 100,000) over BENCH_WEB_CONVERSATIONS contacts
(default 2,000), written with COPY as bench_inbox.py does and folded by a rebuild; then the
inbox serves, over HTTP with a bearer token, each page and the fragment the live updates
fetch, and beside each the `/api` call(s) the page makes for it (its peer: the page's cost
is that plus rendering). Rounds alternate so the machine's drift stays out of the ratio.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from _common import percentile, servers, service_settings
from bench_inbox import COLUMNS, contact_of, generate

from hilo.projections.runner import PROJECTIONS, rebuild
from hilo.store.eventstore import create_pool
from services.inbox import accounts
from services.inbox.app import build
from services.inbox.settings import InboxSettings
from services.inbox.store import AccountStore

EVENTS = int(os.environ.get("BENCH_WEB_EVENTS", "100000"))
CONVERSATIONS = int(os.environ.get("BENCH_WEB_CONVERSATIONS", "2000"))
REQUESTS = int(os.environ.get("BENCH_WEB_REQUESTS", "200"))

Call = Callable[[int], Awaitable[Any]]


async def fill(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        rows = list(generate(EVENTS, CONVERSATIONS))
        await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
        await conn.execute("UPDATE event_store_head SET position = $1", len(rows))
        await conn.execute(
            "INSERT INTO event_streams (stream, version)"
            " SELECT stream, max(stream_version) FROM events GROUP BY stream"
        )
    finally:
        await conn.close()
    pool = await create_pool(database_url, max_size=4)
    try:
        for name in ("inbox", "conversations"):
            await rebuild(pool, PROJECTIONS[name])
        await pool.execute("ANALYZE")
    finally:
        await pool.close()


async def timed(samples: int, call: Call) -> list[float]:
    times = []
    for i in range(samples):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(settings: Any, token: str) -> None:
    service = build(InboxSettings(_env_file=None))
    rng = random.Random(7)
    contacts = [contact_of(rng.randrange(CONVERSATIONS)) for _ in range(REQUESTS)]
    async with service.running(settings):
        base = f"http://127.0.0.1:{service.http_port}"
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "es"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:

            async def get(path: str) -> None:
                response = await http.get(path)
                assert response.status_code == 200, (path, response.status_code)

            async def api_list(i: int) -> None:
                await get("/api/auth/me")
                await get("/api/conversations")

            async def api_detail(i: int) -> None:
                await get("/api/auth/me")
                await get("/api/conversations")
                await get(f"/api/conversations/{contacts[i]}")

            cases: list[tuple[str, Call, Call]] = [
                ("GET / (the list page)", lambda i: get("/"), api_list),
                (
                    "GET /conversations/{contact}",
                    lambda i: get(f"/conversations/{contacts[i]}"),
                    api_detail,
                ),
                (
                    "GET /ui/conversations (live list)",
                    lambda i: get("/ui/conversations"),
                    lambda i: get("/api/conversations"),
                ),
                (
                    "GET /ui/conversations/{contact} (live)",
                    lambda i: get(f"/ui/conversations/{contacts[i]}"),
                    lambda i: get(f"/api/conversations/{contacts[i]}"),
                ),
            ]
            print(f"pages over HTTP, {REQUESTS} requests each, one at a time")
            for name, page, api in cases:
                await timed(10, page)
                await timed(10, api)
                page_ms: list[float] = []
                api_ms: list[float] = []
                for _ in range(4):
                    page_ms += await timed(REQUESTS // 4, page)
                    api_ms += await timed(REQUESTS // 4, api)
                page_p50, api_p50 = statistics.median(page_ms), statistics.median(api_ms)
                print(
                    f"  {name:<38} p50 {page_p50:6.1f} ms  p99 {percentile(page_ms, 0.99):6.1f} ms"
                    f"   | its API calls p50 {api_p50:5.1f} ms p99 {percentile(api_ms, 0.99):5.1f}"
                    f" ms   ratio p50 {page_p50 / api_p50:4.2f}x"
                )


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "web") as settings_for:
            settings = settings_for("web")
            assert settings.database_url is not None
            started = time.perf_counter()
            await fill(settings.database_url)
            print(
                f"store: {EVENTS:,} events over {CONVERSATIONS:,} contacts, folded"
                f" in {time.perf_counter() - started:.1f} s"
            )
            pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
            assert pool is not None
            try:
                token = accounts.new_api_token()
                await AccountStore(pool).add_token("bench", "admin", token)
            finally:
                await pool.close()
            await measure(settings, token)


if __name__ == "__main__":
    asyncio.run(main())
