"""What the live stream tells a page: which events, in what shape, for which role. Pure.

An item names what changed (type, contact, ids) and carries the little a list needs to
redraw (a message's text, a status); the page fetches the rest through the API.
"""

from __future__ import annotations

from typing import Any

from services.inbox.accounts import Role

# What every operator sees: the conversations and their work.
AGENT_TYPES = frozenset(
    {
        "message.received",
        "reply.ready",
        "message.sent",
        "message.status",
        "message.failed",
        "message.blocked",
        "audio.transcribed",
        "audio.expired",
        "transcript.expired",
        "call.ended",
        "intent.detected",
        "task.created",
        "task.updated",
        "task.edited",
        "calendar_event.scheduled",
        "calendar_event.rescheduled",
        "calendar_event.cancelled",
        "conversation.mode_changed",
        "conversation.read_marked",
        "contact.opted_out",
        "contact.opted_in",
        "flow.session_started",
        "flow.session_completed",
        "flow.session_abandoned",
        "flow.session_reset",
    }
)
# Failures of the machinery are for admins.
ADMIN_TYPES = AGENT_TYPES | {
    "audio.transcription_failed",
    "call.failed",
    "agent.reply_failed",
    "flow.session_failed",
}

_SHOWN_FIELDS = (
    "contact_name",
    "text",
    "author",
    "operator",
    "status",
    "task_id",
    "title",
    "mode",
    "reply_id",
    "call_id",
    "summary",
    "sentiment",
    "intent",
    "calendar_event_id",
    "flow_id",
)


def visible_types(role: Role) -> frozenset[str]:
    return ADMIN_TYPES if role == "admin" else AGENT_TYPES


def item(data: dict[str, Any]) -> dict[str, Any]:
    """The stream's view of one event (its JSON)."""
    shown = {k: data[k] for k in _SHOWN_FIELDS if data.get(k) is not None}
    return {
        "type": data["type"],
        "contact": data["conversation"],
        "event_id": data["event_id"],
        "occurred_at": data["occurred_at"],
        **shown,
    }
