"""How the API's data reads to a person: times in the business's zone, labels, the week
grid and the analytics series. Pure: no I/O, so each piece is tested alone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

MODE_LABELS = {
    "analyzer": "Bot",
    "voice_agent": "Voice agent",
    "flow": "Flow",
    "human": "Person",
    "nobody": "Nobody (opted out)",
}
# Who answered a message, as the timeline names it.
AUTHOR_LABELS = {
    "analyzer": "Bot",
    "voice_agent": "Voice agent",
    "flow": "Flow",
    "human": "Person",
    "system": "System",
    "nobody": "Nobody (opted out)",
}
AUTOMATIC_MODES = ("analyzer", "voice_agent", "flow")
SENTIMENTS = ("positive", "neutral", "negative", "urgent")
FAILED = ("failed", "undelivered", "blocked")


def parse_instant(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Clock:
    """Instants shown in the business's time zone, in the person's language."""

    zone: ZoneInfo
    language: str

    def local(self, value: str | datetime | None) -> datetime | None:
        moment = parse_instant(value)
        return moment.astimezone(self.zone) if moment else None

    def when(self, value: str | datetime | None, now: datetime) -> str:
        """Today: the time; this year: day and time; else the full short date."""
        moment = self.local(value)
        if moment is None:
            return ""
        today = now.astimezone(self.zone).date()
        if moment.date() == today:
            return format_time(moment, "short", locale=self.language)
        if moment.year == today.year:
            day = format_date(moment, "d MMM", locale=self.language)
            return f"{day} {format_time(moment, 'short', locale=self.language)}"
        return format_datetime(moment, "short", locale=self.language)

    def full(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        if moment is None:
            return ""
        return format_datetime(moment, "medium", locale=self.language)

    def iso(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        return moment.isoformat() if moment else ""

    def day(self, value: date, style: str = "EEEE d MMM") -> str:
        return format_date(value, style, locale=self.language)

    def time(self, value: str | datetime | None) -> str:
        moment = self.local(value)
        return format_time(moment, "short", locale=self.language) if moment else ""


def window_state(until: str | datetime | None, now: datetime) -> str:
    """``open`` (free text allowed), ``closed`` or ``never`` (the contact never wrote)."""
    moment = parse_instant(until)
    if moment is None:
        return "never"
    return "open" if now < moment else "closed"


def is_flow_item(item: dict[str, Any]) -> bool:
    """A flow's question (sent by the flow) or an answer to it (routed to the flow)."""
    if item.get("author") == "flow" or item.get("answerer") == "flow":
        return True
    return bool(item.get("flow_id") or item.get("question_id"))


# --- the calendar's week -----------------------------------------------------------------


@dataclass
class Day:
    date: date
    events: list[dict[str, Any]] = field(default_factory=list)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def event_day(event: dict[str, Any], zone: ZoneInfo) -> date | None:
    start = event.get("start")
    if not start:
        return None
    if len(str(start)) == 10:  # an all-day event is a date
        return date.fromisoformat(str(start))
    moment = parse_instant(str(start))
    return moment.astimezone(zone).date() if moment else None


def week(first: date, events: list[dict[str, Any]], zone: ZoneInfo) -> list[Day]:
    days = [Day(first + timedelta(days=n)) for n in range(7)]
    for event in sorted(events, key=lambda e: str(e.get("start") or "")):
        found = event_day(event, zone)
        if found is not None and first <= found < first + timedelta(days=7):
            days[(found - first).days].events.append(event)
    return days


# --- analytics ---------------------------------------------------------------------------


def messages_per_day(figures: dict[str, Any]) -> dict[str, Any]:
    """Inbound and outbound per day, channels added up, days in order."""
    inbound: dict[str, int] = defaultdict(int)
    outbound: dict[str, int] = defaultdict(int)
    for row in figures.get("messages", []):
        inbound[row["day"]] += row.get("inbound", 0)
        outbound[row["day"]] += row.get("outbound", 0)
    days = sorted(set(inbound) | set(outbound))
    return {
        "labels": days,
        "inbound": [inbound[d] for d in days],
        "outbound": [outbound[d] for d in days],
    }


def sentiment_over_time(figures: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in figures.get("sentiment", []):
        counts[row["sentiment"]][row["day"]] += row.get("count", 0)
    days = sorted({day for per_day in counts.values() for day in per_day})
    named = [s for s in SENTIMENTS if s in counts] + sorted(set(counts) - set(SENTIMENTS))
    return {"labels": days, "series": {s: [counts[s][d] for d in days] for s in named}}


def response_times(figures: dict[str, Any]) -> dict[str, Any]:
    first = figures.get("first_response", {})
    kinds = ("automatic", "human")
    return {
        "labels": list(kinds),
        "p50": [(first.get(k) or {}).get("p50_seconds") for k in kinds],
        "p90": [(first.get(k) or {}).get("p90_seconds") for k in kinds],
        "count": [(first.get(k) or {}).get("count", 0) for k in kinds],
    }


def intents(figures: dict[str, Any]) -> dict[str, Any]:
    ranked = sorted(figures.get("intents", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return {"labels": [k for k, _ in ranked], "counts": [v for _, v in ranked]}


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"
