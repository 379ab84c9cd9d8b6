"""A one-or-two sentence summary of the conversation in its language. Pure."""

from __future__ import annotations

from datetime import date, datetime

from schemas.analysis import Intent, Sentiment
from services.analyzer.models import AgreedEvent, FollowUpTask

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_INTENTS = {
    "es": {
        "schedule": "quiere agendar", "reschedule": "cambia la fecha de", "cancel": "cancela",
        "quote": "pide un presupuesto", "support": "pide ayuda con un problema",
        "complaint": "presenta una queja", "info": "hace una consulta", "other": "escribe",
    },
    "en": {
        "schedule": "wants to schedule", "reschedule": "moves", "cancel": "cancels",
        "quote": "asks for a quote", "support": "asks for help with a problem",
        "complaint": "complains", "info": "asks a question", "other": "writes",
    },
}  # fmt: skip
_MOODS = {
    "es": {"urgent": " Es urgente.", "negative": " Está molesto.", "positive": " Tono positivo."},
    "en": {
        "urgent": " It is urgent.",
        "negative": " They are upset.",
        "positive": " Positive tone.",
    },
}


def _when(start: datetime | date, language: str) -> str:
    day = start.date() if isinstance(start, datetime) else start
    text = f"{_WEEKDAYS[language][day.weekday()]} {day.isoformat()}"
    if isinstance(start, datetime):
        text += f" {'a las' if language == 'es' else 'at'} {start:%H:%M}"
    return text


def summarize(
    language: str,
    contact: str | None,
    intent: Intent,
    sentiment: Sentiment,
    events: tuple[AgreedEvent, ...],
    tasks: tuple[FollowUpTask, ...],
    first_request: str | None,
) -> str:
    lang = language if language in _INTENTS else "es"
    who = contact or ("El contacto" if lang == "es" else "The contact")
    parts = [f"{who} {_INTENTS[lang][intent]}"]
    standing = [e for e in events if e.status == "standing"]
    cancelled = [e for e in events if e.status == "cancelled"]
    if standing:
        event = standing[-1]
        parts.append(f": «{event.title}», {_when(event.start, lang)}")
    elif cancelled:
        parts.append(f": «{cancelled[-1].title}»")
    elif first_request:
        snippet = first_request if len(first_request) <= 90 else first_request[:87] + "…"
        parts.append(f": «{snippet}»")
    summary = "".join(parts) + "."
    summary += _MOODS[lang].get(sentiment, "")
    other_tasks = [t for t in tasks if t.type not in ("meeting", "call", "demo")]
    if other_tasks:
        task = other_tasks[0]
        due = f" ({task.due.isoformat()})" if task.due else ""
        label = "Pendiente" if lang == "es" else "To do"
        summary += f" {label}: {task.title.lower()}{due}."
    return summary
