"""The file format of docs/ANALYSIS_DATA.md: conversations in, one output line out. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from services.analyzer.models import Analysis, Conversation


class BadConversationFile(ValueError):
    """A line of a conversations file is not a conversation; the message says which and why."""


def read_conversations(
    lines: Iterator[str] | list[str], name: str = "input"
) -> Iterator[tuple[Conversation, dict[str, Any]]]:
    """Each conversation with its raw record (which may hold a label under ``expected``)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadConversationFile(f"{name}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BadConversationFile(f"{name}:{number}: expected a JSON object")
        fields = {k: v for k, v in record.items() if k != "expected"}
        try:
            conversation = Conversation.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadConversationFile(f"{name}:{number}: {where}: {first['msg']}") from None
        yield conversation, record


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def output_record(conversation: Conversation, analysis: Analysis) -> dict[str, Any]:
    """The output object of docs/ANALYSIS_DATA.md for one analysed conversation."""
    return {
        "id": conversation.id,
        "language": analysis.language,
        "summary": analysis.summary,
        "sentiment": analysis.sentiment,
        "intent": analysis.intent,
        "entities": [{"type": e.type, "text": e.text} for e in analysis.entities],
        "events": [
            {
                "title": e.title,
                "start": _iso(e.start),
                "end": _iso(e.end),
                "location": e.location,
            }
            for e in analysis.standing_events
        ],
        "tasks": [
            {"title": t.title, "type": t.type, "priority": t.priority, "due": _iso(t.due)}
            for t in analysis.tasks
        ],
    }
