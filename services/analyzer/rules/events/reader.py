"""The reader: each message, in order, through the steps. Pure.

A business message is context and agreement: it is remembered as the proposal the
contact answers next, and a statement of agreement settles events (confirming.py). A
contact's message is, first match wins: a revival of a just-cancelled event (moving.py),
a cancellation (cancelling.py), a move (moving.py), or a request that opens an event
(opening.py) and fills it (filling.py).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hilo.dates import find_day, find_time
from services.analyzer.models import (
    AgreedEvent,
    Conversation,
    ConversationMessage,
    EventKind,
    Missing,
)
from services.analyzer.rules import titles
from services.analyzer.rules.classify import PROBLEM
from services.analyzer.rules.events.cancelling import cancel, decline
from services.analyzer.rules.events.confirming import confirmed_by_business
from services.analyzer.rules.events.filling import (
    accept_proposal,
    fill,
    give_title,
    gives_slot,
    pick_by_ordinal,
    pick_offered_time,
)
from services.analyzer.rules.events.moving import move, revive_cancelled
from services.analyzer.rules.events.opening import (
    event_clauses,
    kind_asked,
    offered_by_business,
    open_draft,
    opens_new,
)
from services.analyzer.rules.events.state import Draft, EventsFound, Reading
from services.analyzer.rules.events.vocabulary import (
    ASK,
    CANCEL,
    DEADLINE_THEN,
    DECLINE,
    KEPT,
    NOT_ATTEND,
    ORDINAL,
    REBOOK,
    RESCHEDULE,
    THREAT,
    about_hours,
)
from services.analyzer.rules.text import fold


def read(reading: Reading, message: ConversationMessage) -> None:
    if message.direction == "outbound":
        reading.last_outbound, reading.answered = message.text, False
        reading.last_outbound_at = message.at
        titles.learn_spelling(reading.business_spelling, message.text)
        offered_by_business(reading, message)
        confirmed_by_business(reading, message)
        return
    clauses = event_clauses(message.text, message.at.astimezone(reading.zone))
    if len(clauses) < 2:
        _read_inbound(reading, message)
        return
    # "a call on Monday at 10 about the budget, and a site visit on Wednesday at 2"
    for n, clause in enumerate(clauses):
        reading.key_suffix, reading.force_new = (f"#{n}" if n else ""), True
        _read_inbound(reading, message.model_copy(update={"text": clause}))
    reading.key_suffix, reading.force_new = "", False


def _read_inbound(reading: Reading, message: ConversationMessage) -> None:
    reading.inbound_count += 1
    text = message.text
    # A threat to cancel is a complaint, not a cancellation.
    folded = THREAT.sub(" ", fold(text))
    at = message.at.astimezone(reading.zone)
    if reading.problem_reported is None and PROBLEM.search(folded):
        reading.problem_reported = text
    if DEADLINE_THEN.search(folded):
        reading.answered = True
        return
    kind = kind_asked(folded, at)
    current = reading.current if reading.current and not reading.current.cancelled else None
    moving = RESCHEDULE.search(folded) or (CANCEL.search(folded) and REBOOK.search(folded))
    if kind or moving or ASK.search(folded) or gives_slot(folded, at):
        reading.scheduling = True
    if reading.topic_hint is None:
        # The answer to "what is it about?" before any event was recognised is its topic.
        asked = reading.unanswered_proposal()
        if asked is not None and titles.TOPIC_QUESTION.search(fold(asked)):
            reading.topic_hint = titles.from_answer(text, reading.language, None)
    if reading.topic_hint is None:
        reading.topic_hint = titles.from_cues(text, reading.language, None)
    if KEPT.search(folded):
        reading.kept_mentioned = True
    revived = revive_cancelled(reading, folded, at) if not moving else None
    if revived is not None:
        reading.current = revived
        fill(reading, revived, folded, at, message)
        if revived.clock is None:
            pick_offered_time(reading, revived, at)
    elif CANCEL.search(folded) and not moving:
        cancel(reading, kind, current, message, folded, at)
    elif DECLINE.search(folded) and not moving and not gives_slot(folded, at):
        decline(reading, kind, current, message, folded, at)
    elif moving and (kind or current or find_day(folded, at) or find_time(folded)):
        move(reading, kind, current, message, folded, at)
    else:
        _request(reading, kind, current, message, folded, at)
    if NOT_ATTEND.search(folded) and reading.current is not None:
        reading.current.unattended = True
    reading.answered = True


def _request(
    reading: Reading,
    kind: EventKind | None,
    current: Draft | None,
    message: ConversationMessage,
    folded: str,
    at: datetime,
) -> None:
    """A message that asks for an event or adds to the current one."""
    if kind is not None and opens_new(reading, kind, current, folded, at):
        current = open_draft(reading, kind, message, folded)
        current.cite(message.id)
    if current is None:
        return
    if kind is None and about_hours(folded):
        # "¿A qué hora abrís el sábado?" asks about the business, not the event's day.
        return
    if kind == "call" and current.kind == "meeting" and not current.day:
        current.kind = "call"
    if pick_by_ordinal(reading, current, folded, at):
        current.slot_given_at = reading.inbound_count
        current.cite(message.id)
    else:
        fill(reading, current, folded, at, message)
    if not (find_day(folded, at) or find_time(folded) or ORDINAL.search(folded)):
        accept_proposal(reading, current, folded, at)
    elif current.clock is None:
        pick_offered_time(reading, current, at)
    give_title(reading, current, message.text)


def found(reading: Reading, conversation: Conversation) -> EventsFound:
    """The events in their latest state, and what the one being arranged still lacks."""
    events = tuple(_agreed(reading, d, conversation) for d in reading.drafts if d.day is not None)
    missing: list[Missing] = []
    last = reading.current
    if last is not None and not last.cancelled and not (last.offered and last.day is None):
        # Time and topic are asked for once, in answer to the message that gave the day
        # or time; after one more message without them the event stands as it is.
        # An event being moved already exists: nothing to ask about it but its new slot.
        just_given = last.slot_given_at == reading.inbound_count and not last.rescheduled
        if last.day is None:
            missing.append("day")
            if last.clock is None:
                missing.append("time")
        elif last.clock is None and not last.any_time and just_given:
            missing.append("time")
        if last.title is None and (last.day is None or just_given):
            missing.append("topic")
    drafts = reading.drafts
    dated = [d for d in reading.standing() if d.day is not None]
    return EventsFound(
        events=events,
        missing=tuple(missing),
        rescheduled=any(d.rescheduled and not d.cancelled for d in drafts),
        cancelled=reading.cancel_asked or any(d.cancelled for d in drafts),
        only_kept=all(d.existing and not d.rescheduled for d in drafts if not d.cancelled),
        requested=any((d.asked or d.day is not None) and not d.repair for d in drafts),
        only_repairs=bool(dated) and all(d.repair for d in dated),
        call_asked=any(d.kind == "call" and d.day is None and d.asked for d in reading.standing()),
    )


def _agreed(reading: Reading, draft: Draft, conversation: Conversation) -> AgreedEvent:
    assert draft.day is not None
    zone = reading.zone
    start: datetime | date = draft.day
    end: datetime | None = None
    if draft.clock is not None:
        start = datetime.combine(draft.day, time(draft.clock.hour, draft.clock.minute), zone)
        if draft.end_clock is not None:
            end_at = time(draft.end_clock.hour, draft.end_clock.minute)
            end = datetime.combine(draft.day, end_at, zone)
        elif draft.duration is not None:
            end = start + draft.duration
    contact = conversation.contact.name or conversation.contact.phone
    return AgreedEvent(
        key=draft.key,
        title=titles.respelled(
            draft.title
            or titles.default_title(draft.kind, reading.language, draft.service, draft.noun),
            reading.business_spelling,
        ),
        start=start,
        end=end,
        timezone=conversation.timezone,
        location=draft.location,
        attendees=(contact,) if contact else (),
        kind=draft.kind,
        status="cancelled" if draft.cancelled else "standing",
        rescheduled=draft.rescheduled,
        source_message_ids=tuple(draft.sources),
    )


def find_events(conversation: Conversation, language: str) -> EventsFound:
    """Every calendar event the conversation asked for, in its latest state."""
    reading = Reading(language=language, zone=ZoneInfo(conversation.timezone))
    for message in conversation.messages:
        read(reading, message)
    return found(reading, conversation)
