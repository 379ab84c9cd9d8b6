"""Step 4, move: the contact moves an event ("¿podemos pasarla al viernes?", "push it back
by an hour", "mejor la hacemos el lunes 21"). Pure.

The words before the move's destination name the event as it stood; the words after
give its new day and time. Asked to move, the event counts as moved even before the new
slot is agreed, and keeps its old time ("same time") unless a new one is given.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from hilo.dates import Clock, find_day, find_duration, find_time
from services.analyzer.models import ConversationMessage, EventKind
from services.analyzer.rules.events.filling import fill, give_title
from services.analyzer.rules.events.opening import open_draft
from services.analyzer.rules.events.state import Draft, Reading, TitleSource
from services.analyzer.rules.events.vocabulary import (
    ASK,
    CANCEL,
    DESTINATION,
    EARLIER,
    EARLIER_VERBS,
    REBOOK,
    RESCHEDULE,
    SHIFT,
    SLOT_NEXT,
)
from services.analyzer.rules.text import fold


def move(
    reading: Reading,
    kind: EventKind | None,
    current: Draft | None,
    message: ConversationMessage,
    folded: str,
    at: datetime,
) -> None:
    cue = RESCHEDULE.search(folded) or CANCEL.search(folded) or REBOOK.search(folded)
    assert cue is not None
    destination = None
    for m in DESTINATION.finditer(folded, cue.end()):
        rest = folded[m.end() :]
        if find_day(rest, at) or find_time(rest):
            destination = m
            break
    if destination is not None:
        split = destination.start()
    elif SLOT_NEXT.match(folded, cue.end()):
        split = cue.end()  # "mejor la hacemos el lunes 21": the new slot follows the verb
    else:
        split = len(folded)
    old, new = folded[:split], folded[split:]
    draft = current
    if draft is None:
        draft = open_draft(reading, kind or "meeting", message, folded)
        if kind is None:
            draft.name(reading.topic_hint, TitleSource.HINT)
    if draft.day is None:
        # The message names the event as it stood ("la cita que tengo mañana a las 10").
        fill(reading, draft, old, at, message)
    give_title(reading, draft, message.text)
    new_day, new_time = find_day(new, at), find_time(new)
    if new_day is not None and new_day != draft.day:
        draft.day, draft.rescheduled = new_day, True
    if new_time is not None and new_time != draft.clock:
        draft.clock, draft.rescheduled = new_time, True
    by = SHIFT.search(folded, cue.end())
    if by and new_time is None and draft.clock is not None:
        shift(draft, by, cue.group(0))
    elif (length := find_duration(new)) is not None:
        draft.duration = length
    # Asked to move, the event counts as moved even before the new slot is agreed; the
    # old time stands ("same time") unless a later message gives another.
    draft.rescheduled = True
    draft.cite(message.id)


def shift(draft: Draft, by_match: re.Match[str], verb: str) -> None:
    """ "Push it back by an hour": the time moves by the length said, later or earlier."""
    by = find_duration(by_match.group(2) or by_match.group(4) or "")
    if by is None or draft.clock is None:
        return
    directions = {by_match.group(1), by_match.group(3), by_match.group(5)}
    earlier = bool(directions & EARLIER) or bool(EARLIER_VERBS.match(verb))
    moved = datetime.combine(date(2000, 1, 1), time(draft.clock.hour, draft.clock.minute))
    moved += -by if earlier else by
    draft.clock = Clock(moved.hour, moved.minute)


def revive_cancelled(reading: Reading, folded: str, at: datetime) -> Draft | None:
    """After "cancel tomorrow's meeting", "¿Could we do Friday instead?" moves it."""
    last = reading.drafts[-1] if reading.drafts else None
    if last is None or not last.cancelled or CANCEL.search(folded):
        return None
    if not (find_day(folded, at) or find_time(folded)):
        return None
    offered = fold(reading.unanswered_proposal() or "")
    if not (REBOOK.search(folded) or ASK.search(folded) or REBOOK.search(offered)):
        return None
    last.cancelled, last.rescheduled = False, True
    return last
