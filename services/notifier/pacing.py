"""Outbound pacing: one token bucket per sender number, shared by every conversation.

WhatsApp throughput is counted per sender (Twilio: 10 msg/s by default for a
WhatsApp sender; Meta Cloud API: 80 msg/s per phone number). A bucket of one
token spaces messages evenly instead of letting bursts hit the provider's limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    def __init__(
        self,
        rate_per_second: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate_per_second
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for one token; callers are served in arrival order (the lock is FIFO)."""
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                # Within rounding of a whole token is a token: a sleep shorter than the clock's
                # resolution would not move it, and the loop would spin.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


class Pacer:
    """Buckets by sender; created on first use."""

    def __init__(self, rate_per_second: float) -> None:
        self.rate = rate_per_second
        self._buckets: dict[str, TokenBucket] = {}

    async def wait_turn(self, sender: str) -> None:
        if self.rate <= 0:
            return
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = TokenBucket(self.rate)
        await bucket.acquire()
