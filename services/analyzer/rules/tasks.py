"""Follow-up work for the business, by the conventions of docs/ANALYSIS_DATA.md. Pure.

Every event still standing gives a task due on its date (``call``, ``demo`` or
``meeting``); a price request gives a ``quote`` (or a ``proposal``); a problem to fix
gives ``support``; a grievance the business promised to look into gives ``follow_up``.
A due date is the day the business promised ("te lo envío el viernes", "first thing
tomorrow"), or today for something urgent.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from schemas.analysis import Intent, Sentiment, TaskType
from services.analyzer.models import AgreedEvent, Conversation, FollowUpTask
from services.analyzer.rules.classify import PROPOSAL
from services.analyzer.rules.dates import find_day
from services.analyzer.rules.text import fold

NO_RUSH = re.compile(
    r"\bno rush\b|\bno hurry\b|\bwhenever you can\b|\bno urgency\b|\bsin prisa\b|\bno hay prisa\b"
    r"|\bsin apuro\b|\bcon calma\b|\bcuando puedas\b|\bcuando podais\b|\bcuando puedan\b"
    r"|\bno corre prisa\b|\bin your own time\b|\bnot urgent\b|\bno es urgente\b|\bno urge\b"
    r"|\bwhenever (?:someone|anyone|you|somebody) can\b|\bwhen(?:ever)? you get a chance\b"
)
# The business undertakes to do something; the day it names is the task's due date.
_PROMISE = re.compile(
    r"\b(?:te|le|os|les)\s+(?:lo|la|los|las)?\s*(?:envi\w+|mand\w+|pas\w+|escrib\w+|confirm\w+"
    r"|llam\w+|contest\w+|respond\w+|digo|decimos|dire|diremos|aviso|avisamos|tengo|tenemos)"
    r"|\b(?:envi|mand|escrib|confirm|llam|contest|respond|prepar|revis)\w*\b"
    r"|\b(?:send|get back|update|call|email|write|have it|follow up|check|confirm|reply|prepare)\b"
)

_EVENT_TASKS: dict[str, TaskType] = {"call": "call", "demo": "demo", "meeting": "meeting"}
_TITLES = {
    "es": {
        "call": "Llamada: {}", "demo": "Demo: {}", "meeting": "Reunión: {}",
        "quote": "Enviar cotización", "proposal": "Enviar propuesta",
        "support": "Resolver la incidencia", "follow_up": "Responder a la queja",
    },
    "en": {
        "call": "Call: {}", "demo": "Demo: {}", "meeting": "Meeting: {}",
        "quote": "Send the quote", "proposal": "Send the proposal",
        "support": "Fix the reported problem", "follow_up": "Answer the complaint",
    },
}  # fmt: skip


def _promised_day(conversation: Conversation, zone: ZoneInfo) -> date | None:
    """The day of the business's latest promise to come back, if it named one."""
    for message in reversed(conversation.messages):
        if message.direction != "outbound":
            continue
        folded = fold(message.text)
        if not _PROMISE.search(folded):
            continue
        day = find_day(folded, message.at.astimezone(zone))
        if day is not None:
            return day
    return None


def _today(conversation: Conversation, zone: ZoneInfo) -> date:
    inbound = [m for m in conversation.messages if m.direction == "inbound"]
    last = (inbound or list(conversation.messages))[-1]
    return last.at.astimezone(zone).date()


def _event_day(event: AgreedEvent) -> date:
    return event.start.date() if isinstance(event.start, datetime) else event.start


def find_tasks(
    conversation: Conversation,
    language: str,
    events: tuple[AgreedEvent, ...],
    intent: Intent,
    sentiment: Sentiment,
) -> tuple[FollowUpTask, ...]:
    zone = ZoneInfo(conversation.timezone)
    inbound = [m for m in conversation.messages if m.direction == "inbound"]
    inbound_text = fold(" \n".join(m.text for m in inbound))
    names = _TITLES.get(language, _TITLES["es"])
    urgent = sentiment == "urgent"
    no_rush = bool(NO_RUSH.search(inbound_text))
    routine = 5 if no_rush else 4
    tasks: list[FollowUpTask] = []
    for event in events:
        if event.status != "standing":
            continue
        kind = _EVENT_TASKS.get(event.kind, "meeting")
        tasks.append(
            FollowUpTask(
                key=f"event:{event.key}",
                title=names[kind].format(event.title),
                type=kind,
                priority=2 if urgent else routine,
                due=_event_day(event),
                source_message_ids=event.source_message_ids,
            )
        )
    sources = tuple(m.id for m in inbound)
    work: TaskType | None = None
    priority = routine
    if intent == "quote":
        work = "proposal" if PROPOSAL.search(inbound_text) else "quote"
        priority = 2 if urgent else routine
    elif intent == "support":
        work = "support"
        priority = 2 if urgent else (3 if sentiment == "negative" else routine)
    elif intent == "complaint":
        work = "follow_up"
        priority = 2 if urgent else 3
    if work is not None and not tasks:
        due = _promised_day(conversation, zone)
        if due is None and urgent:
            due = _today(conversation, zone)
        tasks.append(
            FollowUpTask(
                key=f"{work}:{sources[0] if sources else 'conversation'}",
                title=names[work],
                type=work,
                priority=priority,
                due=due,
                source_message_ids=sources,
            )
        )
    return tuple(tasks)
