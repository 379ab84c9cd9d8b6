"""Step 3, confirm: the business states what was agreed, and that settles it. Pure.

"Booked: Monday 1 February at 8am", "Apuntado: llamada el lunes 4 a las 10:30 y demo el
viernes 8 de 12 a 13": each slot the business states settles the event of its kind,
opening it if the contact's words did not name one. The business also keeps its own
promises: "te llamo el jueves a las 10" is a call event even with no request.
"""

from __future__ import annotations

from datetime import date

from hilo.dates import Clock, find_day, find_range, find_time
from services.analyzer.models import ConversationMessage, EventKind
from services.analyzer.rules import titles
from services.analyzer.rules.events.opening import kind_of, open_draft
from services.analyzer.rules.events.state import Draft, Reading, TitleSource
from services.analyzer.rules.events.vocabulary import (
    ALTERNATIVES,
    BOOKED,
    CANCEL,
    CONFIRM,
    CONFIRMATION_BREAK,
    DEADLINE,
    DELIVERY,
    KEPT,
    PROMISED_CALL,
    about_hours,
)
from services.analyzer.rules.text import fold


def twelve_hours_apart(a: Clock, b: Clock) -> bool:
    return a.minute == b.minute and abs(a.hour - b.hour) == 12


def confirmed_by_business(reading: Reading, message: ConversationMessage) -> None:
    """Every slot a business's statement of agreement names settles its event."""
    folded = fold(message.text)
    confirms = CONFIRM.search(folded) or PROMISED_CALL.search(folded)
    if reading.inbound_count == 0 or not confirms or folded.rstrip().endswith("?"):
        return
    at = message.at.astimezone(reading.zone)
    stated = []
    cuts = [
        0,
        *(x for m in CONFIRMATION_BREAK.finditer(folded) for x in m.span()),
        len(folded),
    ]
    for start, stop in zip(cuts[::2], cuts[1::2], strict=True):
        part, original = folded[start:stop], message.text[start:stop]
        if CANCEL.search(part) or ALTERNATIVES.search(part) or DELIVERY.search(part):
            continue
        if about_hours(part):
            continue
        part = DEADLINE.sub(" ", part)
        span = find_range(part)
        day, clock = find_day(part, at), (span[0] if span else find_time(part))
        if day is not None and clock is not None:
            stated.append((part, original, day, clock, span))
    for part, original, day, clock, span in stated:
        kind = kind_of(part)
        draft = draft_for(reading, kind, day, alone=len(stated) == 1)
        if draft is None:
            booked = BOOKED.search(part) or BOOKED.search(folded)
            if not ((reading.scheduling and booked) or PROMISED_CALL.search(part)):
                continue
            draft = open_draft(reading, kind or "meeting", message, part)
            draft.existing = bool(KEPT.search(part)) or reading.kept_mentioned
            if kind is None:
                draft.noun = None
        named = titles.from_confirmation(original, reading.language, draft.service)
        draft.name(named, TitleSource.CONFIRMATION)
        if draft.noun is None:
            draft.name(reading.topic_hint, TitleSource.HINT)
        if draft.day is not None and draft.day != day and not draft.cancelled:
            draft.rescheduled = draft.rescheduled or draft.clock is not None
        if draft.clock is not None and twelve_hours_apart(draft.clock, clock):
            # "7 de la mañana" from the contact beats a confirmation's unmarked "7:00".
            span, clock = None, draft.clock
        draft.day, draft.clock = day, clock
        if span is not None:
            draft.end_clock, draft.duration = span[1], None
        elif draft.end_clock is not None and (draft.end_clock.hour, draft.end_clock.minute) <= (
            clock.hour,
            clock.minute,
        ):
            draft.end_clock = None
        draft.tentative = False
        draft.cite(message.id)


def draft_for(reading: Reading, kind: EventKind | None, day: date, *, alone: bool) -> Draft | None:
    """The standing event a business confirmation speaks of: same kind, else same day."""
    standing = reading.standing()
    for candidates in (
        [d for d in standing if kind is not None and d.kind == kind],
        [d for d in standing if d.day == day],
    ):
        if len(candidates) >= 1:
            return candidates[-1]
    current = reading.current
    if alone and current is not None and not current.cancelled:
        return current
    return None
