"""Step 1, open: which message starts an event, and of what kind. Pure.

The contact opens one by asking for a meeting, call or demo ("Quiero agendar una
reunión"), by asking someone to come ("¿Pueden venir el lunes a las 10?"), or by asking for
another while one is arranged. A message that asks for two events with their own days
("a call on Monday at 10 and a site visit on Wednesday at 2") is read as two clauses.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from hilo.dates import find_day, find_range, find_time
from services.analyzer.models import ConversationMessage, EventKind
from services.analyzer.rules import titles
from services.analyzer.rules.classify import PROBLEM
from services.analyzer.rules.events.state import Draft, Reading, TitleSource
from services.analyzer.rules.events.vocabulary import (
    ASK,
    BRING_IT,
    CALL,
    CLAUSE_BREAK,
    DELIVERY,
    DEMO,
    EXISTING,
    MEETING,
    NEGATED_REQUEST,
    NEW_REQUEST,
    NO_APPOINTMENT_NEEDED,
    NOUN,
    OFFER,
    REQUESTED_ONLY,
    SCHEDULE_VERB,
    SERVICE,
    TECHNICIAN,
    VISIT,
    WRITE_BACK,
    about_hours,
)
from services.analyzer.rules.text import fold


def kind_of(folded: str) -> EventKind | None:
    """The kind of event a message names, if it names one."""
    folded = NO_APPOINTMENT_NEEDED.sub(" ", NEGATED_REQUEST.sub(" ", folded))
    if DEMO.search(folded):
        return "demo"
    if CALL.search(folded):
        return "call"
    if MEETING.search(folded) or REQUESTED_ONLY.search(folded) or SCHEDULE_VERB.search(folded):
        return "meeting"
    return None


def service_of(folded: str) -> str | None:
    if m := SERVICE.search(folded):
        return m.group(0)
    return "demo" if DEMO.search(folded) else None


def kind_asked(folded: str, at: datetime) -> EventKind | None:
    """The event a contact's message asks for; a visit only with a time, or a day when it
    is not to fix something (that is support work, see ``Draft.repair``)."""
    kind = kind_of(folded)
    if (
        kind is None
        and VISIT.search(folded)
        and (find_time(folded) or (find_day(folded, at) and not PROBLEM.search(folded)))
    ):
        kind = "meeting"
    return kind


def open_draft(
    reading: Reading, kind: EventKind, message: ConversationMessage, folded: str
) -> Draft:
    """A new event, now the current one, keyed by the message that asked for it."""
    noun = NOUN.search(folded)
    draft = Draft(
        key=message.id + reading.key_suffix,
        kind=kind,
        service=service_of(folded),
        noun=noun.group(0) if noun else None,
        asked=bool(ASK.search(folded)),
        existing=bool(EXISTING.search(folded)),
    )
    if kind == "meeting" and reading.problem_reported is not None:
        # A visit after the contact reported something broken is the repair of it.
        draft.repair = True
        # The business naming the visit ("booked the site visit") may still name it better.
        repair = titles.repair_title(reading.problem_reported, reading.language)
        draft.name(repair, TitleSource.CUES)
    reading.drafts.append(draft)
    reading.current = draft
    return draft


def offered_by_business(reading: Reading, message: ConversationMessage) -> None:
    """The business offers an event the contact has not named: a draft the contact's day,
    time or yes makes an event. Stated with its slot and no question ("El técnico le llega
    hoy a las 2", "We can fit you in at 4 today"), the offer is the agreement itself."""
    current = reading.current
    if reading.inbound_count == 0 or (current is not None and not current.cancelled):
        return
    folded = fold(message.text)
    sends_someone = bool(TECHNICIAN.search(folded))
    if about_hours(folded) or WRITE_BACK.search(folded):
        return
    if DELIVERY.search(folded) and not sends_someone:
        return
    asks = "?" in folded
    at = message.at.astimezone(reading.zone)
    slot = bool(find_day(folded, at) or find_time(folded))
    kind = kind_of(folded)
    clock = find_range(folded) or find_time(folded)
    brings = bool(BRING_IT.search(folded)) and clock is not None
    offers = OFFER.search(folded) or sends_someone or brings or (asks and kind)
    if not (offers or (asks and slot and reading.scheduling)):
        return
    draft = open_draft(reading, kind or "meeting", message, folded)
    draft.asked, draft.offered = False, True
    if draft.title is None and not draft.noun and reading.topic_hint:
        hint = titles.with_service(reading.topic_hint, reading.language, draft.service)
        draft.name(hint, TitleSource.HINT)
    if draft.title is None and TECHNICIAN.search(folded):
        draft.name(titles.technician_visit(reading.language), TitleSource.HINT)
    if not asks and clock and (reading.scheduling or reading.problem_reported):
        draft.day = find_day(folded, at)
        span = find_range(folded)
        draft.clock = span[0] if span else find_time(folded)
        draft.end_clock = span[1] if span else None
        draft.cite(message.id)


def opens_new(
    reading: Reading, kind: EventKind | None, current: Draft | None, folded: str, at: datetime
) -> bool:
    """Whether a message naming ``kind`` starts another event rather than adding to one."""
    if kind is None:
        return False
    if current is None or reading.force_new:
        return True
    if current.day is not None and NEW_REQUEST.search(folded):
        return True
    # "Y luego una demo…" after a call that has its day and time: another event.
    return (
        kind != current.kind
        and current.day is not None
        and current.clock is not None
        and bool(find_day(folded, at) or find_time(folded) or ASK.search(folded))
    )


def event_clauses(text: str, at: datetime) -> list[str]:
    """The parts of one message that each ask for an event with its own day; [text] if one."""
    folded = fold(text)
    cuts = [0, *(m.end() for m in CLAUSE_BREAK.finditer(folded)), len(text)]
    parts = [(text[a:b], folded[a:b]) for a, b in itertools.pairwise(cuts)]
    eventful = [
        original
        for original, part in parts
        if kind_of(part) and (find_day(part, at) or find_time(part))
    ]
    if len(eventful) < 2 or len(eventful) != sum(1 for _, p in parts if kind_of(p)):
        return [text]
    return [original for original, _ in parts]
