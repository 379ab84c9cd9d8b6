"""Whether a model-written reply states only numbers the business or the contact gave. Pure.

Prices, hours, dates and slots are numbers. Every number in the reply must appear in
what the model was given: the profile's text, the conversation, the call's summary and
the offline answer (which holds the calendar's verdict: the slot confirmed or the free
slots offered). A reply with any other number ("la limpieza cuesta 30 €", "abrimos a
las 8") invented it, and is replaced by the offline answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# "10am", "3 pm": the same hour as "10:00" and "15:00" in the profile.
_MERIDIEM = re.compile(r"\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)


def _normal(number: str) -> str:
    """``09`` is ``9``; ``45,00`` and ``45.0`` are ``45``; ``1.5`` stays ``1.5``."""
    number = number.replace(",", ".")
    if "." in number:
        whole, _, fraction = number.partition(".")
        fraction = fraction.rstrip("0")
        number = f"{whole}.{fraction}" if fraction else whole
    return number.lstrip("0") or "0"


def numbers(text: str) -> set[str]:
    found = {_normal(n) for n in _NUMBER.findall(text)}
    for hour, meridiem in _MERIDIEM.findall(text):
        value = int(hour) % 12 + (12 if meridiem.lower().startswith("p") else 0)
        found.add(str(value))
    return found


def _hours_too(found: set[str]) -> set[str]:
    """A 24-hour "16:00" may be said as "4 pm" (4): allow the 12-hour form of each hour."""
    extra = {str(int(n) - 12) for n in found if n.isdigit() and 13 <= int(n) <= 23}
    return found | extra


def invented(reply: str, sources: Iterable[str]) -> set[str]:
    """The numbers in ``reply`` found in none of ``sources`` (empty: nothing invented)."""
    allowed: set[str] = set()
    for source in sources:
        allowed |= numbers(source)
    return numbers(reply) - _hours_too(allowed)
