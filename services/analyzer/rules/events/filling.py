"""Step 2, fill: the day, time, end, place and title a message gives the current event. Pure.

The contact's own words fill it ("El viernes a las 10" … "Revisión del proyecto"); a yes
to the business's proposal takes what it proposed ("¿el jueves a las 10?" … "sí"); a pick
among the business's options takes that option ("the second one", "el martes por la
mañana" after "lunes a las 7 o martes a las 9").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hilo.dates import Clock, find_day, find_duration, find_range, find_time
from services.analyzer.models import ConversationMessage
from services.analyzer.rules import titles
from services.analyzer.rules.events.state import Draft, Reading, TitleSource
from services.analyzer.rules.events.vocabulary import (
    ACCEPT,
    ALTERNATIVES,
    ANSWER_LATER,
    ANY_TIME,
    DEADLINE,
    OPTION_BREAK,
    ORDINAL,
    UNAVAILABLE,
    VIDEO,
    about_hours,
)
from services.analyzer.rules.text import fold


def length(start: Clock, end: Clock) -> timedelta:
    return timedelta(hours=end.hour - start.hour, minutes=end.minute - start.minute)


def gives_slot(folded: str, at: datetime) -> bool:
    """A day or a time for an event (not a deadline, not opening hours)."""
    plain = ANSWER_LATER.sub(" ", DEADLINE.sub(" ", folded))
    return bool(find_day(plain, at) or find_time(plain)) and not about_hours(folded)


def fill(
    reading: Reading, draft: Draft, folded: str, at: datetime, message: ConversationMessage
) -> bool:
    """The slots one message gives; True when the event's day or time changed."""
    changed = False
    day = find_day(ANSWER_LATER.sub(" ", UNAVAILABLE.sub(" ", DEADLINE.sub(" ", folded))), at)
    if day is not None and day != draft.day:
        draft.day, changed = day, True
    span = find_range(folded)
    if span is not None:
        draft.clock, draft.end_clock, draft.duration = span[0], span[1], None
        changed = True
    elif (clock := find_time(folded)) is not None and clock != draft.clock:
        # A new start keeps a stated length but not a stated end.
        if draft.end_clock and draft.clock:
            draft.duration = length(draft.clock, draft.end_clock)
        draft.clock, draft.end_clock, changed = clock, None, True
    if (stated := find_duration(folded)) is not None and span is None:
        draft.duration, draft.end_clock, changed = stated, None, True
    if ANY_TIME.search(folded):
        draft.any_time = True
    if VIDEO.search(folded) and draft.location is None:
        draft.location = "Videollamada" if reading.language == "es" else "Video call"
    if changed:
        draft.tentative = bool(ALTERNATIVES.search(folded))
        draft.slot_given_at = reading.inbound_count
        draft.cite(message.id)
    return changed


def accept_proposal(reading: Reading, draft: Draft, folded: str, at: datetime) -> None:
    """ "Sí" to the business's "¿el jueves a las 10?" takes what it proposed."""
    if reading.last_outbound is None or not ACCEPT.search(folded):
        return
    proposal = fold(reading.last_outbound)
    if ALTERNATIVES.search(proposal):
        return  # a choice was offered; a bare "sí" does not say which
    proposed_at = reading.proposal_time(at)
    day, clock = find_day(proposal, proposed_at), find_time(proposal)
    if draft.unattended and day is not None and draft.day is not None and day != draft.day:
        draft.day, draft.rescheduled, draft.unattended = day, True, False
    if draft.day is None or (draft.tentative and day is not None):
        draft.day = day
    if draft.day is not None and clock is not None and (draft.clock is None or draft.tentative):
        draft.clock = clock
    draft.tentative = False


def pick_offered_time(reading: Reading, draft: Draft, at: datetime) -> None:
    """ "El martes por la mañana" after "lunes a las 7 o martes a las 9": the offered 9."""
    offered = reading.unanswered_proposal()
    if offered is None or draft.day is None:
        return
    offered_at = reading.proposal_time(at)
    for option in OPTION_BREAK.split(fold(offered)):
        if find_day(option, offered_at) == draft.day and take_option(draft, option):
            return


def pick_by_ordinal(reading: Reading, draft: Draft, folded: str, at: datetime) -> bool:
    """ "The second one works" after three offered slots: the second of them."""
    m = ORDINAL.search(folded)
    offered = reading.unanswered_proposal()
    if m is None or offered is None:
        return False
    offered_at = reading.proposal_time(at)
    options = [
        o for o in OPTION_BREAK.split(fold(offered)) if find_day(o, offered_at) or find_time(o)
    ]
    if len(options) < 2:
        return False
    index = -1 if m.group(4) else (0 if m.group(1) else 1 if m.group(2) else 2)
    if index >= len(options):
        return False
    option = options[index]
    if (day := find_day(option, offered_at)) is not None:
        draft.day = day
    return take_option(draft, option) or day is not None


def take_option(draft: Draft, option: str) -> bool:
    if span := find_range(option):
        draft.clock, draft.end_clock, draft.duration = span[0], span[1], None
        return True
    if clock := find_time(option):
        draft.clock = clock
        return True
    return False


def give_title(reading: Reading, draft: Draft, text: str) -> None:
    """The topic of the contact's answer to "what is it about?", else one in their words."""
    asked = reading.unanswered_proposal()
    if asked is not None and titles.TOPIC_QUESTION.search(fold(asked)):
        answer = titles.from_answer(text, reading.language, draft.service)
        draft.name(answer, TitleSource.ANSWER)
    if draft.title_rank < TitleSource.CUES:
        draft.name(titles.from_cues(text, reading.language, draft.service), TitleSource.CUES)
