"""Follow-up work for the business, by the conventions of docs/ANALYSIS_DATA.md. Pure.

Every event still standing gives a task due on its date (``call``, ``demo`` or
``meeting``); a price request gives a ``quote`` (or a ``proposal``); a problem to fix
gives ``support``; a grievance the business promised to look into gives ``follow_up``.
A due date is the day the business promised ("te lo envío el viernes", "first thing
tomorrow"), or today for something urgent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hilo.dates import find_day
from schemas.analysis import Intent, Sentiment, TaskType
from services.analyzer.models import AgreedEvent, Conversation, FollowUpTask, event_task_key
from services.analyzer.rules.classify import PROBLEM, PROPOSAL, QUOTE
from services.analyzer.rules.text import fold

NO_RUSH = re.compile(
    r"\bno rush\b|\bno hurry\b|\bwhenever you can\b|\bno urgency\b|\bsin prisa\b|\bno hay prisa\b"
    r"|\bsin apuro\b|\bcon calma\b|\bcuando puedas\b|\bcuando podais\b|\bcuando puedan\b"
    r"|\bno corre prisa\b|\bin your own time\b|\bnot urgent\b|\bno es urgente\b|\bno urge\b"
    r"|\bwhenever (?:someone|anyone|you|somebody) can\b|\bwhen(?:ever)? you get a chance\b"
)
# The contact asks the business to hold or keep something for them.
FAVOR = re.compile(
    r"\b(?:me|nos) (?:lo|la|los|las) (?:apartan|aparta|apartas|apartais|guardan|guarda|guardas"
    r"|guardais|reservan|reservas|reservais|separan|separa|separas)\b"
    r"|\b(?:hold|set aside|put aside|keep|save) (?:it|one|them|that|this) for me\b"
)
EMAIL_REQUEST = re.compile(
    r"\b(?:envia|enviar|enviame|enviarme|envien|manda|mandar|mandame|mandarme|manden|send|email)\w*\b"
    r"[^.?!]{0,40}\b(?:por correo|al correo|por email|por mail|by email|by e-mail|to my email)\b"
    r"|\bemail me\b"
)
# The business undertakes to do something; the day it names is the task's due date.
_PROMISE = re.compile(
    r"\b(?:te|le|os|les)\s+(?:lo|la|los|las)?\s*(?:envi\w+|mand\w+|pas\w+|escrib\w+|confirm\w+"
    r"|llam\w+|contest\w+|respond\w+|digo|decimos|dire|diremos|aviso|avisamos|tengo|tenemos)"
    r"|\b(?:envi|mand|escrib|confirm|llam|contest|respond|prepar|revis)\w*\b"
    r"|\b(?:send|get back|update|call|email|write|have it|follow up|check|confirm|reply|prepare)\b"
)
# The business undertakes to send a price ("le mando la cotización mañana", "I'll send you the
# quote"): quote work even when the contact never asked in price words (a call, say).
_QUOTE_PROMISE = re.compile(
    r"\b(?:(?:te|le|os|les|se) (?:la |lo |las |los )?(?:mando|mandamos|envio|enviamos|paso|pasamos"
    r"|preparo|preparamos|hago llegar|hacemos llegar|enviare|enviaremos|mandare|mandaremos"
    r"|(?:voy|vamos) a (?:mandar|enviar|pasar|preparar))"
    r"|(?:i|we|\w+)(?:'ll| will) (?:send|email|prepare|get|put together)(?: you)?)"
    r"\b[^.?!]{0,30}\b(?:cotizacion|presupuesto|propuesta|quote|estimate|proposal|quotation)\b"
)


@dataclass(frozen=True)
class _QuotePromise:
    proposal: bool
    due: date | None


def _promised_quote(conversation: Conversation, zone: ZoneInfo) -> _QuotePromise | None:
    """The business's latest promise to send a price, and the day it named, if any."""
    for message in reversed(conversation.messages):
        folded = fold(message.text)
        if message.direction != "outbound" or not (found := _QUOTE_PROMISE.search(folded)):
            continue
        return _QuotePromise(
            proposal=bool(PROPOSAL.search(found.group(0))),
            due=find_day(folded, message.at.astimezone(zone)),
        )
    return None


