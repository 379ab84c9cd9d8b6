"""Step 5, cancel: the contact calls an event off ("cancela la reunión", "cancel
tomorrow's call"). Pure.

The event a cancellation names is the one on the day it gives, else the current one of
the same kind; a cancellation of an event not seen before is recorded as cancelled, so
that it gives no task and a later "instead" can revive it (moving.revive_cancelled).
"""

from __future__ import annotations

from datetime import datetime

from hilo.dates import find_day
from services.analyzer.models import ConversationMessage, EventKind
from services.analyzer.rules.events.filling import fill, give_title
from services.analyzer.rules.events.opening import open_draft
from services.analyzer.rules.events.state import Draft, Reading


def cancel(
    reading: Reading,
    kind: EventKind | None,
    current: Draft | None,
    message: ConversationMessage,
    folded: str,
    at: datetime,
) -> None:
    reading.cancel_asked = True
    draft = cancelled_one(reading, kind, current, folded, at)
    if draft is None and kind:
        draft = open_draft(reading, kind, message, folded)
        fill(reading, draft, folded, at, message)
        give_title(reading, draft, message.text)
    if draft is not None:
        draft.cancelled = True
        draft.cite(message.id)


def decline(
    reading: Reading,
    kind: EventKind | None,
    current: Draft | None,
    message: ConversationMessage,
    folded: str,
    at: datetime,
) -> None:
    """ "Mejor lo dejo para otro momento": an agreed slot is cancelled; one still being
    arranged (no time yet) was never an event and is dropped."""
    if current is None:
        return
    if current.clock is not None or current.existing:
        cancel(reading, kind, current, message, folded, at)
        return
    reading.drafts.remove(current)
    reading.current = reading.drafts[-1] if reading.drafts else None


def cancelled_one(
    reading: Reading, kind: EventKind | None, current: Draft | None, folded: str, at: datetime
) -> Draft | None:
    """The event a cancellation names: by its day when it gives one, else the current."""
    day = find_day(folded, at)
    if day is not None:
        same_day = [d for d in reading.standing() if d.day == day]
        if same_day:
            return same_day[-1]
    if current and (kind is None or kind == current.kind):
        return current
    return None
