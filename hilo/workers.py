"""One worker task per key (a conversation), run again whenever it is kicked.

A conversation's work stays in order while conversations run side by side: a kick while
its worker runs makes the worker look again before it ends, and a kick after it ended
starts a new one. Used by the services that answer conversations one burst at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class KeyedWorkers:
    def __init__(self, drain: Callable[[str], Awaitable[None]], name: str) -> None:
        self._drain = drain
        self._name = name
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._wake: dict[str, asyncio.Event] = {}

    def kick(self, key: str) -> None:
        """Make sure ``key``'s worker runs and drains again; wakes it if it is waiting."""
        self._again.add(key)
        self.wake(key).set()
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(
                self._run(key), name=f"{self._name}-{key[-4:]}"
            )

    def wake(self, key: str) -> asyncio.Event:
        """Set by every kick: a worker waiting for quiet waits on it to hear of new work."""
        return self._wake.setdefault(key, asyncio.Event())

    async def close(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        self._workers.clear()

    async def _run(self, key: str) -> None:
        try:
            while key in self._again:
                self._again.discard(key)
                await self._drain(key)
        finally:
            self._workers.pop(key, None)
            self._wake.pop(key, None)
