"""The operator inbox's read models, folded from events (pure, no I/O).

One state per contact: the list row (last message, unread count, mode, sentiment,
open tasks), its tasks and calendar events, and what the analytics need to count
(days the conversation was active, the inbound message still waiting for a first
answer, a call not yet continued on WhatsApp). Counters per UTC day and first-response
times come out of the fold as deltas; the projection adds them up in the same
transaction as its checkpoint, so a live projector and a rebuild reach the same rows.

Unread counts come from events only: inbound messages since the last
``conversation.read_marked`` (or a person's reply) in store order.

A task a person closed (``task.edited``) is not reopened or renamed by a later
``task.updated`` from the analyzer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hilo.projections.conversation import canonical_instant

Doc = dict[str, Any]
Data = dict[str, Any]
Entry = dict[str, Any]  # {"doc": Doc, "daily": {(day, metric, dim): n}, "responses": [...]}

# Newest message texts kept for search, per conversation (older ones drop out).
SEARCH_TEXT_LIMIT = 20_000
CLOSED = ("done", "cancelled")
_MARKS = re.compile(r"[\u0300-\u036f]")


def fold_for_search(text: str) -> str:
    """Lower case without accents, for the search index and its queries alike.

    Whole strings at once (``hilo.text.fold`` keeps positions, one character at a time,
    which a rebuild of a million messages cannot afford); the same for Spanish and English.
    """
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.lower()))


def new_doc(contact: str) -> Doc:
    return {
        "contact": contact,
        "name": None,
        "channel": "whatsapp",
        "channels": [],
        "first_at": None,
        "last_message_at": None,
        "last_text": None,
        "last_direction": None,
        "last_inbound_at": None,
        "unread": 0,
        "mode": "analyzer",
        "sentiment": None,
        "opted_out": False,
        "tasks": {},
        "calendar": {},
        "days": [],
        "waiting_since": None,
        "pending_call": None,
        "texts": [],
        "texts_size": 0,
    }


def new_entry(contact: str, doc: Doc | None = None) -> Entry:
    return {"doc": doc if doc is not None else new_doc(contact), "daily": {}, "responses": []}


def apply(entry: Entry, data: Data) -> None:
    """Fold one stored event (its JSON) into a contact's entry."""
    folder = _FOLDERS.get(data["type"])
    if folder is None:
        return
    at = canonical_instant(data["occurred_at"])
    doc = entry["doc"]
    if doc["first_at"] is None or at < doc["first_at"]:
        doc["first_at"] = at
    folder(entry, data, at)


def open_tasks(doc: Doc) -> int:
    return sum(1 for task in doc["tasks"].values() if task["status"] == "open")


def search_text(doc: Doc) -> str:
    """Folded name, the number in the spellings people type, and the message texts."""
    digits = doc["contact"].lstrip("+")
    # A number is searched with or without its country code: every tail of 6+ digits.
    tails = " ".join(digits[i:] for i in range(1, max(len(digits) - 5, 1)))
    name = fold_for_search(doc["name"]) if doc["name"] else ""
    return " ".join(part for part in (name, digits, tails, *doc["texts"]) if part)


def last_message_at(doc: Doc) -> str:
    return str(doc["last_message_at"] or doc["first_at"])


# --- helpers ---------------------------------------------------------------------------


def _count(entry: Entry, day: str, metric: str, dimension: str = "", by: int = 1) -> None:
    key = (day, metric, dimension)
    daily = entry["daily"]
    daily[key] = daily.get(key, 0) + by


