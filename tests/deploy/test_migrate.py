"""`hilo migrate`, as the deploy's migration job runs it: on an empty database, then again."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest_asyncio

from hilo.embedded import ensure_database, free_port
from hilo.store.migrations import discover
from hilo.testing import Infrastructure


def hilo(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HILO_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).parents[2],
        check=False,
    )


@pytest_asyncio.fixture
async def empty_database(infra: Infrastructure) -> AsyncIterator[str]:
    name = f"hilo_empty_{uuid.uuid4().hex[:10]}"
    url = await ensure_database(infra.server_uri, name)
    yield url
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def applied_ids(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id FROM schema_migrations ORDER BY id")
        await conn.fetchval("SELECT count(*) FROM events")  # the store's table is there
        return [r["id"] for r in rows]
    finally:
        await conn.close()


async def test_applies_every_migration_once_then_reports_nothing_to_do(empty_database: str) -> None:
    expected = sorted(m.id for m in discover())
    assert any(i.startswith("store/") for i in expected)
    assert any(not i.startswith("store/") for i in expected), "services' migrations too"

    first = hilo("migrate", database_url=empty_database)

    assert first.returncode == 0, first.stderr
    assert f"applied {len(expected)} migration(s)" in first.stdout
    assert await applied_ids(empty_database) == expected

    again = hilo("migrate", database_url=empty_database)

    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert await applied_ids(empty_database) == expected


def test_an_unreachable_database_is_one_line_without_a_traceback() -> None:
    url = f"postgresql://hilo@127.0.0.1:{free_port()}/hilo"

    result = hilo("migrate", database_url=url)

    assert result.returncode == 1
    assert "cannot reach PostgreSQL (127.0.0.1)" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_takes_the_service_from_the_image_and_names_an_unknown_one() -> None:
    env = {
        **os.environ,
        "HILO_SERVICE": "nosuch",
        "HILO_NATS_URL": "nats://127.0.0.1:1",
        "HILO_DATABASE_URL": "postgresql://hilo@127.0.0.1:1/hilo",
    }
    result = subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown service 'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr
