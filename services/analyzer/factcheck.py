"""Whether a model-written reply states only facts the business or the contact gave. Pure.

Prices, hours, dates and slots are numbers. A price (a number beside a currency) must be
one the profile or the conversation states; a time of day must be in the opening hours,
the conversation or the offline answer (which holds the calendar's verdict: the slot
confirmed or the free slots offered); any other number must appear somewhere in what
the model was given. A reply breaking any of these ("la limpieza cuesta 30 €", "abrimos
a las 8") invented it and is replaced by the offline answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = r"\d+(?:[.,]\d+)?"
_PRICE = re.compile(
    rf"[€$£]\s*({_AMOUNT})|({_AMOUNT})\s*(?:€|\$|£|euros?\b|eur\b|usd\b|d[oó]lares\b"
    r"|dollars?\b|pesos\b)",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\b(\d{1,2})[:h.](\d{2})\b")
_SAID_HOUR = re.compile(
    r"\b(?:a las?|desde las?|hasta las?|de las?|at|from|until|till)\s+(\d{1,2})\b(?![:h.]\d)"
    r"|\b(\d{1,2})\s*(am|pm|a\.\s?m\.|p\.\s?m\.)",
    re.IGNORECASE,
)
_NUMBER = re.compile(_AMOUNT)


def _normal(number: str) -> str:
    """``09`` is ``9``; ``45,00`` and ``45.0`` are ``45``; ``1.5`` stays ``1.5``."""
    number = number.replace(",", ".")
    if "." in number:
        whole, _, fraction = number.partition(".")
        fraction = fraction.rstrip("0")
        number = f"{whole}.{fraction}" if fraction else whole
    return number.lstrip("0") or "0"


def prices(text: str) -> set[str]:
    return {_normal(a or b) for a, b in _PRICE.findall(text)}


def times(text: str) -> set[tuple[int, int]]:
    """Times of day as (hour, minute); an hour said without minutes is on the hour."""
    found = {(int(h), int(m)) for h, m in _CLOCK.findall(text)}
    for hour, bare, meridiem in _SAID_HOUR.findall(text):
        if hour:
            found.add((int(hour), 0))
        else:
            value = int(bare) % 12 + (12 if meridiem.lower().startswith("p") else 0)
            found.add((value, 0))
    return found


def numbers(text: str) -> set[str]:
    return {_normal(n) for n in _NUMBER.findall(text)}


@dataclass(frozen=True)
class Sources:
    """What a reply may rest on, by how strictly it counts."""

    facts: tuple[str, ...]  # prices, FAQ answers, hours, the conversation, the offline answer
    context: tuple[str, ...] = ()  # anything else the model saw (the whole profile, say)


def invented(reply: str, sources: Sources) -> list[str]:
    """What ``reply`` states that no source does (empty: nothing invented)."""
    facts = " \n".join(sources.facts)
    everything = facts + " \n" + " \n".join(sources.context)
    made_up = [f"price {p}" for p in sorted(prices(reply) - prices(facts) - numbers(facts))]
    known_times = times(facts)
    # "a las 4" may be the afternoon's 16:00.
    known_times |= {(h - 12, m) for h, m in known_times if h > 12}
    made_up += [f"time {h}:{m:02d}" for h, m in sorted(times(reply) - known_times)]
    rest = _PRICE.sub(" ", _SAID_HOUR.sub(" ", _CLOCK.sub(" ", reply)))
    made_up += [f"number {n}" for n in sorted(numbers(rest) - numbers(everything))]
    return made_up
