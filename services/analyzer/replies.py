"""What the analyzer answers the contact, in their language (es/en): pure, no I/O.

Priority: what just changed in the calendar (confirm it), what is still missing to
arrange an event (ask for it), a voice note we could not hear (ask to write), tasks
noted (acknowledge), then a short answer fitting the intent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.analyzer.diff import CalendarChange, StoredCalendarEvent, TaskChange
from services.analyzer.models import Analysis, Missing

SUPPORTED = ("es", "en")

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def reply_language(detected: str | None, default: str) -> str:
    code = (detected or "").strip().lower()[:2]
    if code in SUPPORTED:
        return code
    return default if default in SUPPORTED else "es"


def describe_when(start: datetime | date, language: str) -> str:
    """``el viernes 20 de noviembre a las 10:00`` / ``Friday, November 20 at 10:00``."""
    day = start.date() if isinstance(start, datetime) else start
    weekday = _WEEKDAYS[language][day.weekday()]
    month = _MONTHS[language][day.month - 1]
    if language == "en":
        text = f"{weekday}, {month} {day.day}"
        return f"{text} at {start:%H:%M}" if isinstance(start, datetime) else text
    text = f"el {weekday} {day.day} de {month}"
    if isinstance(start, datetime):
        article = "a la" if start.hour == 1 else "a las"
        text += f" {article} {start:%H:%M}"
    return text


@dataclass(frozen=True)
class ReplyFacts:
    """Everything a reply may speak of, already decided by the pipeline."""

    analysis: Analysis
    language: str
    calendar: Sequence[CalendarChange] = ()
    tasks: Sequence[TaskChange] = ()
    # Events still standing that this burst did not change (a repeat of the agreement).
    standing: Sequence[StoredCalendarEvent] = ()
    contact_name: str | None = None
    unheard_voice_note: bool = False
    # Nothing was said to the contact yet in the conversation read: greet them.
    first_reply: bool = True


def _ask_for(missing: Sequence[Missing], language: str) -> str:
    wanted = [m for m in ("topic", "day", "time") if m in missing]
    words = {
        "es": {"day": "qué día", "time": "a qué hora", "topic": "sobre qué tema"},
        "en": {"day": "which day", "time": "what time", "topic": "what it is about"},
    }[language]
    parts = [words[m] for m in wanted]
    joined = (
        parts[0]
        if len(parts) == 1
        else ", ".join(parts[:-1]) + (" y " if language == "es" else " and ") + parts[-1]
    )
    if language == "en":
        return f"Sure, let's set it up. Could you tell me {joined}?"
    return f"Claro, lo organizamos. ¿Me dices {joined}?"


def _confirm(change: CalendarChange, language: str) -> str:
    state = change.after
    when = describe_when(state.start, language)
    if language == "en":
        if change.kind == "cancelled":
            return f"Done, I cancelled “{state.title}”."
        if change.kind == "rescheduled":
            return f"Done, I moved “{state.title}” to {when}."
        if change.kind == "details":
            return f"Done, “{state.title}” is set for {when}."
        return f"Done, “{state.title}” is scheduled for {when}."
    if change.kind == "cancelled":
        return f"Listo, cancelé «{state.title}»."
    if change.kind == "rescheduled":
        return f"Listo, cambié «{state.title}» para {when}."
    if change.kind == "details":
        return f"Listo, «{state.title}» queda para {when}."
    return f"Listo, agendé «{state.title}» para {when}."


def _already(event: StoredCalendarEvent, language: str) -> str:
    when = describe_when(event.start, language)
    if language == "en":
        return f"You're all set: “{event.title}” stays on {when}."
    return f"Ya lo tienes: «{event.title}» sigue agendado para {when}."


def _tasks_noted(changes: Sequence[TaskChange], language: str) -> str | None:
    if not any(c.kind == "created" for c in changes):
        return None
    if language == "en":
        return "Noted, we'll take care of it and get back to you soon."
    return "Anotado, nos encargamos y te contactamos pronto."


_BY_INTENT = {
    "es": {
        "quote": "Gracias por tu interés. Preparamos la cotización y te la enviamos por aquí.",
        "support": "Siento el inconveniente. Ya lo estamos revisando y te escribimos enseguida.",
        "complaint": "Lamentamos lo ocurrido. Lo revisamos y te damos una respuesta pronto.",
        "info": "Gracias por escribir. Te respondemos en breve con la información.",
        "schedule": "Con gusto lo agendamos. ¿Qué día y a qué hora te viene bien?",
        "reschedule": "Claro, lo movemos. ¿Qué nuevo día y hora te vienen bien?",
        "cancel": "Entendido. ¿Qué cita quieres cancelar?",
        "other": "¿En qué te puedo ayudar?",
    },
    "en": {
        "quote": "Thanks for your interest. We'll prepare the quote and send it here.",
        "support": "Sorry for the trouble. We're looking into it and will write back shortly.",
        "complaint": "We're sorry about what happened. We'll look into it and answer soon.",
        "info": "Thanks for writing. We'll get back to you shortly with the details.",
        "schedule": "Happy to set it up. Which day and time suit you?",
        "reschedule": "Sure, we can move it. Which new day and time suit you?",
        "cancel": "Understood. Which appointment would you like to cancel?",
        "other": "How can I help you?",
    },
}


_THANKED = {
    "es": "¡Con gusto! Aquí estamos para lo que necesites.",
    "en": "You're welcome! We're here whenever you need us.",
}
_ANYTHING_ELSE = {
    "es": "¿Hay algo más en lo que te pueda ayudar?",
    "en": "Anything else I can help with?",
}


def _by_intent(facts: ReplyFacts, language: str) -> str:
    analysis = facts.analysis
    if analysis.intent != "other":
        return _BY_INTENT[language][analysis.intent]
    if facts.first_reply:
        return _greeting(facts) + _BY_INTENT[language]["other"]
    # Later in a conversation "other" is mostly thanks or an acknowledgement.
    return _THANKED[language] if analysis.sentiment == "positive" else _ANYTHING_ELSE[language]


def _greeting(facts: ReplyFacts) -> str:
    name = (facts.contact_name or "").split(" ")[0].strip()
    if facts.language == "en":
        return f"Hi {name}! " if name else "Hi! "
    return f"¡Hola {name}! " if name else "¡Hola! "


def compose(facts: ReplyFacts) -> str:
    language = facts.language if facts.language in SUPPORTED else "es"
    analysis = facts.analysis
    lines: list[str] = [_confirm(change, language) for change in facts.calendar]
    if not lines and analysis.missing:
        lines.append(_ask_for(analysis.missing, language))
    if facts.unheard_voice_note:
        lines.append(
            "I couldn't listen to your voice note; could you write it, please?"
            if language == "en"
            else "No pude escuchar tu nota de voz; ¿me lo escribes, por favor?"
        )
    if not lines and facts.standing and analysis.intent in ("schedule", "reschedule"):
        lines.append(_already(facts.standing[-1], language))
    # A confirmed event already says what happens next; its task needs no second sentence.
    noted = None if facts.calendar else _tasks_noted(facts.tasks, language)
    if noted:
        lines.append(noted)
    if not lines:
        lines.append(_by_intent(facts, language))
    return " ".join(lines)
