"""Keep every projection caught up with the store: woken by NOTIFY, polling as a safety net."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from prometheus_client import Gauge

from hilo.projections.runner import PROJECTIONS, catch_up
from hilo.service import Runtime
from hilo.store.eventstore import NOTIFY_CHANNEL
from services.projector.settings import ProjectorSettings

log = logging.getLogger(__name__)

CHECKPOINT = Gauge("hilo_projection_position", "Last store position folded", ["projection"])


async def keep_projections_current(runtime: Runtime) -> None:
    settings = ProjectorSettings()
    wake = asyncio.Event()

    def on_notify(*_: Any) -> None:
        wake.set()

    listener: asyncpg.Connection | None = None
    try:
        while True:
            # PostgreSQL may be away (restarting, our session terminated): every pass tries
            # again, and the poll is the safety net until a new listener hears NOTIFY.
            try:
                if listener is not None and _gone(listener):
                    stale, listener = listener, None
                    with contextlib.suppress(Exception):  # the pool replaces it
                        await runtime.db.release(stale)
                if listener is None:
                    listener = await _listen(runtime, on_notify)
                await _catch_up(runtime, settings)
            except Exception:
                log.exception("projections: a pass failed; the next one tries again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), settings.poll_seconds)
            wake.clear()
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
            await runtime.db.release(listener)


def _gone(listener: asyncpg.Connection) -> bool:
    try:
        return bool(listener.is_closed())
    except asyncpg.InterfaceError:
        return True  # its session died and the pool took the connection back


async def _listen(runtime: Runtime, on_notify: Callable[..., None]) -> asyncpg.Connection:
    listener = await runtime.db.acquire()
    try:
        await listener.add_listener(NOTIFY_CHANNEL, on_notify)
    except BaseException:
        await runtime.db.release(listener)
        raise
    return listener


async def _catch_up(runtime: Runtime, settings: ProjectorSettings) -> None:
    for projection in PROJECTIONS.values():
        try:
            await catch_up(runtime.db, projection, batch=settings.batch_size, codec=runtime.codec)
        except Exception:
            log.exception("projection %s failed to catch up", projection.name)
    for name, position in await _checkpoints(runtime):
        CHECKPOINT.labels(name).set(position)


async def _checkpoints(runtime: Runtime) -> list[tuple[str, int]]:
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch("SELECT name, position FROM projection_checkpoints")
    return [(r["name"], int(r["position"])) for r in rows]
