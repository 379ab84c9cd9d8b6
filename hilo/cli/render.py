"""How the CLI shows events and conversations to a person."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from hilo.business_time import local_time
from hilo.projections.conversation import timeline
from hilo.store.eventstore import RecordedEvent

console = Console()


FORGOTTEN = "[forgotten]"


def _conversation(record: RecordedEvent) -> str:
    """The contact's number while their key exists; ``[forgotten]`` once it is destroyed."""
    if record.forgotten:
        return FORGOTTEN
    return str(record.clear.get("conversation", record.stream))


def event_line(record: RecordedEvent) -> dict[str, Any]:
    """The event as an operator reads it: opened (numbers and texts), or marked forgotten."""
    line: dict[str, Any] = {
        "position": record.position,
        "stream": record.stream,
        "conversation": _conversation(record),
        "version": record.stream_version,
        "type": record.type,
        "schema_version": record.schema_version,
        "occurred_at": record.occurred_at.isoformat(),
        "data": record.clear,
    }
    if record.forgotten:
        line["forgotten"] = True
    return line


UTC_ZONE = ZoneInfo("UTC")


def events_table(records: list[RecordedEvent], zone: ZoneInfo = UTC_ZONE) -> Table:
    """Times in the business's zone (hilo/business_time.py), each with its offset."""
    table = Table("pos", "type", "conversation", "v", f"occurred at ({zone.key})", "event id")
    for r in records:
        table.add_row(
            str(r.position),
            r.type,
            _conversation(r),
            str(r.stream_version),
            local_time(r.occurred_at, zone),
            str(r.event_id),
        )
    return table


def _local(text: Any, zone: ZoneInfo) -> str:
    """A stored ISO instant (``…Z`` or with an offset) in ``zone``; a bare date as it is."""
    value = str(text or "")
    if "T" not in value:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return local_time(moment, zone)


# What retention left of a recording, in the contact's language (English unless Spanish).
EXPIRED = {
    ("transcript", "en"): "transcript expired after {n} days",
    ("transcript", "es"): "transcripción caducada tras {n} días",
    ("audio", "en"): "audio deleted after {n} days",
    ("audio", "es"): "audio borrado tras {n} días",
}


def expired_note(what: str, expiry: dict[str, Any], language: str | None) -> str:
    template = EXPIRED[(what, "es" if language == "es" else "en")]
    return template.format(n=expiry.get("retention_days"))


def _describe(item: dict[str, Any], zone: ZoneInfo, language: str | None = None) -> tuple[str, str]:
    kind = item["kind"]
    audio_gone = item.get("audio_expired")
    if kind == "message":
        arrow = "←" if item.get("direction") == "inbound" else "→"
        text = item.get("text") or f"[{item.get('message_kind') or 'media'}]"
        transcript = item.get("transcript")
        if transcript:
            text += f"  (voice note, {_transcript_detail(transcript, language)})"
        if audio_gone:
            text += f"  ({expired_note('audio', audio_gone, language)})"
        status = item.get("status")
        text += _flow_note(item)
        return f"{arrow} whatsapp", text + (f"  [{status}]" if status else "")
    if kind == "call":
        text = f"{item.get('status')}: {item.get('summary') or item.get('reason') or ''}"
        transcript = item.get("transcript")
        if isinstance(transcript, dict) and transcript.get("status") == "expired":
            text += f"  ({expired_note('transcript', transcript, language)})"
        if audio_gone:
            text += f"  ({expired_note('audio', audio_gone, language)})"
        return "☎ call", text
    if kind == "intent":
        return "◆ intent", f"{item.get('intent')} / {item.get('sentiment')}: {item.get('summary')}"
    if kind == "calendar_event":
        start = _local(item.get("start"), zone)
        return "▣ event", f"{item.get('status')}: {item.get('title')} at {start}"
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


# Why a voice note has no words, said to an operator (reason codes: services/transcriber).
UNHEARD_REASONS = {
    "no_speech": "nothing recognisable was said",
    "corrupt": "the file could not be decoded",
    "empty": "the file was empty",
    "too_long": "longer than the limit",
    "too_large": "larger than the limit",
    "unsupported_type": "not an audio file",
    "host_not_allowed": "its address is not a provider's",
    "not_found": "the provider no longer has it",
    "download_failed": "it could not be downloaded",
    "not_configured": "provider credentials are missing",
    "no_media": "the message named no file",
    "backend_failed": "the transcription service failed",
}


def _transcript_detail(transcript: dict[str, Any], language: str | None = None) -> str:
    status = transcript.get("status")
    if status == "expired":
        return expired_note("transcript", transcript, language)
    if status == "completed":
        return f"transcript completed: {transcript.get('text') or ''}"
    if status != "failed":
        return f"transcript {status}"
    reason = str(transcript.get("reason") or "")
    why = UNHEARD_REASONS.get(reason, reason.replace("_", " "))
    answered = "; the contact was asked to write it" if transcript.get("answered_by") else ""
    return f"transcript failed: {reason} ({why}){answered}"


def conversation_table(doc: dict[str, Any], zone: ZoneInfo = UTC_ZONE) -> Table:
    """Times in the business's zone (hilo/business_time.py), each with its offset."""
    title = f"{doc['conversation']} {doc.get('contact_name') or ''}".strip()
    table = Table(f"at ({zone.key})", "what", "detail", title=title, show_lines=False)
    language = (doc.get("latest_analysis") or {}).get("language")
    for item in timeline(doc):
        what, detail = _describe(item, zone, language)
        table.add_row(_local(item["at"], zone), what, detail)
    return table
