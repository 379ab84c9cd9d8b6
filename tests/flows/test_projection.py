"""The flow events folded: the sessions' read model and the unified conversation (pure)."""

from __future__ import annotations

import uuid
from typing import Any

from hilo.projections import conversation, flow_sessions

CONTACT = "+34600111222"
SESSION = str(uuid.uuid4())


def event(event_type: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "conversation": CONTACT,
        **fields,
    }


def test_a_session_row_follows_its_events_and_a_reset_by_contact() -> None:
    rows: flow_sessions.Rows = {}
    common = {"session_id": SESSION, "flow_id": "alta"}
    for data in [
        event("flow.session_started", "2026-12-01T10:00:00Z", language="es", source="keyword",
              **common),
        event("flow.question_asked", "2026-12-01T10:00:01Z", question_id="name", round=1,
              **common),
        event("flow.answer_recorded", "2026-12-01T10:00:05Z", question_id="name", value="Ana",
              **common),
        event("flow.question_asked", "2026-12-01T10:00:06Z", question_id="email", round=1,
              **common),
        event("flow.session_reset", "2026-12-01T10:01:00Z", operator="ops@example.com"),
        event("flow.session_completed", "2026-12-01T10:02:00Z", **common),
    ]:  # fmt: skip
        flow_sessions.apply(rows, data)
    row = rows[SESSION]
    assert row["state"] == "reset" and row["answers"] == {"name": "Ana"}
    assert row["current_question"] is None and row["questions_asked"] == 2
    assert row["ended_at"] == "2026-12-01T10:01:00.000000Z"
    assert row["end_reason"] == "ops@example.com"


def test_the_conversation_marks_questions_and_answers() -> None:
    doc = conversation.new_document(CONTACT)
    reply_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    common = {"session_id": SESSION, "flow_id": "alta"}
    for position, data in enumerate(
        [
            event("flow.session_started", "2026-12-01T10:00:00Z", language="es", **common),
            event("reply.ready", "2026-12-01T10:00:01Z", reply_id=reply_id, author="flow",
                  text="¿Cómo te llamas?"),
            event("flow.question_asked", "2026-12-01T10:00:01Z", question_id="name",
                  reply_id=reply_id, text="¿Cómo te llamas?", **common),
            {**event("message.received", "2026-12-01T10:00:05Z", provider="twilio",
                     provider_message_id="SM1", kind="text", text="Ana"), "event_id": message_id},
            event("flow.answer_recorded", "2026-12-01T10:00:05Z", question_id="name",
                  value="Ana", message_event_id=message_id, **common),
        ],
        start=1,
    ):  # fmt: skip
        conversation.apply(doc, data, position)
    asked = doc["items"][f"reply:{reply_id}"]
    assert asked["flow"]["question_id"] == "name" and asked["author"] == "flow"
    answered = doc["items"][f"message:{message_id}"]
    assert answered["flow_answer"] == {
        "session_id": SESSION,
        "flow_id": "alta",
        "question_id": "name",
        "accepted": True,
        "value": "Ana",
    }
    assert doc["flow"] == {"session_id": SESSION, "flow_id": "alta", "state": "active"}
