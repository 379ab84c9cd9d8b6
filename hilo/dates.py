"""Days, times and durations in Spanish and English, by the conventions of docs/ANALYSIS_DATA.md.

Everything resolves against the moment of the message that holds the expression, in the
conversation's time zone (``zoneinfo``). The conventions are specific (a weekday is the
first one *strictly* after the message's date; 1 to 7 without a marker is the afternoon),
so they are explicit rules here rather than a general parser's guesses; ``dateutil``'s
``relativedelta`` does the month arithmetic. Input text is folded (lower case, no accents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3,
    "thur": 3, "thurs": 3, "fri": 4,
}  # fmt: skip
MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12, "january": 1, "february": 2, "march": 3, "april": 4, "may": 5,
    "june": 6, "july": 7, "august": 8, "september": 9, "october": 10, "november": 11,
    "december": 12, "jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12, "ene": 1, "abr": 4, "ago": 8,
    "dic": 12,
}  # fmt: skip
NUMBER_WORDS = {
    "una": 1, "un": 1, "uno": 1, "one": 1, "an": 1, "a": 1, "dos": 2, "two": 2, "tres": 3,
    "three": 3, "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6,
    "siete": 7, "seven": 7, "ocho": 8, "eight": 8, "nueve": 9, "nine": 9, "diez": 10,
    "ten": 10, "once": 11, "eleven": 11, "doce": 12, "twelve": 12,
}  # fmt: skip

_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_HOURWORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))

_DAY_AFTER_TOMORROW = re.compile(r"\bpasado manana\b|\bthe day after tomorrow\b")
# "mañana" is tomorrow unless it is the morning ("de la mañana", "por la mañana", "esta mañana").
_TOMORROW = re.compile(r"(?<!la )(?<!esta )(?<!pasado )\bmanana\b|\btomorrow(?:'s)?\b")
_TODAY = re.compile(
    r"\bhoy\b|\btoday(?:'s)?\b|\btonight\b|\besta (?:tarde|noche)\b|\bthis (?:afternoon|evening)\b"
)
# "el viernes pasado" / "last Friday" are in the past: never a day to arrange.
_WEEKDAY_RE = re.compile(rf"(?<!last )\b({_WEEKDAY})\b(?!\s+pasado)")
_NEXT_WEEK = re.compile(
    r"\b(?:la )?semana (?:que viene|proxima)\b|\bproxima semana\b|\bnext week\b"
)
# "in 3 days", "dentro de dos semanas": counted from the message's date.
_IN_DAYS = re.compile(
    rf"\b(?:in|en|dentro de)\s+(\d{{1,2}}|{_HOURWORD})\s+(dias|days|semanas|weeks)\b"
    r"|\b(?:in|dentro de)\s+(?:a|una)\s+(week|semana)\b"
)
# "el jueves 29", "Thursday the 5th": the number names the day; the weekday only repeats it.
_WEEKDAY_NUMBER = re.compile(
    rf"\b(?:{_WEEKDAY}),?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:.h]\d)(?!\s*(?:am|pm|a\.m|p\.m|de la|y media|y cuarto|h\b|hs\b|hrs\b|horas\b|[-–]|(?:to|a|until) \d))"
)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: de)? ({_MONTH})\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?!:)")
_DAY_ONLY = re.compile(
    r"\b(?:el|del|para el|the|on the|el dia|dia)\s+(\d{1,2})(?:st|nd|rd|th)?\b(?![:.h]\d)(?! de la| (?:am|pm|horas?|hrs?|minutos?|min|personas?|productos?|unidades|veces|dias|years?|anos?))"
    r"|\b(\d{1,2})(st|nd|rd|th)\b"
)

_MERIDIEM_AM = re.compile(
    r"^\s*(?:a(?:\.\s?)?m\.?|de la manana|en la manana|por la manana|in the morning|de la madrugada)\b"
)
_MERIDIEM_PM = re.compile(
    r"^\s*(?:p(?:\.\s?)?m\.?|de la tarde|en la tarde|por la tarde|de la noche|en la noche|por la noche|in the afternoon|in the evening|at night|tonight)\b"
)
_ANY_MERIDIEM = re.compile(
    r"\s*\b(?:de la|en la|por la) (?:manana|tarde|noche|madrugada)\b"
    r"|\s*\b(?:in the (?:morning|afternoon|evening)|at night)\b|\s*(?<=\d)\s*[ap](?:\.\s?)?m\.?(?!\w)"
)
# A speaker correcting themselves: "…, no, …", "…, perdón, …", "…, mejor dicho …", "…, I mean …".
# It needs the comma (or dash) before it, so that "no puedo" or "te digo que" never is one.
_CORRECTION = re.compile(
    r"(?:(?:,|;|\.{1,3}|\s[-–])\s*(?:"
    r"no+(?:,?\s*(?:no|perdon|perdona|espera|mejor|digo|sorry|wait))*"
    r"|perdon(?:,?\s*(?:no|mejor|digo|quise decir|quiero decir))*|mejor dicho|quise decir"
    r"|quiero decir|digo|(?:sorry,?\s*)?i mean|sorry|no wait|wait,?\s*no|or rather|make that"
    r")|\sno+(?=,))\b\s*[,:.!]*\s*"
)
# Only these parts of the day correct the hour said before them; "no, mejor por la tarde"
# withdraws that hour for a time not said yet.
_MERIDIEM_CORRECTION = re.compile(r"^(?:de la (?:manana|tarde|noche)|[ap](?:\.\s?)?m\.?)(?!\w)")
_NOON = re.compile(r"\bmediodia\b|\bnoon\b|\bmidday\b")
_MIDNIGHT = re.compile(r"\bmedianoche\b|\bmidnight\b")

# An hour with its cue: "a las 10", "at 3", "las 4", "10:30", "10h30", "3pm", "half past 10".
_CLOCK = re.compile(r"\b(\d{1,2})(?::|h|\.)(\d{2})\b")
_HOUR_CUED = re.compile(
    rf"\b(a las|a la|las|la|at|tipo|sobre las|hacia las|eso de las|around|by|for|say)\s+({_HOURWORD}|\d{{1,2}})\b(?![:.]\d)(?!\s*(?:personas|productos|de (?:diciembre|enero)|dias|horas|minutos|min|people|hours|minutes|days|veces))"
)
# "tipo 17h", "a las 9hs": an hour marked with h, as written on a 24-hour clock.
_HOUR_H = re.compile(r"\b(\d{1,2})\s?(?:h|hs|hrs)\b(?!\d)")
_HOUR_MERIDIEM = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a(?:\.\s?)?m\.?|p(?:\.\s?)?m\.?)(?!\w)")
_HALF_PAST = re.compile(rf"\b(half|quarter) (past|to) ({_HOURWORD}|\d{{1,2}})\b")
_OFFSET = re.compile(r"^\s*(y media|y cuarto|menos cuarto|y (\d{1,2})(?! de))")
# "mejor 5 y media", "jueves 5 y media te espero": an hour with its half or quarter is a
# time even without "a las".
_HOUR_WITH_OFFSET = re.compile(
    rf"\b({_HOURWORD}|\d{{1,2}}) (?=(?:y media|y cuarto|menos cuarto)\b"
    r"(?!\s+(?:horas?|dias|semanas|meses|anos|kilos|litros|metros)))"
)
_BARE_HOUR = re.compile(
    r"^\s*(?:a las |at )?(\d{1,2})\s*(?:mejor|perfecto|esta bien|is fine|works|ok|vale)?\s*[.!?]*\s*$"
)

_RANGE = re.compile(
    r"\b(?:de|from|entre las|entre|between)\s+(?:las\s+)?(\d{1,2}(?::\d{2})?)\s*(a(?:\.\s?)?m\.?|p(?:\.\s?)?m\.?)?\s+(?:a|to|y|and|until|till)\s+(?:las\s+)?(\d{1,2}(?::\d{2})?)\s*(a(?:\.\s?)?m\.?|p(?:\.\s?)?m\.?)?(?!\w)"
    r"|\b(\d{1,2}(?::\d{2})?)\s*(a(?:\.\s?)?m\.?|p(?:\.\s?)?m\.?)?\s*[-–]\s*(\d{1,2}(?::\d{2})?)\s*(a(?:\.\s?)?m\.?|p(?:\.\s?)?m\.?)?(?!\w)"
)
_DURATION = re.compile(
    r"\b(?:(hora y media|an hour and a half|one and a half hours?)"
    r"|(media hora|half an hour)"
    r"|(una|un|1|one|an|a|dos|2|two|tres|3|three) (?:horas?|hours?|hrs?)\b"
    r"|(\d{1,3}|quince|fifteen|veinte|twenty|treinta|thirty|cuarenta y cinco|forty-five|forty five|noventa|ninety) (?:minutos|minutes|mins?)\b)"
)
_DURATION_WORDS = {
    "una": 60, "un": 60, "1": 60, "one": 60, "an": 60, "a": 60, "dos": 120, "2": 120,
    "two": 120, "tres": 180, "3": 180, "three": 180, "quince": 15, "fifteen": 15,
    "veinte": 20, "twenty": 20, "treinta": 30, "thirty": 30, "cuarenta y cinco": 45,
    "forty-five": 45, "forty five": 45, "noventa": 90, "ninety": 90,
}  # fmt: skip


@dataclass(frozen=True)
class Clock:
    hour: int
    minute: int = 0


def _next_weekday(day: date, weekday: int) -> date:
    ahead = (weekday - day.weekday()) % 7 or 7
    return day + timedelta(days=ahead)


def _day_of_month(today: date, day: int, month: int | None) -> date | None:
    try:
        if month is not None:
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
        candidate = date(today.year, today.month, day)
        if candidate >= today:
            return candidate
        return candidate + relativedelta(months=1)
    except ValueError:
        return None


def find_day(folded: str, at: datetime) -> date | None:
    """The day a message names, resolved against its local moment ``at``; None if none.

    A day named after a correction ("el martes, no, mejor el miércoles") wins.
    """
    if (corrected := _correction(folded)) is not None and (
        day := _day_in(corrected, at)
    ) is not None:
        return day
    return _day_in(folded, at)


def _day_in(folded: str, at: datetime) -> date | None:
    today = at.date()
    if _DAY_AFTER_TOMORROW.search(folded):
        return today + timedelta(days=2)
    if m := _DAY_MONTH.search(folded):
        return _day_of_month(today, int(m.group(1)), MONTHS[m.group(2)])
    if m := _MONTH_DAY.search(folded):
        return _day_of_month(today, int(m.group(2)), MONTHS[m.group(1)])
    if m := _WEEKDAY_NUMBER.search(folded):
        return _day_of_month(today, int(m.group(1)), None)
    if m := _WEEKDAY_RE.search(folded):
        return _next_weekday(today, WEEKDAYS[m.group(1)])
    if _TOMORROW.search(folded):
        return today + timedelta(days=1)
    if m := _IN_DAYS.search(folded):
        if m.group(3):
            return today + timedelta(weeks=1)
        count = _hour_value(m.group(1))
        if count:
            unit = 7 if m.group(2) in ("semanas", "weeks") else 1
            return today + timedelta(days=count * unit)
    if m := _DAY_ONLY.search(folded):
        number = int(m.group(1) or m.group(2))
        if 1 <= number <= 31:
            return _day_of_month(today, number, None)
    if _TODAY.search(folded):
        return today
    return None


def mentions_next_week_without_day(folded: str) -> bool:
    return bool(_NEXT_WEEK.search(folded)) and not _WEEKDAY_RE.search(folded)


def _hour_value(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return NUMBER_WORDS.get(token) if token not in ("a", "an", "un", "una", "uno") else None


def _apply_meridiem(hour: int, rest: str) -> int:
    if _MERIDIEM_PM.search(rest):
        return hour + 12 if hour < 12 else hour
    if _MERIDIEM_AM.search(rest):
        return hour
    return hour + 12 if 1 <= hour <= 7 else hour


def _with_offset(hour: int, rest: str) -> tuple[int, int, str]:
    """Applies "y media", "y cuarto", "menos cuarto" that follow an hour; returns the rest."""
    m = _OFFSET.match(rest)
    if not m:
        return hour, 0, rest
    offset = m.group(1)
    rest = rest[m.end() :]
    if offset == "y media":
        return hour, 30, rest
    if offset == "y cuarto":
        return hour, 15, rest
    if offset == "menos cuarto":
        return hour - 1, 45, rest
    minutes = int(m.group(2))
    return (hour, minutes, rest) if minutes < 60 else (hour, 0, rest)


def find_time(folded: str) -> Clock | None:
    """The time of day a message names; None when it names none.

    A time named after a correction wins ("a las 10, perdón, a las 11"); a correction that
    names only the part of the day applies it to the hour before it ("a las 10 de la noche,
    no, de la mañana" is 10:00).
    """
    if (correction := _last_correction(folded)) is not None:
        corrected = folded[correction.end() :]
        if (clock := _time_in(corrected)) is not None:
            return clock
        if marker := _MERIDIEM_CORRECTION.match(corrected):
            before = _ANY_MERIDIEM.sub("", folded[: correction.start()])
            return _time_in(f"{before} {marker.group(0).strip()}")
        if _MERIDIEM_AM.match(corrected) or _MERIDIEM_PM.match(corrected):
            return None  # the hour said before is withdrawn, the new one not said yet
    return _time_in(folded)


def _last_correction(folded: str) -> re.Match[str] | None:
    matches = list(_CORRECTION.finditer(folded))
    return matches[-1] if matches else None


def _correction(folded: str) -> str | None:
    """What follows the last self-correction in a message, when it makes one."""
    found = _last_correction(folded)
    return folded[found.end() :] if found else None


def _time_in(folded: str) -> Clock | None:
    if m := _HALF_PAST.search(folded):
        hour = _hour_value(m.group(3))
        if hour is not None:
            minute = 30 if m.group(1) == "half" else 15
            if m.group(2) == "to":
                hour, minute = hour - 1, 45
            hour = _apply_meridiem(hour, folded[m.end() :])
            return Clock(hour % 24, minute)
    if m := _HOUR_MERIDIEM.search(folded):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour <= 12:
            pm = m.group(3).startswith("p")
            hour = (hour % 12) + (12 if pm else 0)
            return Clock(hour, minute)
    if m := _CLOCK.search(folded):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60:
            if hour <= 12:
                hour = _apply_meridiem(hour, folded[m.end() :])
            return Clock(hour % 24, minute)
    if (m := _HOUR_H.search(folded)) and int(m.group(1)) < 24:
        hour = int(m.group(1))
        return Clock(_apply_meridiem(hour, folded[m.end() :]) if hour <= 12 else hour, 0)
    if _NOON.search(folded):
        return Clock(12, 0)
    if _MIDNIGHT.search(folded):
        return Clock(0, 0)
    for m in _HOUR_CUED.finditer(folded):
        cue, token = m.group(1), m.group(2)
        hour = 1 if token == "una" and cue in ("a la", "la") else _hour_value(token)
        if hour is None or not 0 <= hour <= 24:
            continue
        hour, minute, rest = _with_offset(hour, folded[m.end() :])
        if hour <= 12:
            hour = _apply_meridiem(hour, rest)
        return Clock(hour % 24, minute)
    m = _HOUR_WITH_OFFSET.search(folded)
    hour_said = _hour_value(m.group(1)) if m else None
    if m and hour_said is not None and 1 <= hour_said <= 12:
        hour, minute, rest = _with_offset(hour_said, folded[m.end() - 1 :])
        return Clock(_apply_meridiem(hour, rest) % 24, minute)
    if m := _BARE_HOUR.match(folded):
        hour = int(m.group(1))
        if 1 <= hour <= 12:
            return Clock(_apply_meridiem(hour, ""), 0)
    return None


def _clock_of(token: str, marker: str | None, fallback_pm: bool | None) -> Clock:
    hour_text, _, minute_text = token.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if marker:
        pm = marker.startswith("p")
        return Clock((hour % 12) + (12 if pm else 0), minute)
    if fallback_pm is not None and hour <= 12:
        return Clock((hour % 12) + (12 if fallback_pm else 0), minute)
    return Clock(hour + 12 if 1 <= hour <= 7 else hour, minute)


def find_range(folded: str) -> tuple[Clock, Clock] | None:
    """A stated time range ("de 10 a 11", "from 1 to 3", "1–3pm"): its start and end."""
    if (corrected := _correction(folded)) is not None and (span := _range_in(corrected)):
        return span
    return _range_in(folded)


def _range_in(folded: str) -> tuple[Clock, Clock] | None:
    m = _RANGE.search(folded)
    if not m:
        return None
    groups = m.groups()
    start, start_marker, end, end_marker = groups[0:4] if groups[0] else groups[4:8]
    if start is None or end is None:
        return None
    rest = folded[m.end() :]
    pm_after = True if _MERIDIEM_PM.search(rest) else (False if _MERIDIEM_AM.search(rest) else None)
    end_clock = _clock_of(end, end_marker, pm_after)
    start_clock = _clock_of(start, start_marker or end_marker, pm_after)
    if start_marker is None and end_marker and start_clock.hour > end_clock.hour:
        start_clock = Clock(start_clock.hour - 12, start_clock.minute)
    if (end_clock.hour, end_clock.minute) <= (start_clock.hour, start_clock.minute):
        return None
    if start_clock.hour > 23 or end_clock.hour > 23:
        return None
    return start_clock, end_clock


def find_duration(folded: str) -> timedelta | None:
    """A stated duration ("una hora", "30 minutes", "hora y media")."""
    m = _DURATION.search(folded)
    if not m:
        return None
    if m.group(1):
        return timedelta(minutes=90)
    if m.group(2):
        return timedelta(minutes=30)
    if m.group(3):
        return timedelta(minutes=_DURATION_WORDS[m.group(3)])
    amount = m.group(4)
    minutes = int(amount) if amount.isdigit() else _DURATION_WORDS.get(amount, 0)
    return timedelta(minutes=minutes) if 5 <= minutes <= 480 else None
