"""Letting transcripts go: destroying the day keys that seal them (crypto-shredding).

``Transcript[...]`` fields are sealed with a key per contact and UTC day (scope
``transcript:YYYY-MM-DD``); destroying a day's keys turns every transcript of that day
into noise in the store, on the bus and in any copy, while the store stays append-only.
This is the one place the retention job reaches the keyring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg

# Destroys the transcript keys of every day before the given one; returns how many.
KeyShredder = Callable[[date], Awaitable[int]]


def shredder(db: asyncpg.Pool) -> KeyShredder:
    async def destroy_before(day: date) -> int:
        # Until the keyring lands (issue 18, seal), transcripts are stored unsealed: nothing
        # to destroy, and the read models still drop their text on transcript.expired.
        return 0

    return destroy_before
