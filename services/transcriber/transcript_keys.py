"""Letting transcripts go: destroying the day keys that seal them (crypto-shredding).

``Transcript[...]`` fields are sealed with a key per contact and UTC day (scope
``transcript:YYYY-MM-DD``, :mod:`hilo.privacy.keyring`); destroying a day's keys turns every
transcript of that day into noise in the store, on the bus and in any copy, while the store
stays append-only. This is the one place the retention job reaches the keyring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from hilo.privacy.keyring import Keyring

# Destroys the transcript keys of every day before the given one; returns how many.
KeyShredder = Callable[[date], Awaitable[int]]


def shredder(keyring: Keyring) -> KeyShredder:
    async def destroy_before(day: date) -> int:
        # Every process that cached one of these keys drops it (the keyring's NOTIFY).
        return len(await keyring.destroy_transcripts_before(day))

    return destroy_before
