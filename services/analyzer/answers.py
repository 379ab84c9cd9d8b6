"""The offline answer: the business's facts, the calendar's verdict, or silence. Pure.

Built on top of ``replies.compose`` (calendar confirmations, what is missing, a voice
note not heard): this module adds what the business profile knows, refuses a slot that
does not fit, hands a question it cannot answer to a person instead of guessing, and
says nothing when nothing is owed (a "gracias" after a finished exchange).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from hilo.business import WEEKDAYS, BusinessProfile, OpeningSpan, ServiceOffered
from hilo.dates import find_day
from hilo.text import fold, keyword
from services.analyzer.knowledge import Asked, Knowledge, asked, content_words
from services.analyzer.replies import ReplyFacts, compose, describe_when
from services.analyzer.slots import Refusal

_CLOSER_WORDS = frozenset(
    """
    gracias muchas mil ok okay okey oki vale perfecto perfecta genial listo de acuerdo entendido
    estupendo super bueno buenisimo hasta luego adios chao saludos igualmente thanks thank you
    thx a lot great perfect cool got it alright sounds good bye see fine nice awesome
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_DAY_NAMES = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
# "¿Qué tal?", "¿Hay alguien?", "are you there?": small talk, not a question for a person.
_SMALL_TALK = frozenset(
    """
    tal disponible disponibles ahi alguien atiende contesta va todo bien available there
    anyone anybody doing going up
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_ASKS_DAY = re.compile(r"\b(?:hoy|today|manana|tomorrow)\b")


def is_closer(text: str) -> bool:
    """Thanks, an OK, an emoji: words that close an exchange and ask for nothing."""
    words = keyword(text).split()
    return len(words) <= 6 and all(w in _CLOSER_WORDS for w in words)


@dataclass(frozen=True)
class Situation:
    reply: ReplyFacts  # what the analysis and the calendar decided
    texts: tuple[str, ...]  # the burst's inbound texts, in order
    at: datetime  # the burst's last message
    last_outbound: str | None = None  # what the business said last, if anything
    profile: BusinessProfile | None = None
    knowledge: Knowledge | None = None
    refused: tuple[Refusal, ...] = ()
    person_told: bool = False  # a person was already promised in this conversation
    call_summary: str | None = None


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: say nothing
    person_needed: bool = False
    facts_used: bool = False


def _join(parts: Sequence[str], language: str, *, either: bool = False) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    word = {("es", False): "y", ("en", False): "and", ("es", True): "o", ("en", True): "or"}
    return ", ".join(parts[:-1]) + f" {word[language, either]} " + parts[-1]


def _spans(spans: Sequence[OpeningSpan], language: str) -> str:
    if language == "en":
        return _join([f"{s.start:%H:%M} to {s.end:%H:%M}" for s in spans], "en")
    return _join([f"de {s.start:%H:%M} a {s.end:%H:%M}" for s in spans], "es")


def week_hours(profile: BusinessProfile, language: str) -> str:
    """The week, days with the same hours together ("De lunes a jueves, de 09:00 a 14:00…")."""
    groups: list[tuple[int, int, tuple[str, ...]]] = []
    for index, day in enumerate(WEEKDAYS):
        spans = profile.hours.get(day, ())
        if groups and groups[-1][2] == spans:
            groups[-1] = (groups[-1][0], index, spans)
        else:
            groups.append((index, index, spans))
    names = _DAY_NAMES[language]
    parts = []
    for first, last, texts in groups:
        opening = profile.spans_on_weekday(first)
        if language == "en":
            days = names[first] if first == last else f"{names[first]} to {names[last]}"
            parts.append(f"{days}, {_spans(opening, 'en') if texts else 'closed'}")
        else:
            days = f"el {names[first]}" if first == last else f"de {names[first]} a {names[last]}"
            parts.append(f"{days}, {_spans(opening, 'es') if texts else 'cerrado'}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _upcoming_closed(profile: BusinessProfile, today: date, language: str) -> str | None:
    soon = [d for d in profile.closed_dates if today <= d <= today + timedelta(days=30)]
    if not soon:
        return None
    days = _join([describe_when(d, language).removeprefix("el ") for d in soon], language)
    if language == "en":
        return f"We're closed on {days}."
    return f"Cerramos el {days}."


def hours_answer(profile: BusinessProfile, text: str, at: datetime, language: str) -> str:
    local = at.astimezone(profile.zone)
    folded = fold(text)
    day = find_day(folded, local)
    if day is None or (day == local.date() and not _ASKS_DAY.search(folded)):
        closed = _upcoming_closed(profile, local.date(), language)
        head = "Our opening hours: " if language == "en" else "Nuestro horario: "
        week = week_hours(profile, language)
        return head + week[0].lower() + week[1:] + (f" {closed}" if closed else "")
    when = describe_when(day, language)
    spans = profile.spans_on(day)
    if language == "en":
        if day in profile.closed_dates:
            return f"On {when} we're closed."
        if not spans:
            return f"We're closed on {_DAY_NAMES['en'][day.weekday()]}s."
        return f"On {when} we're open {_spans(spans, 'en')}."
    if day in profile.closed_dates:
        return f"{when[0].upper()}{when[1:]} estamos cerrados."
    if not spans:
        return f"Los {_DAY_NAMES['es'][day.weekday()]}s estamos cerrados."
    return f"{when[0].upper()}{when[1:]} abrimos {_spans(spans, 'es')}."


def _service_line(service: ServiceOffered, language: str) -> str:
    name = service.name.in_language(language)
    details = []
    if service.price:
        details.append(service.price)
    if service.duration_minutes:
        details.append(f"{service.duration_minutes} min")
    return f"{name} ({', '.join(details)})" if details else name


def _services_answer(
    services: Sequence[ServiceOffered], language: str, *, offered: bool = False
) -> str:
    lines = _join([_service_line(s, language) for s in services], language)
    if language == "en":
        return f"Yes, we offer {lines}." if offered else f"Our prices: {lines}."
    return f"Sí, hacemos {lines}." if offered else f"Nuestros precios: {lines}."


def _price_answer(services: Sequence[ServiceOffered], language: str) -> str:
    parts = []
    for service in services:
        name = service.name.in_language(language)
        length = f", {service.duration_minutes} min" if service.duration_minutes else ""
        if service.price is None:
            parts.append(f"{name}{length}")
        elif language == "en":
            parts.append(f"{name}: {service.price}{length}")
        else:
            parts.append(f"{name}: {service.price}{length}")
    return "; ".join(parts) + "."


def fact_lines(
    profile: BusinessProfile, question: Asked, text: str, at: datetime, language: str
) -> list[str]:
    lines = []
    if question.hours:
        lines.append(hours_answer(profile, text, at, language))
    if question.address and profile.address:
        lines.append(
            f"We're at {profile.address}." if language == "en" else f"Estamos en {profile.address}."
        )
    if question.prices:
        lines.append(_price_answer(question.prices, language))
    elif question.price_list or question.service_list:
        lines.append(_services_answer(profile.services, language))
    if question.services:
        lines.append(_services_answer(question.services, language, offered=True))
    if question.faq:
        lines.append(question.faq.a.in_language(language))
    return lines


def refusal_line(refusal: Refusal, language: str) -> str:
    when = describe_when(refusal.requested, language)
    options = [describe_when(s, language) for s in refusal.alternatives]
    if language == "en":
        why = {
            "past": f"{when} has already passed",
            "closed_date": f"we're closed on {when.split(' at ')[0]}",
            "closed_day": f"we're closed on {when.split(' at ')[0]}",
            "outside_hours": f"{when} is outside our opening hours",
            "taken": f"{when} is already taken",
        }.get(refusal.reason, f"{when} is not available")
        if not options:
            return f"Sorry, {why}, and I see no free time in the next two weeks."
        return (
            f"Sorry, {why}. I can offer {_join(options, 'en', either=True)}. Which one suits you?"
        )
    why = {
        "past": f"{when} ya pasó",
        "closed_date": f"{when.split(' a la')[0]} estamos cerrados",
        "closed_day": f"{when.split(' a la')[0]} estamos cerrados",
        "outside_hours": f"{when} está fuera de nuestro horario",
        "taken": f"{when} ya está ocupado",
    }.get(refusal.reason, f"{when} no está disponible")
    if not options:
        return f"Lo siento, {why} y no veo huecos libres en las próximas dos semanas."
    offer = _join(options, "es", either=True)
    return f"Lo siento, {why}. Te puedo ofrecer {offer}. ¿Cuál te viene mejor?"


_PERSON = {
    "es": "Esa pregunta se la paso a una persona del equipo, que te responderá por aquí en breve.",
    "en": "I'm passing that question to a person on our team, who will answer here shortly.",
}
_AGAIN = {"es": "Como te decía: ", "en": "As I said: "}


def compose_answer(situation: Situation) -> Answer:
    facts = situation.reply
    language = facts.language
    texts = [t for t in situation.texts if t.strip()]
    profile = situation.profile
    nothing_decided = not facts.calendar and not situation.refused and not facts.unheard_voice_note
    # A finished exchange closed with thanks or an OK: nothing is owed.
    if (
        nothing_decided
        and texts
        and all(is_closer(t) for t in texts)
        and situation.last_outbound is not None
        and not situation.last_outbound.rstrip().endswith("?")
    ):
        return Answer(None)
    if profile is None or situation.knowledge is None:
        return Answer(_not_repeated(compose(facts), situation))
    whole = " ".join(texts)
    question = asked(situation.knowledge, whole)
    lines = [refusal_line(r, language) for r in situation.refused]
    facts_lines = fact_lines(profile, question, whole, situation.at, language)
    arranging = bool(facts.calendar or facts.analysis.missing or situation.refused)
    # What the analysis decided (confirmations, what is missing, an unheard voice note);
    # its generic by-intent sentence only when neither the facts nor a refusal speak.
    if facts.calendar or facts.unheard_voice_note or (facts.analysis.missing and not lines):
        decided = compose(replace(facts, tasks=() if facts_lines else facts.tasks))
        lines.append(decided)
    lines.extend(facts_lines)
    substance = [w for w in content_words(whole) if w not in _SMALL_TALK]
    unanswered = (
        bool(substance)
        and not facts_lines
        and not arranging
        and (question.question or facts.analysis.intent in ("info", "quote"))
        and facts.analysis.intent not in ("schedule", "reschedule", "cancel")
    )
    if unanswered:
        if situation.person_told:  # told once already: the person will answer this too
            return Answer(" ".join(lines) or None)
        lines.append(_PERSON[language])
        return Answer(_not_repeated(" ".join(lines), situation), person_needed=True)
    if not lines:
        lines.append(compose(facts))
    return Answer(_not_repeated(" ".join(lines), situation), facts_used=bool(facts_lines))


def _not_repeated(text: str, situation: Situation) -> str:
    """Never the same words twice in a row: a repeated answer says it repeats."""
    if situation.last_outbound is not None and text.strip() == situation.last_outbound.strip():
        return _AGAIN[situation.reply.language] + text
    return text
