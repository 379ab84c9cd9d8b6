"""What a finished call leaves behind, and the WhatsApp message that picks it up.

Pure functions over the ``call.ended`` event. Where the facts come from, first
match wins (keys are compared case-insensitively, accents ignored):

* name: ``dynamic_variables`` ``customer_name``, ``contact_name``, ``name``,
  ``first_name``, ``nombre``, ``user_name``; then the same keys in
  ``data_collection``; then ``metadata.contact_name``.
* language: ``dynamic_variables`` ``language``, ``lang``, ``idioma``,
  ``preferred_language``; ``metadata.main_language`` / ``metadata.language``;
  ``data_collection.language``; otherwise guessed from what the customer said.
* topics: ``data_collection`` ``topics``, ``topic``, ``call_topic``, ``subject``,
  ``temas``, ``tema``, ``asunto``; otherwise the first sentence of the summary.
* pending questions: ``pending_questions``, ``pending_question``,
  ``open_questions``, ``pending``, ``preguntas_pendientes``, ``pendiente``,
  ``pendientes``.
* next steps: ``next_steps``, ``next_step``, ``action_items``,
  ``proximos_pasos``, ``siguientes_pasos``, ``proximo_paso``.

A data-collection entry may be ElevenLabs' result object (``{"value": …,
"rationale": …}``) or a bare value; a value may be a list or a string with
items separated by new lines or ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from hilo.text import guess_language, keyword
from schemas import CallEnded, CallFailed

NAME_KEYS = ("customer_name", "contact_name", "name", "first_name", "nombre", "user_name")
LANGUAGE_KEYS = ("language", "lang", "idioma", "preferred_language")
TOPIC_KEYS = ("topics", "topic", "call_topic", "subject", "temas", "tema", "asunto")
PENDING_KEYS = (
    "pending_questions",
    "pending_question",
    "open_questions",
    "pending",
    "preguntas_pendientes",
    "pendiente",
    "pendientes",
)
NEXT_STEP_KEYS = (
    "next_steps",
    "next_step",
    "action_items",
    "proximos_pasos",
    "siguientes_pasos",
    "proximo_paso",
)
MAX_ITEMS = 3
MAX_ITEM_CHARS = 160


@dataclass(frozen=True)
class CallContext:
    """What the bridge remembers of a call to continue it on WhatsApp."""

    call_id: str
    language: str
    contact_name: str | None
    summary: str | None
    topics: tuple[str, ...]
    pending: tuple[str, ...]
    next_steps: tuple[str, ...]

    @property
    def first_name(self) -> str | None:
        if not self.contact_name:
            return None
        return self.contact_name.split()[0]

    def as_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "language": self.language,
            "contact_name": self.contact_name,
            "summary": self.summary,
            "topics": list(self.topics),
            "pending": list(self.pending),
            "next_steps": list(self.next_steps),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallContext:
        return cls(
            call_id=str(data.get("call_id") or ""),
            language=str(data.get("language") or "es"),
            contact_name=data.get("contact_name"),
            summary=data.get("summary"),
            topics=tuple(data.get("topics") or ()),
            pending=tuple(data.get("pending") or ()),
            next_steps=tuple(data.get("next_steps") or ()),
        )


def _fold(key: str) -> str:
    """``"Customer Name"``, ``"customer-name"`` → ``"customer_name"``: ElevenLabs keys as typed."""
    return keyword(key).replace(" ", "_")


def _value(raw: Any) -> Any:
    """ElevenLabs' data-collection result object carries its answer in ``value``."""
    if isinstance(raw, Mapping) and "value" in raw:
        return raw["value"]
    return raw


def _lookup(source: Mapping[str, Any], keys: Iterable[str]) -> Any:
    folded = {_fold(k): v for k, v in source.items()}
    for key in keys:
        value = _value(folded.get(key))
        if value not in (None, "", [], {}):
            return value
    return None


def _items(raw: Any) -> tuple[str, ...]:
    if raw is None or isinstance(raw, bool):
        return ()
    values = [str(v) for v in raw] if isinstance(raw, list | tuple) else [str(raw)]
    items: list[str] = []
    for value in values:
        for piece in re.split(r"\s*(?:\n|;|\s-\s|•)\s*", value):
            piece = piece.strip().strip("-•*").strip().rstrip(".")
            if piece and piece.lower() not in {"none", "null", "n/a", "ninguno", "ninguna"}:
                items.append(piece[:MAX_ITEM_CHARS])
    return tuple(items[:MAX_ITEMS])


