"""Reading a contact's answer by the question's type. Pure: text in, a value or a reason out.

Dates follow the analyzer's conventions (``hilo.dates``: "el viernes" is the first Friday
strictly after today, "mañana" is tomorrow) in the business's time zone, plus written
dates: ISO ``2026-12-05`` and day-first ``5/12/2026`` (month-first in English).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from hilo.dates import find_day
from hilo.flowdefs import Question
from hilo.text import fold, keyword

Value = str | int | float | None

# A pragmatic address check (what WhatsApp users mistype: spaces, missing dot or at-sign);
# deliverability is the outside system's business.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:[.,\s]\d{3})+|\d+)(?:[.,]\d+)?$")


@dataclass(frozen=True)
class Accepted:
    value: Value


@dataclass(frozen=True)
class Rejected:
    reason: str  # invalid_email, not_a_number, not_a_date, not_an_option, empty, not_text


Reading = Accepted | Rejected


def read_answer(
    question: Question,
    text: str | None,
    *,
    language: str,
    now: datetime,
    reply_id: str | None = None,
    option_prefix: str = "",
) -> Reading:
    """The answer's value for ``question``, or why it does not fit. ``now`` is local time."""
    said = (text or "").strip()
    if question.type == "choice":
        return _choice(question, said, reply_id, option_prefix)
    if not said:
        return Rejected("empty")
    if question.type == "email":
        address = said.strip(" .;<>").replace("mailto:", "")
        return Accepted(address.lower()) if _EMAIL.match(address) else Rejected("invalid_email")
    if question.type == "number":
        number = parse_number(said, language)
        return Accepted(number) if number is not None else Rejected("not_a_number")
    if question.type == "date":
        day = parse_date(said, language, now)
        return Accepted(day.isoformat()) if day is not None else Rejected("not_a_date")
    return Accepted(said)


def option_id(prefix: str, question_id: str, index: int) -> str:
    """The id of a tappable option: names the question, so a stale button is recognised."""
    return f"{prefix}{question_id}:{index + 1}"


def _choice(question: Question, said: str, reply_id: str | None, prefix: str) -> Reading:
    if reply_id:
        for index in range(len(question.options)):
            if reply_id == option_id(prefix, question.id, index):
                return Accepted(option_value(question, index))
    folded = keyword(said)
    if not folded:
        return Rejected("not_an_option")
    number = folded.rstrip(" .)")
    if number.isdigit() and 1 <= int(number) <= len(question.options):
        return Accepted(option_value(question, int(number) - 1))
    for index, option in enumerate(question.options):
        if any(keyword(label) == folded for label in option.by_language.values()):
            return Accepted(option_value(question, index))
    return Rejected("not_an_option")


def option_value(question: Question, index: int) -> str:
    """What the outside API gets for a choice: the option in the flow's own language."""
    option = question.options[index]
    return option.by_language.get(option.default_language) or next(
        iter(option.by_language.values())
    )


def parse_number(text: str, language: str) -> int | float | None:
    """``12``, ``-3``, ``12,5`` / ``12.5``, ``1.234,5`` (es) or ``1,234.5`` (en)."""
    said = text.strip().replace("\u00a0", " ")
    if not _NUMBER.match(said):
        return None
    said = said.replace(" ", "")
    decimal, grouping = (",", ".") if language == "es" else (".", ",")
    if said.count(grouping) and (said.count(decimal) or said.count(grouping) > 1):
        said = said.replace(grouping, "")
    elif said.count(grouping) == 1 and len(said.rsplit(grouping, 1)[1]) != 3:
        said = said.replace(grouping, decimal)  # "12.5" in Spanish is still twelve and a half
    elif said.count(grouping) == 1:
        said = said.replace(grouping, "")
    said = said.replace(decimal, ".")
    try:
        value = float(said)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in said else value


def parse_date(text: str, language: str, now: datetime) -> date | None:
    if m := _ISO_DATE.search(text):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _SLASH_DATE.search(text):
        first, second = int(m.group(1)), int(m.group(2))
        day, month = (second, first) if language == "en" else (first, second)
        if m.group(3):
            year = int(m.group(3))
            year = year + 2000 if year < 100 else year
            return _date(year, month, day)
        found = _date(now.year, month, day)
        if found is not None and found < now.date():
            found = _date(now.year + 1, month, day)
        return found
    return find_day(fold(text), now)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
