"""Question-flow sessions, one row each, folded from the flow events (pure, no I/O).

The state is plain JSON per session, keyed by session id; a contact's sessions are loaded
together, because an operator's reset may name only the contact (its active session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hilo.projections.conversation import canonical_instant

Row = dict[str, Any]
Rows = dict[str, Row]  # session id → row
Data = dict[str, Any]

ENDED = {
    "flow.session_completed": "completed",
    "flow.session_abandoned": "abandoned",
    "flow.session_failed": "failed",
    "flow.session_reset": "reset",
}


def new_row(contact: str, session_id: str, flow_id: str, at: str) -> Row:
    return {
        "session_id": session_id,
        "contact": contact,
        "flow_id": flow_id,
        "state": "active",
        "language": None,
        "round": 1,
        "current_question": None,
        "answers": {},
        "started_at": at,
        "updated_at": at,
        "ended_at": None,
        "failure_reason": None,
        "source": None,
        "end_reason": None,
        "questions_asked": 0,
    }


def apply(rows: Rows, data: Data) -> None:
    """Fold one stored flow event (its JSON) into the contact's sessions."""
    folder = _FOLDERS.get(data["type"])
    if folder is None:
        return
    data["occurred_at"] = canonical_instant(data["occurred_at"])
    session_id = data.get("session_id")
    if session_id is None:  # a reset naming only the contact: its active session
        session_id = next(
            (
                key
                for key, row in rows.items()
                if row["contact"] == data["conversation"] and row["state"] == "active"
            ),
            None,
        )
        if session_id is None:
            return
    row = rows.get(session_id)
    if row is None:
        row = rows[session_id] = new_row(
            data["conversation"], session_id, data.get("flow_id") or "", data["occurred_at"]
        )
    folder(row, data)
    row["updated_at"] = max(row["updated_at"], data["occurred_at"])


def _started(row: Row, data: Data) -> None:
    row.update(
        flow_id=data["flow_id"],
        language=data.get("language"),
        source=data.get("source"),
        started_at=data["occurred_at"],
    )


def _asked(row: Row, data: Data) -> None:
    row["current_question"] = data["question_id"]
    row["round"] = data.get("round", row["round"])
    row["questions_asked"] += 1


def _recorded(row: Row, data: Data) -> None:
    row["answers"][data["question_id"]] = data.get("value")
    row["current_question"] = None


def _withdrawn(row: Row, data: Data) -> None:
    row["answers"].pop(data["question_id"], None)


def _restarted(row: Row, data: Data) -> None:
    row["answers"] = {}
    row["round"] = 1


def _api_answered(row: Row, data: Data) -> None:
    row["round"] = data.get("round", row["round"])


def _ended(row: Row, data: Data) -> None:
    if row["state"] != "active":
        return  # the first end counts (a late reset after completion changes nothing)
    row["state"] = ENDED[data["type"]]
    row["ended_at"] = data["occurred_at"]
    row["current_question"] = None
    if data["type"] == "flow.session_failed":
        row["failure_reason"] = data.get("reason")
    elif data["type"] == "flow.session_abandoned":
        row["end_reason"] = data.get("reason")
    elif data["type"] == "flow.session_reset":
        row["end_reason"] = data.get("operator")


_FOLDERS: dict[str, Callable[[Row, Data], None]] = {
    "flow.session_started": _started,
    "flow.question_asked": _asked,
    "flow.answer_recorded": _recorded,
    "flow.answer_withdrawn": _withdrawn,
    "flow.session_restarted": _restarted,
    "flow.api_answered": _api_answered,
    **dict.fromkeys(ENDED, _ended),
}

HANDLED_TYPES = frozenset(_FOLDERS)
