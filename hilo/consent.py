"""Whole-message opt-out and opt-in keywords (STOP, BAJA, START, ALTA…). Pure.

Two services read them: the notifier, which owns the contact's consent (it blocks
replies to an opted-out contact and confirms the change), and the router, which must
route the very message that says STOP to nobody. One table keeps them agreeing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hilo.text import keyword

# Not "cancelar"/"cancel"/"end": in a conversation about appointments they cancel the meeting.
DEFAULT_OPT_OUT_ES = ["baja", "darme de baja", "dar de baja", "cancelar suscripcion", "parar"]
DEFAULT_OPT_OUT_ES += ["no mas"]
DEFAULT_OPT_OUT_EN = ["stop", "stopall", "unsubscribe", "quit", "opt out", "optout"]
DEFAULT_OPT_IN_ES = ["alta", "darme de alta", "dar de alta", "suscribir", "suscribirme"]
DEFAULT_OPT_IN_ES += ["reanudar", "volver"]
DEFAULT_OPT_IN_EN = ["start", "unstop", "subscribe", "resume", "opt in", "optin"]

OptChange = Literal["opt_out", "opt_in"]


def keyword_set(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w for w in (keyword(k) for k in words) if w)


@dataclass(frozen=True)
class OptKeywords:
    """Keyword → (change, language); a whole message must equal one keyword."""

    table: dict[str, tuple[OptChange, str]]

    @classmethod
    def build(
        cls,
        out_es: Iterable[str] = DEFAULT_OPT_OUT_ES,
        out_en: Iterable[str] = DEFAULT_OPT_OUT_EN,
        in_es: Iterable[str] = DEFAULT_OPT_IN_ES,
        in_en: Iterable[str] = DEFAULT_OPT_IN_EN,
    ) -> OptKeywords:
        table: dict[str, tuple[OptChange, str]] = {}
        changes: tuple[tuple[Iterable[str], OptChange, str], ...] = (
            (out_en, "opt_out", "en"),
            (out_es, "opt_out", "es"),
            (in_en, "opt_in", "en"),
            (in_es, "opt_in", "es"),
        )
        for words, change, language in changes:
            for word in keyword_set(words):
                table.setdefault(word, (change, language))
        return cls(table)

    def match(self, text: str | None) -> tuple[OptChange, str, str] | None:
        """(change, language, keyword) when the whole message is a keyword."""
        if not text:
            return None
        words = keyword(text)
        found = self.table.get(words)
        return (found[0], found[1], words) if found else None
