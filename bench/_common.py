"""What every benchmark shares: real servers, timing, and a table of medians and ratios."""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg

from hilo.bus import EventBus
from hilo.embedded import ensure_database, with_database
from hilo.privacy.codec import codec_for
from hilo.privacy.master import master_key
from hilo.settings import HiloSettings
from hilo.store.eventstore import create_pool
from hilo.store.migrations import migrate_url
from hilo.testing import TEST_MASTER_KEY, Infrastructure, infrastructure

T = TypeVar("T")


@contextlib.contextmanager
def servers() -> Iterator[Infrastructure]:
    """Embedded NATS and PostgreSQL (or the ones HILO_NATS_URL/HILO_DATABASE_URL name)."""
    base = Path(tempfile.mkdtemp(prefix="hilo-bench-"))
    os.chmod(base, 0o777)  # pgserver runs PostgreSQL as its own user when we are root
    with infrastructure(base) as infra:
        yield infra


@contextlib.asynccontextmanager
async def service_settings(
    infra: Infrastructure, label: str
) -> AsyncIterator[Callable[[str], HiloSettings]]:
    """A migrated database of its own for one benchmark, dropped afterwards; yields a maker of
    settings that point a service at it, each with its own NATS namespace (``prefix``)."""
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    database_url = await ensure_database(infra.server_uri, name)
    await migrate_url(database_url)

    def settings_for(prefix: str) -> HiloSettings:
        return HiloSettings(
            nats_url=infra.nats_url,
            database_url=database_url,
            namespace=f"{prefix}{uuid.uuid4().hex[:8]}",
            http_port=0,
            data_dir=Path(tempfile.mkdtemp(prefix=f"hilo-bench-{label}-")),
            master_key=TEST_MASTER_KEY,
        )

    try:
        yield settings_for
    finally:
        conn = await asyncpg.connect(with_database(infra.server_uri, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def connect_bus(settings: HiloSettings) -> EventBus:
    """A bus that seals and opens as the services do (same master key, same database)."""
    pool = await create_pool(settings.require_database_url(), max_size=2)
    codec = codec_for(master_key(settings), pool)
    return await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)


async def close_bus(bus: EventBus) -> None:
    """Close a bus from :func:`connect_bus` and its keys' connections."""
    await bus.close()
    if bus.codec is not None:
        await bus.codec.keyring.pool.close()


async def rate(
    operation: Callable[[T], Awaitable[int]], prepare: Callable[[], T], rounds: int = 3
) -> float:
    """Median items per second over ``rounds`` runs of ``operation`` on freshly prepared input.

    Preparing the input (making events, encoding payloads) is not timed; ``operation``
    returns how many items it handled.
    """
    rates = []
    for _ in range(rounds):
        prepared = prepare()
        started = time.perf_counter()
        done = await operation(prepared)
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates)


async def side_by_side(
    ours: Callable[[T], Awaitable[int]],
    theirs: Callable[[T], Awaitable[int]],
    prepare: Callable[[], T],
    rounds: int = 5,
) -> tuple[float, float]:
    """Median items per second of ``ours`` and of ``theirs``, their rounds taken in turn.

    On a shared 2-core machine the speed drifts by a third within a minute; alternating the
    two keeps that drift out of the ratio, which measuring one after the other let in.
    """
    our_rates, their_rates = [], []
    for _ in range(rounds):
        our_rates.append(await rate(ours, prepare, rounds=1))
        their_rates.append(await rate(theirs, prepare, rounds=1))
    return statistics.median(our_rates), statistics.median(their_rates)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def print_table(title: str, rows: list[tuple[str, float, float | None]], unit: str) -> None:
    """Rows of (name, ours, peer); prints the ratio ours/peer where there is a peer."""
    print(f"\n{title}")
    print(f"  {'measure':<44} {'hilo':>12} {'peer':>12} {'ratio':>7}  ({unit}, medians)")
    for name, ours, peer in rows:
        peer_text = f"{peer:12,.0f}" if peer is not None else f"{'-':>12}"
        ratio = f"{ours / peer:7.2f}" if peer else f"{'-':>7}"
        print(f"  {name:<44} {ours:12,.0f} {peer_text} {ratio}")
