"""The analytics answer, assembled from day counters and response-time percentiles. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from services.inbox.models import (
    Analytics,
    DayCount,
    MessagesOnDay,
    ResponseTimes,
    SentimentOnDay,
)


def assemble(
    first: date,
    last: date,
    counters: Iterable[tuple[date, str, str, int]],
    responses: Iterable[Mapping[str, Any]],
) -> Analytics:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    messages: dict[tuple[date, str], list[int]] = {}
    active: list[DayCount] = []
    sentiment: list[SentimentOnDay] = []
    for day, metric, dimension, value in counters:
        totals[(metric, dimension)] += value
        if metric in ("messages_in", "messages_out"):
            pair = messages.setdefault((day, dimension), [0, 0])
            pair[0 if metric == "messages_in" else 1] += value
        elif metric == "conversations_active":
            active.append(DayCount(day=day, count=value))
        elif metric == "sentiment":
            sentiment.append(SentimentOnDay(day=day, sentiment=dimension, count=value))

    def total(metric: str, dimension: str | None = None) -> int:
        return sum(v for (m, d), v in totals.items() if m == metric and dimension in (None, d))

    times = {
        "automatic": ResponseTimes(count=0, p50_seconds=None, p90_seconds=None),
        "human": ResponseTimes(count=0, p50_seconds=None, p90_seconds=None),
    }
    for row in responses:
        times[row["answered_by"]] = ResponseTimes(
            count=row["n"], p50_seconds=row["p50"], p90_seconds=row["p90"]
        )
    return Analytics.model_validate(
        {
            "from": first,
            "to": last,
            "messages": [
                MessagesOnDay(day=day, channel=channel, inbound=pair[0], outbound=pair[1])
                for (day, channel), pair in sorted(messages.items())
            ],
            "messages_in": total("messages_in"),
            "messages_out": total("messages_out"),
            "conversations_new": total("conversations_new"),
            "conversations_active": active,
            "first_response": times,
            "sentiment": sentiment,
            "intents": {d: v for (m, d), v in sorted(totals.items()) if m == "intent"},
            "tasks_created": total("tasks_created"),
            "tasks_done": total("tasks_done"),
            "voice_notes": total("voice_notes"),
            "transcriptions_failed": total("transcriptions_failed"),
            "calls_completed": total("calls", "completed"),
            "calls_failed": total("calls", "failed"),
            "calls_continued_on_whatsapp": total("calls_continued"),
            "replies_blocked": total("replies_blocked"),
        }
    )
