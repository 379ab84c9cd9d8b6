"""The offline `rules` backend: deterministic, Spanish and English, no I/O.

``analyze`` reads the whole conversation and returns the same ``Analysis`` every backend
returns. The parts: ``language`` (which language the contact writes), ``events`` with
``dates`` and ``titles`` (calendar events agreed across messages, dates resolved by the
conventions of docs/ANALYSIS_DATA.md), ``classify`` (sentiment, intent), ``tasks``,
``entities`` and ``summary``. Libraries: ``python-dateutil`` for month arithmetic,
``zoneinfo`` for time zones, ``phonenumbers`` for phone numbers; the date conventions
themselves are explicit rules, because no general parser follows them.
"""

from __future__ import annotations

from hilo.text import guess_language
from services.analyzer.models import Analysis, Conversation
from services.analyzer.rules.classify import PROBLEM, intent_of, sentiment_of
from services.analyzer.rules.entities import find_entities
from services.analyzer.rules.events import find_events
from services.analyzer.rules.summary import summarize
from services.analyzer.rules.tasks import find_tasks
from services.analyzer.rules.text import fold

__all__ = ["analyze"]


def analyze(conversation: Conversation) -> Analysis:
    """Everything the rules find in one conversation, each finding linked to its messages."""
    conversation = conversation.with_message_ids()
    inbound = [m for m in conversation.messages if m.direction == "inbound"]
    language = conversation.language or guess_language([m.text for m in inbound])
    language = language[:2].lower()
    rules_language = language if language in ("es", "en") else "es"
    found = find_events(conversation, rules_language)
    inbound_text = fold(" \n".join(m.text for m in inbound))
    standing = tuple(e for e in found.events if e.status == "standing")
    problem = bool(PROBLEM.search(inbound_text))
    intent = intent_of(
        inbound_text,
        # Cancelling one booking and keeping another is a cancellation; a visit to fix a
        # reported problem is support work that has a slot.
        scheduled=bool(standing)
        and not (found.cancelled and found.only_kept)
        and not found.only_repairs,
        rescheduled=found.rescheduled and bool(standing),
        cancelled=found.cancelled,
        # A call asked for about a problem, with no day, is help with the problem.
        requested=found.requested and not found.cancelled and not (problem and not standing),
    )
    sentiment = sentiment_of(inbound_text, intent)
    tasks = find_tasks(
        conversation,
        rules_language,
        found.events,
        intent,
        sentiment,
        call_asked=found.call_asked,
    )
    entities = find_entities(conversation)
    first_request = next((m.text for m in inbound if len(m.text.split()) > 3), None)
    summary = summarize(
        rules_language,
        conversation.contact.name,
        intent,
        sentiment,
        found.events,
        tasks,
        first_request,
    )
    return Analysis(
        language=language,
        summary=summary,
        sentiment=sentiment,
        intent=intent,
        entities=entities,
        events=found.events,
        tasks=tasks,
        missing=found.missing,
        source_message_ids=tuple(m.id for m in inbound),
        backend="rules",
    )
