"""Keep every projection caught up with the store: woken by NOTIFY, polling as a safety net."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

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

    listener = await runtime.db.acquire()
    try:
        await listener.add_listener(NOTIFY_CHANNEL, on_notify)
        while True:
            for projection in PROJECTIONS.values():
                try:
                    await catch_up(
                        runtime.db, projection, batch=settings.batch_size, codec=runtime.codec
                    )
                except Exception:
                    log.exception("projection %s failed to catch up", projection.name)
            for name, position in await _checkpoints(runtime):
                CHECKPOINT.labels(name).set(position)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), settings.poll_seconds)
            wake.clear()
    finally:
        with contextlib.suppress(Exception):
            await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
        await runtime.db.release(listener)


async def _checkpoints(runtime: Runtime) -> list[tuple[str, int]]:
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch("SELECT name, position FROM projection_checkpoints")
    return [(r["name"], int(r["position"])) for r in rows]