_EVENT_TASKS: dict[str, TaskType] = {"call": "call", "demo": "demo", "meeting": "meeting"}
_TITLES = {
    "es": {
        "call": "Llamada: {}", "demo": "Demo: {}", "meeting": "Reunión: {}",
        "quote": "Enviar cotización", "proposal": "Enviar propuesta",
        "support": "Resolver la incidencia", "follow_up": "Responder a la queja",
        "general": "Atender lo pedido", "email": "Enviar el correo pedido",
    },
    "en": {
        "call": "Call: {}", "demo": "Demo: {}", "meeting": "Meeting: {}",
        "quote": "Send the quote", "proposal": "Send the proposal",
        "support": "Fix the reported problem", "follow_up": "Answer the complaint",
        "general": "Do what was asked", "email": "Send the email asked for",
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
    *,
    call_asked: bool = False,
) -> tuple[FollowUpTask, ...]:
    """The business's follow-up work; ``call_asked``: the contact asked for a call that got
    no day (a call to make, not an event)."""
    zone = ZoneInfo(conversation.timezone)
    inbound = [m for m in conversation.messages if m.direction == "inbound"]
    inbound_text = fold(" \n".join(m.text for m in inbound))
    names = _TITLES.get(language, _TITLES["es"])
    urgent = sentiment == "urgent"
    no_rush = bool(NO_RUSH.search(inbound_text))
    routine = 5 if no_rush else 4
    # A frustrated contact's visit is as urgent as their complaint.
    event_priority = 2 if urgent else (3 if sentiment == "negative" else routine)
    tasks: list[FollowUpTask] = []
    for event in events:
        if event.status != "standing":
            continue
        kind = _EVENT_TASKS.get(event.kind, "meeting")
        tasks.append(
            FollowUpTask(
                key=event_task_key(event.key),
                title=names[kind].format(event.title),
                type=kind,
                priority=event_priority,
                due=_event_day(event),
                source_message_ids=event.source_message_ids,
            )
        )
    sources = tuple(m.id for m in inbound)
    key_source = sources[0] if sources else "conversation"
    promised = _promised_day(conversation, zone)
    today = _today(conversation, zone)

    def add(work: TaskType, priority: int, due: date | None) -> None:
        tasks.append(
            FollowUpTask(
                key=f"{work}:{key_source}",
                title=names[work],
                type=work,
                priority=priority,
                due=due,
                source_message_ids=sources,
            )
        )

    urgent_due = promised or (today if urgent else None)
    scheduled = bool(tasks)
    # A price asked for while arranging a visit is work of its own.
    promise = _promised_quote(conversation, zone)
    if (
        intent == "quote"
        or (scheduled and QUOTE.search(PROPOSAL.sub(" ", inbound_text)))
        or promise is not None
    ):
        asked_proposal = PROPOSAL.search(inbound_text) or (
            promise is not None and promise.proposal and not QUOTE.search(inbound_text)
        )
        work: TaskType = "proposal" if asked_proposal else "quote"
        due = promise.due if promise is not None and promise.due else urgent_due
        add(work, 2 if urgent else routine, due)
    if intent == "support" or (scheduled and PROBLEM.search(inbound_text)):
        # Support with a visit is done at the visit.
        visit = next((_event_day(e) for e in events if e.status == "standing"), None)
        support_due = visit if intent == "support" and visit else urgent_due
        add("support", 2 if urgent else (3 if sentiment == "negative" else routine), support_due)
    if call_asked:
        add("call", 2 if urgent else routine, urgent_due)
    if intent == "complaint":
        add("follow_up", 2 if urgent else 3, urgent_due)
    if FAVOR.search(inbound_text):
        asked_day = next(
            (
                day
                for m in inbound
                if (day := find_day(fold(m.text), m.at.astimezone(zone))) is not None
            ),
            None,
        )
        add("general", 2 if urgent else routine, promised or asked_day)
    if EMAIL_REQUEST.search(inbound_text):
        add("email", 2 if urgent else routine, urgent_due)
    return tuple(tasks)
