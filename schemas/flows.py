"""Question flows: a WhatsApp interview's life, as facts.

The router reads the start request and the session's end to decide who answers; the
flows service records every step (questions asked, answers recorded or rejected) as
events of its own, added here beside these.
"""

from __future__ import annotations

import uuid
from typing import Literal

from schemas.envelope import Event
from schemas.privacy import Personal

FlowStartSource = Literal["keyword", "api", "call"]


class FlowStartRequested(Event):
    """Someone asked that the contact be taken through a flow (operator API, a call's outcome)."""

    type: Literal["flow.start_requested"] = "flow.start_requested"
    schema_version: int = 1
    flow_id: str
    source: FlowStartSource
    # The operator (API) or the call id (call) that asked.
    requested_by: str | None = None
    # The contact's language when the requester knows it (else the flow's own).
    language: str | None = None


class FlowSessionStarted(Event):
    """The flows service began a session: its questions will follow."""

    type: Literal["flow.session_started"] = "flow.session_started"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    language: str
    source: FlowStartSource


class FlowSessionCompleted(Event):
    """Every question answered and the outside API (if any) satisfied: the flow is done."""

    type: Literal["flow.session_completed"] = "flow.session_completed"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str


class FlowSessionAbandoned(Event):
    """The contact cancelled, or went quiet past the flow's time-out."""

    type: Literal["flow.session_abandoned"] = "flow.session_abandoned"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    # interrupted: a person took the conversation over, the contact opted out or called.
    reason: Literal["cancelled", "timed_out", "switched", "interrupted"]


class FlowSessionReset(Event):
    """An operator reset the contact's session (operator API)."""

    type: Literal["flow.session_reset"] = "flow.session_reset"
    schema_version: int = 1
    session_id: uuid.UUID | None = None
    flow_id: str | None = None
    operator: str | None = None


class FlowSessionFailed(Event):
    """The flow's outside API kept failing: the contact got the apology, a person must look."""

    type: Literal["flow.session_failed"] = "flow.session_failed"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    reason: str


# --- the session's steps (published by the flows service) ---------------------------------

QuestionReason = Literal["first", "next", "again", "back", "restart", "reminder", "continue"]


class FlowQuestionAsked(Event):
    """A question went to the contact (its reply is ``reply_id``); the session waits for it."""

    type: Literal["flow.question_asked"] = "flow.question_asked"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    question_id: str
    question_type: str
    text: Personal[str]
    round: int = 1
    # Counts every question sent in the session (re-asks included): reminders key on it.
    seq: int
    reason: QuestionReason = "next"
    reply_id: uuid.UUID | None = None


class FlowAnswerRecorded(Event):
    """The contact's answer to a question was valid and is kept (``value`` as read)."""

    type: Literal["flow.answer_recorded"] = "flow.answer_recorded"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    question_id: str
    value: Personal[str | int | float | None]
    round: int = 1
    message_event_id: uuid.UUID | None = None


class FlowAnswerRejected(Event):
    """The contact's answer did not fit the question; it is asked again with its hint."""

    type: Literal["flow.answer_rejected"] = "flow.answer_rejected"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    question_id: str
    reason: Personal[str]
    message_event_id: uuid.UUID | None = None


class FlowAnswerWithdrawn(Event):
    """The contact went back one question: its earlier answer no longer counts."""

    type: Literal["flow.answer_withdrawn"] = "flow.answer_withdrawn"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    question_id: str


class FlowSessionRestarted(Event):
    """The contact asked to start over: every answer of the session is dropped."""

    type: Literal["flow.session_restarted"] = "flow.session_restarted"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str


class FlowSwitchOffered(Event):
    """The contact sent another flow's keyword mid-session: asked to switch or continue."""

    type: Literal["flow.switch_offered"] = "flow.switch_offered"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    offered_flow_id: str


class FlowApiAnswered(Event):
    """The flow's outside API answered a round (2xx, valid); what it asked for follows."""

    type: Literal["flow.api_answered"] = "flow.api_answered"
    schema_version: int = 1
    session_id: uuid.UUID
    flow_id: str
    round: int
    status_code: int
    attempts: int
    additional_questions: int = 0
    completes: bool = False