def _remember_text(doc: Doc, text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    texts: list[str] = doc["texts"]
    folded = fold_for_search(text.strip())
    texts.append(folded)
    total = doc.get("texts_size", 0) + len(folded)
    while len(texts) > 1 and total > SEARCH_TEXT_LIMIT:
        total -= len(texts.pop(0))
    doc["texts_size"] = total
    return folded


def _forget_text(doc: Doc, folded: str) -> None:
    texts: list[str] = doc["texts"]
    if folded in texts:
        texts.remove(folded)
        doc["texts_size"] = doc.get("texts_size", 0) - len(folded)


def _active(entry: Entry, at: str, channel: str) -> None:
    """A message in or out: the conversation was active that day, on that channel."""
    doc = entry["doc"]
    day = at[:10]
    if not doc["days"]:
        _count(entry, day, "conversations_new")
    days: list[str] = doc["days"]
    # Events mostly come in time order: the last day is the likely match.
    if (not days or days[-1] != day) and day not in days:
        days.append(day)
        _count(entry, day, "conversations_active")
    if channel not in doc["channels"]:
        doc["channels"].append(channel)


def _last_message(doc: Doc, at: str, text: str | None, direction: str, channel: str) -> None:
    if doc["last_message_at"] is None or at >= doc["last_message_at"]:
        doc.update(last_message_at=at, last_text=text, last_direction=direction, channel=channel)


def _continued_on_whatsapp(entry: Entry, at: str) -> None:
    doc = entry["doc"]
    call = doc["pending_call"]
    if call is not None and at >= call["at"]:
        _count(entry, at[:10], "calls_continued")
        doc["pending_call"] = None


def _seconds_between(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return max((finish - begin).total_seconds(), 0.0)


# --- messages --------------------------------------------------------------------------


def _message_received(entry: Entry, data: Data, at: str) -> None:
    doc = entry["doc"]
    if data.get("contact_name"):
        doc["name"] = data["contact_name"]
    text = data.get("text") or data.get("reply_title")
    kind = data.get("kind") or "text"
    voice = kind == "audio" or any(
        str(m.get("content_type") or "").startswith("audio/") for m in data.get("media") or ()
    )
    _active(entry, at, "whatsapp")
    _last_message(doc, at, text or f"[{kind}]", "inbound", "whatsapp")
    _remember_text(doc, text)
    doc["unread"] += 1
    if doc["last_inbound_at"] is None or at > doc["last_inbound_at"]:
        doc["last_inbound_at"] = at
    if doc["waiting_since"] is None:
        doc["waiting_since"] = at
    day = at[:10]
    _count(entry, day, "messages_in", "whatsapp")
    if voice:
        _count(entry, day, "voice_notes")
    _continued_on_whatsapp(entry, at)


def _reply_ready(entry: Entry, data: Data, at: str) -> None:
    doc = entry["doc"]
    author = data.get("author") or "system"
    _last_message(doc, at, data.get("text"), "outbound", "whatsapp")
    _remember_text(doc, data.get("text"))
    if author == "human":
        doc["unread"] = 0  # a person who answers has read what came before
    waiting = doc["waiting_since"]
    if waiting is not None and author != "system":
        answered_by = "human" if author == "human" else "automatic"
        entry["responses"].append(
            (doc["contact"], waiting, waiting[:10], answered_by, _seconds_between(waiting, at))
        )
        doc["waiting_since"] = None


def _message_sent(entry: Entry, data: Data, at: str) -> None:
    _active(entry, at, "whatsapp")
    _count(entry, at[:10], "messages_out", "whatsapp")
    _continued_on_whatsapp(entry, at)


def _message_blocked(entry: Entry, data: Data, at: str) -> None:
    _count(entry, at[:10], "replies_blocked", str(data.get("reason") or ""))


def _message_failed(entry: Entry, data: Data, at: str) -> None:
    _count(entry, at[:10], "replies_failed")


def _audio_transcribed(entry: Entry, data: Data, at: str) -> None:
    doc = entry["doc"]
    folded = _remember_text(doc, data.get("text"))
    if folded is not None:
        # Kept by voice note so that its expiry can take it out of the search index again;
        # only while the text is still among the searched ones.
        searched = set(doc["texts"])
        transcripts = doc.setdefault("transcript_texts", {})
        transcripts[str(data["message_event_id"])] = folded
        for key in [k for k, v in transcripts.items() if v not in searched]:
            del transcripts[key]


def _transcript_expired(entry: Entry, data: Data, at: str) -> None:
    """Retention let the transcript go: search no longer finds the contact by its words."""
    doc = entry["doc"]
    message_id = data.get("message_event_id")
    folded = doc.get("transcript_texts", {}).pop(str(message_id), None) if message_id else None
    if folded is not None:
        _forget_text(doc, folded)


def _audio_failed(entry: Entry, data: Data, at: str) -> None:
    _count(entry, at[:10], "transcriptions_failed")


def _read_marked(entry: Entry, data: Data, at: str) -> None:
    entry["doc"]["unread"] = 0


# --- calls -----------------------------------------------------------------------------


def _call_ended(entry: Entry, data: Data, at: str) -> None:
    doc = entry["doc"]
    summary = data.get("summary")
    _active(entry, at, "voice")
    _last_message(doc, at, summary or "[call]", "inbound", "voice")
    _remember_text(doc, summary)
    day = at[:10]
    _count(entry, day, "calls", "completed")
    turns = data.get("transcript") or ()
    said_by_contact = sum(1 for t in turns if t.get("role") == "user")
    if said_by_contact:
        _count(entry, day, "messages_in", "voice", said_by_contact)
    if len(turns) - said_by_contact:
        _count(entry, day, "messages_out", "voice", len(turns) - said_by_contact)
    doc["pending_call"] = {"call_id": data.get("call_id"), "at": at}


def _call_failed(entry: Entry, data: Data, at: str) -> None:
    _count(entry, at[:10], "calls", "failed")


# --- analysis, who answers -------------------------------------------------------------


def _intent_detected(entry: Entry, data: Data, at: str) -> None:
    sentiment = data.get("sentiment")
    entry["doc"]["sentiment"] = sentiment
    day = at[:10]
    if sentiment:
        _count(entry, day, "sentiment", sentiment)
    if data.get("intent"):
        _count(entry, day, "intent", data["intent"])


def _mode_changed(entry: Entry, data: Data, at: str) -> None:
    entry["doc"]["mode"] = data["mode"]


def _opted(entry: Entry, data: Data, at: str) -> None:
    entry["doc"]["opted_out"] = data["type"] == "contact.opted_out"


# --- tasks and calendar ----------------------------------------------------------------


def _task_row(entry: Entry, data: Data, at: str) -> dict[str, Any]:
    tasks = entry["doc"]["tasks"]
    task_id = str(data["task_id"])
    task: dict[str, Any] | None = tasks.get(task_id)
    if task is None:
        task = tasks[task_id] = {
            "task_id": task_id,
            "title": data.get("title") or "",
            "type": data.get("task_type") or "general",
            "priority": data.get("priority") or 0,
            "due": data.get("due"),
            "status": "open",
            "assignee": None,
            "closed_by": None,
            "created_at": at,
            "updated_at": at,
        }
        _count(entry, at[:10], "tasks_created")
    return task


def _set_status(entry: Entry, task: dict[str, Any], status: str, at: str) -> None:
    if status == "done" and task["status"] != "done":
        _count(entry, at[:10], "tasks_done")
    task["status"] = status


def _task_by_analyzer(entry: Entry, data: Data, at: str) -> None:
    task = _task_row(entry, data, at)
    if task["closed_by"] is not None:
        return  # a person closed it: the analyzer's later view does not reopen or rename it
    task.update(
        title=data.get("title") or task["title"],
        type=data.get("task_type") or task["type"],
        priority=data.get("priority", task["priority"]),
        due=data.get("due"),
        updated_at=max(task["updated_at"], at),
    )
    _set_status(entry, task, data.get("status") or "open", at)


def _task_edited(entry: Entry, data: Data, at: str) -> None:
    task = _task_row(entry, data, at)
    changed = data.get("changed") or ()
    if "status" in changed and data.get("status"):
        _set_status(entry, task, data["status"], at)
        task["closed_by"] = data.get("operator") if data["status"] in CLOSED else None
    if "assignee" in changed:
        task["assignee"] = data.get("assignee")
    if "due" in changed:
        task["due"] = data.get("due")
    task["updated_at"] = max(task["updated_at"], at)


def _calendar_event(entry: Entry, data: Data, at: str) -> None:
    calendar = entry["doc"]["calendar"]
    event_id = str(data["calendar_event_id"])
    status = data["type"].split(".", 1)[1]
    row: dict[str, Any] | None = calendar.get(event_id)
    if status == "cancelled":
        if row is not None:
            row.update(status="cancelled", updated_at=at)
        return
    if row is not None and row["status"] == "cancelled" and status == "rescheduled":
        return
    calendar[event_id] = {
        "calendar_event_id": event_id,
        "title": data.get("title") or "",
        "start": data.get("start"),
        "end": data.get("end"),
        "timezone": data.get("timezone") or "UTC",
        "location": data.get("location"),
        "kind": data.get("kind") or (row or {}).get("kind") or "meeting",
        "status": status,
        "updated_at": at,
    }


_FOLDERS: dict[str, Callable[[Entry, Data, str], None]] = {
    "message.received": _message_received,
    "reply.ready": _reply_ready,
    "message.sent": _message_sent,
    "message.blocked": _message_blocked,
    "message.failed": _message_failed,
    "audio.transcribed": _audio_transcribed,
    "audio.transcription_failed": _audio_failed,
    "transcript.expired": _transcript_expired,
    "conversation.read_marked": _read_marked,
    "call.ended": _call_ended,
    "call.failed": _call_failed,
    "intent.detected": _intent_detected,
    "conversation.mode_changed": _mode_changed,
    "contact.opted_out": _opted,
    "contact.opted_in": _opted,
    "task.created": _task_by_analyzer,
    "task.updated": _task_by_analyzer,
    "task.edited": _task_edited,
    "calendar_event.scheduled": _calendar_event,
    "calendar_event.rescheduled": _calendar_event,
    "calendar_event.cancelled": _calendar_event,
}

HANDLED_TYPES = frozenset(_FOLDERS)
