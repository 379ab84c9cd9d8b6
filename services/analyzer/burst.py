"""When a conversation's queued messages are ready to be answered: pure, no I/O.

A burst is answered once the contact has been quiet for the burst window, the router
has said who answers each of its messages, and no voice note in it still waits for its
transcript (each wait has its own bound; past it the burst is read without).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class InboxRow:
    trigger_id: uuid.UUID
    seq: int
    conversation: str
    message_id: uuid.UUID
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    reply_wanted: bool
    queued_at: datetime
    burst_id: uuid.UUID | None = None
    # The router's decision has arrived (reply_wanted is then final).
    routed: bool = True
    # Failed attempts at analysing this row's burst, and when to try again.
    attempts: int = 0
    next_attempt_at: datetime | None = None
    # The message is a voice note still without words: since when it waits, or whether
    # its transcription failed.
    audio_pending_since: datetime | None = None
    audio_failed: bool = False

    @property
    def unheard(self) -> bool:
        return self.audio_failed or self.audio_pending_since is not None


def seconds_to_wait(
    rows: Sequence[InboxRow],
    now: datetime,
    *,
    burst_seconds: float,
    voice_note_wait_seconds: float,
    routing_wait_seconds: float = 60.0,
) -> float:
    """0 when the burst can be analysed now, else how long until it might be."""
    if not rows:
        return 0.0
    quiet_until = max(r.queued_at for r in rows) + timedelta(seconds=burst_seconds)
    deadlines = [quiet_until]
    deadlines += [r.next_attempt_at for r in rows if r.next_attempt_at is not None]
    deadlines += [
        r.queued_at + timedelta(seconds=routing_wait_seconds) for r in rows if not r.routed
    ]
    deadlines += [
        r.audio_pending_since + timedelta(seconds=voice_note_wait_seconds)
        for r in rows
        if r.audio_pending_since is not None
    ]
    return max(0.0, (max(deadlines) - now).total_seconds())


def burst_id(rows: Sequence[InboxRow]) -> uuid.UUID:
    """A burst is named for its last trigger: replies and analyses derive their ids from it."""
    return max(rows, key=lambda r: r.seq).trigger_id
