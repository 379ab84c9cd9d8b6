"""How the CLI shows events and conversations to a person."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from hilo.projections.conversation import timeline
from hilo.store.eventstore import RecordedEvent

console = Console()


def event_line(record: RecordedEvent) -> dict[str, Any]:
    return {
        "position": record.position,
        "stream": record.stream,
        "version": record.stream_version,
        "type": record.type,
        "schema_version": record.schema_version,
        "occurred_at": record.occurred_at.isoformat(),
        "data": record.data,
    }


def events_table(records: list[RecordedEvent]) -> Table:
    table = Table("pos", "type", "conversation", "v", "occurred at", "event id")
    for r in records:
        table.add_row(
            str(r.position),
            r.type,
            r.stream,
            str(r.stream_version),
            r.occurred_at.isoformat(timespec="seconds"),
            str(r.event_id),
        )
    return table


def _describe(item: dict[str, Any]) -> tuple[str, str]:
    kind = item["kind"]
    if kind == "message":
        arrow = "←" if item.get("direction") == "inbound" else "→"
        text = item.get("text") or f"[{item.get('message_kind') or 'media'}]"
        transcript = item.get("transcript")
        if transcript:
            detail = transcript.get("text") or transcript.get("reason") or ""
            text += f"  (voice note, transcript {transcript['status']}: {detail})"
        status = item.get("status")
        text += _flow_note(item)
        return f"{arrow} whatsapp", text + (f"  [{status}]" if status else "")
    if kind == "call":
        return "☎ call", f"{item.get('status')}: {item.get('summary') or item.get('reason') or ''}"
    if kind == "intent":
        return "◆ intent", f"{item.get('intent')} / {item.get('sentiment')}: {item.get('summary')}"
    if kind == "calendar_event":
        return "▣ event", f"{item.get('status')}: {item.get('title')} at {item.get('start')}"
    if kind == "task":
        return "✓ task", f"{item.get('task_type')} p{item.get('priority')}: {item.get('title')}"
    if kind == "mode_changed":
        return "⇄ mode", f"{item.get('mode')} ({item.get('reason')})"
    if kind == "flow":
        return "❯ flow", f"{item.get('flow_id')}: {item.get('state')}" + (
            f" ({item['reason']})" if item.get("reason") else ""
        )
    if kind == "status":
        return "· status", f"{item.get('status')} (message not yet recorded as sent)"
    return kind, json.dumps({k: v for k, v in item.items() if k not in ("key", "kind")})


def _flow_note(item: dict[str, Any]) -> str:
    """A flow's question or the answer read from a message, beside the message."""
    if asked := item.get("flow"):
        return f"  (flow {asked['flow_id']}: question {asked['question_id']})"
    if answer := item.get("flow_answer"):
        if answer.get("accepted"):
            return f"  (flow answer {answer['question_id']} = {answer.get('value')!r})"
        return f"  (flow answer {answer['question_id']} rejected: {answer.get('reason')})"
    return ""


def conversation_table(doc: dict[str, Any]) -> Table:
    title = f"{doc['conversation']} {doc.get('contact_name') or ''}".strip()
    table = Table("at (UTC)", "what", "detail", title=title, show_lines=False)
    for item in timeline(doc):
        what, detail = _describe(item)
        table.add_row(item["at"][:19].replace("T", " "), what, detail)
    return table
