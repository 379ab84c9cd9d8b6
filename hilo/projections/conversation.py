"""The unified conversation of one contact, folded from events (pure, no I/O).

Every channel meets here: WhatsApp messages in and out with their delivery
status, voice notes with their transcripts, calls with transcript and
summary, what the analyzer detected, the calendar events and tasks agreed,
opt-outs and who answers the conversation. The document is plain JSON so the
same fold serves the live projector and a rebuild at full speed.

Statuses may arrive in any order (a ``delivered`` before its ``sent``, a
status before the send was recorded); the furthest status wins, so the final
state does not depend on arrival order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Doc = dict[str, Any]
Data = dict[str, Any]

STATUS_RANK = {
    "pending": 0,
    "accepted": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "read": 6,
    "blocked": 7,
    "undelivered": 7,
    "failed": 7,
}


def new_document(conversation: str) -> Doc:
    return {
        "conversation": conversation,
        "contact_name": None,
        "provider": None,
        "business_number": None,
        "channels": [],
        "mode": "analyzer",
        "opted_out": False,
        "last_inbound_at": None,
        "last_activity_at": None,
        "message_count": 0,
        "latest_analysis": None,
        "items": {},
        "provider_message_ids": {},
    }


def canonical_instant(value: str) -> str:
    """One spelling per instant (UTC, microseconds), so instants sort as strings."""
    # Events we publish are already in UTC ("…Z"); skip parsing them (it dominates rebuilds).
    if value.endswith("Z") and value[10:11] == "T":
        if len(value) == 27 and value[19:20] == ".":
            return value
        if len(value) == 20:
            return value[:-1] + ".000000Z"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def apply(doc: Doc, data: Data, position: int) -> None:
    """Fold one stored event (its JSON) into the conversation document.

    ``data`` is the caller's freshly decoded event: its ``occurred_at`` is rewritten in place
    to the canonical spelling (copying every event's dict measured as a share of a rebuild).
    """
    folder = _FOLDERS.get(data["type"])
    if folder is None:
        return
    at = data["occurred_at"] = canonical_instant(data["occurred_at"])
    folder(doc, data, position)
    last = doc["last_activity_at"]
    if last is None or at > last:
        doc["last_activity_at"] = at


def timeline(doc: Doc) -> list[dict[str, Any]]:
    """The items of a conversation in time order (ties broken by store position)."""
    return sorted(doc["items"].values(), key=lambda item: (item["at"], item["position"]))


def _item(doc: Doc, key: str, kind: str, data: Data, position: int) -> dict[str, Any]:
    item: dict[str, Any] | None = doc["items"].get(key)
    if item is None:
        item = {"key": key, "kind": kind, "at": data["occurred_at"], "position": position}
        doc["items"][key] = item
    return item


def _channel(doc: Doc, channel: str) -> None:
    if channel not in doc["channels"]:
        doc["channels"].append(channel)


def _raise_status(item: dict[str, Any], status: str, at: str | None) -> None:
    current = item.get("status", "pending")
    if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(current, 0):
        item["status"] = status
        if at:
            item["status_at"] = at
    history = item.setdefault("status_history", [])
    if status not in [h["status"] for h in history]:
        history.append({"status": status, "at": at})


def _message_received(doc: Doc, data: Data, position: int) -> None:
    # The hot path of a rebuild (most events are messages): one lookup per field, and a new
    # item built whole rather than created and then updated.
    get = data.get
    provider = get("provider")
    kind = get("kind")
    media = get("media", [])
    at = data["occurred_at"]
    key = f"message:{data['event_id']}"
    items = doc["items"]
    item: dict[str, Any] | None = items.get(key)
    if item is None:
        item = items[key] = {"key": key, "kind": "message", "at": at, "position": position}
    item["direction"] = "inbound"
    item["channel"] = "whatsapp"
    item["provider"] = provider
    item["provider_message_id"] = get("provider_message_id")
    item["message_kind"] = kind
    item["text"] = get("text")
    item["media"] = media
    item["location"] = get("location")
    item["reply_title"] = get("reply_title")
    item["reaction_emoji"] = get("reaction_emoji")
    if kind == "audio" or (
        media and any(str(m.get("content_type") or "").startswith("audio/") for m in media)
    ):
        item.setdefault("transcript", {"status": "pending"})
    if "whatsapp" not in doc["channels"]:
        doc["channels"].append("whatsapp")
    doc["message_count"] += 1
    if provider:
        doc["provider"] = provider
    business_number = get("business_number")
    if business_number:
        doc["business_number"] = business_number
    contact_name = get("contact_name")
    if contact_name:
        doc["contact_name"] = contact_name
    last = doc["last_inbound_at"]
    if last is None or at > last:
        doc["last_inbound_at"] = at


def _audio_transcribed(doc: Doc, data: Data, position: int) -> None:
    item = _item(doc, f"message:{data['message_event_id']}", "message", data, position)
    if (item.get("transcript") or {}).get("status") == "expired":
        return  # let go already: a late copy of the transcript does not bring it back
    item["transcript"] = {
        "status": "completed",
        "text": data.get("text"),
        "language": data.get("language"),
        "duration_seconds": data.get("duration_seconds"),
        "backend": data.get("backend"),
        "model": data.get("model"),
    }


def _audio_failed(doc: Doc, data: Data, position: int) -> None:
    item = _item(doc, f"message:{data['message_event_id']}", "message", data, position)
    transcript = item.get("transcript") or {}
    if transcript.get("status") not in ("completed", "expired"):
        item["transcript"] = {
            "status": "failed",
            "reason": data.get("reason"),
            "detail": data.get("detail"),
            "attempts": data.get("attempts"),
        }


def _expired_item(doc: Doc, data: Data, position: int) -> dict[str, Any]:
    """The voice note or call whose audio or transcript the retention job let go."""
    if data.get("message_event_id"):
        return _item(doc, f"message:{data['message_event_id']}", "message", data, position)
    return _call_item(doc, data, position)


def _expiry(data: Data) -> dict[str, Any]:
    return {
        "status": "expired",
        "retention_days": data.get("retention_days"),
        "at": data["occurred_at"],
    }


def _transcript_expired(doc: Doc, data: Data, position: int) -> None:
    """The text goes; what is left says when and after how many days (retention)."""
    item = _expired_item(doc, data, position)
    item["transcript"] = _expiry(data)


def _audio_expired(doc: Doc, data: Data, position: int) -> None:
    """The player shows the audio is gone, and the page no longer offers to fetch it."""
    item = _expired_item(doc, data, position)
    item["audio_expired"] = _expiry(data)
    if "audio" in item:
        item["audio"] = {"status": "expired"}


def _reply_item(doc: Doc, data: Data, position: int) -> dict[str, Any]:
    item = _item(doc, f"reply:{data['reply_id']}", "message", data, position)
    item.setdefault("direction", "outbound")
    item.setdefault("channel", "whatsapp")
    item.setdefault("status", "pending")
    return item


def _reply_ready(doc: Doc, data: Data, position: int) -> None:
    item = _reply_item(doc, data, position)
    item.update(author=data.get("author"), text=data.get("text"), media_url=data.get("media_url"))
    if data.get("operator"):
        item["operator"] = data["operator"]  # who answered, when a person did
    # A reply is placed in time where it was decided, even if its send came first.
    item["at"] = min(item["at"], data["occurred_at"])
    # A voice note that could not be heard shows the reply that asked to write it.
    for message_id in data.get("in_reply_to") or ():
        note = doc["items"].get(f"message:{message_id}")
        transcript = (note or {}).get("transcript") or {}
        if transcript.get("status") == "failed":
            transcript["answered_by"] = data["reply_id"]


def _message_sent(doc: Doc, data: Data, position: int) -> None:
    item = _reply_item(doc, data, position)
    pmid = data["provider_message_id"]
    item.update(provider=data.get("provider"), provider_message_id=pmid)
    item.setdefault("text", data.get("text"))
    if data.get("via_template"):
        item["via_template"] = data["via_template"]
    _raise_status(item, "sent", data.get("sent_at"))
    doc["provider_message_ids"][pmid] = item["key"]
    # Statuses that came before the send was recorded were parked under the id.
    early = doc["items"].pop(f"status:{pmid}", None)
    if early:
        for entry in early.get("status_history", []):
            _raise_status(item, entry["status"], entry.get("at"))
        for field in ("error_code", "error_message"):
            if early.get(field):
                item[field] = early[field]


def _message_failed(doc: Doc, data: Data, position: int) -> None:
    item = _reply_item(doc, data, position)
    item.update(error_code=data.get("error_code"), error_message=data.get("reason"))
    _raise_status(item, "failed", data.get("occurred_at"))


def _message_blocked(doc: Doc, data: Data, position: int) -> None:
    item = _reply_item(doc, data, position)
    item["blocked_reason"] = data.get("reason")
    _raise_status(item, "blocked", data.get("occurred_at"))


def _message_status(doc: Doc, data: Data, position: int) -> None:
    pmid = data["provider_message_id"]
    key = doc["provider_message_ids"].get(pmid, f"status:{pmid}")
    item = doc["items"].get(key) or _item(doc, key, "status", data, position)
    _raise_status(item, data["status"], data.get("status_at") or data.get("occurred_at"))
    if data.get("error_code"):
        item["error_code"] = data["error_code"]
        item["error_message"] = data.get("error_message")


def _call_item(doc: Doc, data: Data, position: int) -> dict[str, Any]:
    _channel(doc, "voice")
    return _item(doc, f"call:{data['call_id']}", "call", data, position)


def _call_ended(doc: Doc, data: Data, position: int) -> None:
    item = _call_item(doc, data, position)
    # A call's transcript is its turns; a dict in its place says it expired, and stays so.
    expired = item.get("transcript") if isinstance(item.get("transcript"), dict) else None
    item.update(
        status="completed",
        direction=data.get("direction"),
        started_at=data.get("started_at"),
        duration_seconds=data.get("duration_seconds"),
        summary=data.get("summary"),
        transcript=data.get("transcript", []),
        data_collection=data.get("data_collection", {}),
        agent_id=data.get("agent_id"),
    )
    if expired is not None:
        item["transcript"] = expired


def _call_failed(doc: Doc, data: Data, position: int) -> None:
    item = _call_item(doc, data, position)
    if item.get("status") != "completed":
        item.update(status="failed", reason=data.get("reason"))


def _call_audio(doc: Doc, data: Data, position: int) -> None:
    item = _call_item(doc, data, position)
    if "audio_expired" not in item:
        item["audio"] = {"sha256": data.get("audio_sha256"), "path": data.get("audio_path")}


def _intent_detected(doc: Doc, data: Data, position: int) -> None:
    analysis = {
        "intent": data.get("intent"),
        "sentiment": data.get("sentiment"),
        "language": data.get("language"),
        "summary": data.get("summary"),
        "entities": data.get("entities", []),
        "backend": data.get("backend"),
    }
    doc["latest_analysis"] = analysis
    _item(doc, f"intent:{data['event_id']}", "intent", data, position).update(analysis)


def _calendar_event(doc: Doc, data: Data, position: int) -> None:
    item = _item(
        doc, f"calendar_event:{data['calendar_event_id']}", "calendar_event", data, position
    )
    status = data["type"].split(".", 1)[1]
    if status == "cancelled":
        item.update(status="cancelled", cancel_reason=data.get("reason"))
        return
    if item.get("status") == "cancelled" and status == "rescheduled":
        return
    item.update(
        status=status,
        title=data.get("title"),
        start=data.get("start"),
        end=data.get("end"),
        timezone=data.get("timezone"),
        location=data.get("location"),
        attendees=data.get("attendees", []),
    )


def _task(doc: Doc, data: Data, position: int) -> None:
    item = _item(doc, f"task:{data['task_id']}", "task", data, position)
    item.update(
        title=data.get("title"),
        task_type=data.get("task_type"),
        priority=data.get("priority"),
        due=data.get("due"),
        status=data.get("status", "open"),
    )


def _opted(doc: Doc, data: Data, position: int) -> None:
    out = data["type"] == "contact.opted_out"
    doc["opted_out"] = out
    _item(doc, f"opt:{data['event_id']}", "opt_out" if out else "opt_in", data, position)[
        "keyword"
    ] = data.get("keyword")


def _mode_changed(doc: Doc, data: Data, position: int) -> None:
    doc["mode"] = data["mode"]
    _item(doc, f"mode:{data['event_id']}", "mode_changed", data, position).update(
        mode=data["mode"], reason=data.get("reason")
    )


def _message_routed(doc: Doc, data: Data, position: int) -> None:
    # Who was to answer this message (the router's decision): the analyzer, a person…
    item = _item(doc, f"message:{data['message_event_id']}", "message", data, position)
    item["answerer"] = data.get("answerer")
    if data.get("operator"):
        item["answerer_operator"] = data["operator"]


def _marked_read(doc: Doc, data: Data, position: int) -> None:
    for item in doc["items"].values():
        if item.get("provider_message_id") == data.get("provider_message_id"):
            item["read_by_business"] = True


# --- question flows: the questions and answers as such, and the session's life -------------


def _flow_question(doc: Doc, data: Data, position: int) -> None:
    """The reply that asked the question is marked as the flow's question."""
    if data.get("reply_id"):
        item = _reply_item(doc, {**data, "reply_id": data["reply_id"]}, position)
        item["flow"] = {
            "session_id": data["session_id"],
            "flow_id": data["flow_id"],
            "question_id": data["question_id"],
            "question_type": data.get("question_type"),
            "question": data.get("text"),
            "reason": data.get("reason"),
        }


def _flow_answer(doc: Doc, data: Data, position: int) -> None:
    """The inbound message that answered is marked with what the flow read from it."""
    if not data.get("message_event_id"):
        return
    item = _item(doc, f"message:{data['message_event_id']}", "message", data, position)
    answer = {"session_id": data["session_id"], "flow_id": data["flow_id"]}
    answer["question_id"] = data["question_id"]
    if data["type"] == "flow.answer_recorded":
        answer.update(accepted=True, value=data.get("value"))
    else:
        answer.update(accepted=False, reason=data.get("reason"))
    item["flow_answer"] = answer


_FLOW_STATES = {
    "flow.session_started": "active",
    "flow.session_completed": "completed",
    "flow.session_abandoned": "abandoned",
    "flow.session_failed": "failed",
    "flow.session_reset": "reset",
}


def _flow_session(doc: Doc, data: Data, position: int) -> None:
    session_id = data.get("session_id")
    if session_id is None:
        session_id = (doc.get("flow") or {}).get("session_id")
        if session_id is None:
            return
    state = _FLOW_STATES[data["type"]]
    key = f"flow:{session_id}:{state}"
    item = _item(doc, key, "flow", data, position)
    item.update(
        session_id=session_id,
        flow_id=data.get("flow_id"),
        state=state,
        reason=data.get("reason"),
    )
    if state == "active":
        doc["flow"] = {"session_id": session_id, "flow_id": data.get("flow_id"), "state": state}
    elif (doc.get("flow") or {}).get("session_id") == session_id:
        doc["flow"] = {**doc["flow"], "state": state}


_FOLDERS: dict[str, Callable[[Doc, Data, int], None]] = {
    "message.received": _message_received,
    "audio.transcribed": _audio_transcribed,
    "audio.transcription_failed": _audio_failed,
    "reply.ready": _reply_ready,
    "message.sent": _message_sent,
    "message.failed": _message_failed,
    "message.blocked": _message_blocked,
    "message.status": _message_status,
    "message.marked_read": _marked_read,
    "message.routed": _message_routed,
    "call.ended": _call_ended,
    "call.failed": _call_failed,
    "call.audio_recorded": _call_audio,
    "audio.expired": _audio_expired,
    "transcript.expired": _transcript_expired,
    "intent.detected": _intent_detected,
    "calendar_event.scheduled": _calendar_event,
    "calendar_event.rescheduled": _calendar_event,
    "calendar_event.cancelled": _calendar_event,
    "task.created": _task,
    "task.updated": _task,
    "contact.opted_out": _opted,
    "contact.opted_in": _opted,
    "conversation.mode_changed": _mode_changed,
    "flow.question_asked": _flow_question,
    "flow.answer_recorded": _flow_answer,
    "flow.answer_rejected": _flow_answer,
    **dict.fromkeys(_FLOW_STATES, _flow_session),
}

HANDLED_TYPES = frozenset(_FOLDERS)