def normalize_language(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    code = raw.strip().lower().replace("_", "-").split("-")[0]
    if code in {"es", "spa", "spanish", "espanol", "español"}:
        return "es"
    if code in {"en", "eng", "english", "ingles", "inglés"}:
        return "en"
    return None


def language_of(
    dynamic_variables: Mapping[str, Any],
    metadata: Mapping[str, Any],
    data_collection: Mapping[str, Any],
    spoken: Iterable[str],
    default: str,
) -> str:
    for candidate in (
        _lookup(dynamic_variables, LANGUAGE_KEYS),
        _lookup(metadata, ("main_language", "language")),
        _lookup(data_collection, LANGUAGE_KEYS),
    ):
        found = normalize_language(candidate)
        if found:
            return found
    return guess_language(spoken, default)


def _first_sentence(summary: str | None) -> str | None:
    if not summary or not summary.strip():
        return None
    sentence = re.split(r"(?<=[.!?])\s+", summary.strip(), maxsplit=1)[0].rstrip(".!? ")
    return sentence[:MAX_ITEM_CHARS] or None


def is_completed(event: CallEnded) -> bool:
    """A call that reached a conversation (statuses other than these mean it did not)."""
    return event.completed


def call_context(event: CallEnded, default_language: str) -> CallContext:
    collected = event.data_collection
    name = (
        _lookup(event.dynamic_variables, NAME_KEYS)
        or _lookup(collected, NAME_KEYS)
        or _lookup(event.metadata, ("contact_name", "customer_name"))
        or getattr(event, "contact_name", None)
    )
    topics = _items(_lookup(collected, TOPIC_KEYS))
    if not topics:
        first = _first_sentence(event.summary)
        topics = (first,) if first else ()
    spoken = [t.message for t in event.transcript if t.role == "user" and t.message]
    contact_name = str(name).strip() if isinstance(name, str | int) else ""
    return CallContext(
        call_id=event.call_id,
        language=language_of(
            event.dynamic_variables, event.metadata, collected, spoken, default_language
        ),
        contact_name=contact_name or None,
        summary=event.summary.strip() if event.summary and event.summary.strip() else None,
        topics=topics,
        pending=_items(_lookup(collected, PENDING_KEYS)),
        next_steps=_items(_lookup(collected, NEXT_STEP_KEYS)),
    )


def wants_analysis(context: CallContext) -> bool:
    """Data collection gave neither pending questions nor next steps: the analyzer's reading
    of the call (``call.analyzed``) may."""
    return not context.pending and not context.next_steps


def with_analysis(
    context: CallContext, pending: tuple[str, ...], next_steps: tuple[str, ...]
) -> CallContext:
    """The analyzer's pending questions and next steps where data collection gave none."""
    return replace(
        context,
        pending=context.pending or _items(list(pending)),
        next_steps=context.next_steps or _items(list(next_steps)),
    )


def failed_call_language(event: CallFailed, default_language: str) -> str:
    dynamic = event.metadata.get("dynamic_variables")
    return language_of(
        dynamic if isinstance(dynamic, Mapping) else {}, event.metadata, {}, (), default_language
    )


def _join(items: tuple[str, ...], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    last = " y " if language == "es" else " and "
    return "; ".join(items[:-1]) + last + items[-1]


def _lowered_start(text: str) -> str:
    # "Hablamos de Revisar el contrato" reads better as "hablamos de revisar el contrato",
    # but acronyms and names ("IVA", "Bogotá") keep their capitals.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def opener_text(context: CallContext) -> str:
    """The first WhatsApp message after the call, in the call's language."""
    spanish = context.language != "en"
    name = context.first_name
    greeting = (f"Hola {name}" if name else "Hola") if spanish else (f"Hi {name}" if name else "Hi")
    topics = _join(tuple(_lowered_start(t) for t in context.topics), context.language)
    sentences: list[str] = []
    if topics:
        sentences.append(
            f"{greeting}, hace un momento hablamos de {topics}."
            if spanish
            else f"{greeting}, we just spoke about {topics}."
        )
    else:
        sentences.append(
            f"{greeting}, gracias por la llamada de hace un momento."
            if spanish
            else f"{greeting}, thanks for the call a moment ago."
        )
    if context.pending:
        pending = _join(context.pending, context.language)
        sentences.append(f"Quedó pendiente: {pending}." if spanish else f"Still open: {pending}.")
    if context.next_steps:
        steps = _join(context.next_steps, context.language)
        sentences.append(f"Próximos pasos: {steps}." if spanish else f"Next steps: {steps}.")
    sentences.append(
        "Si tienes cualquier pregunta, escríbeme por aquí."
        if spanish
        else "If you have any questions, just write to me here."
    )
    return " ".join(sentences)
