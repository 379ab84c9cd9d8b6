"""Question flows: a WhatsApp interview's life, as facts.

The router reads the start request and the session's end to decide who answers; the
flows service records every step (questions asked, answers recorded or rejected) as
events of its own, added here beside these.
"""

from __future__ import annotations

import uuid
from typing import Literal

from schemas.envelope import Event

FlowStartSource = Literal["keyword", "api", "call"]


class FlowStartRequested(Event):
    """Someone asked that the contact be taken through a flow (operator API, a call's outcome)."""

    type: Literal["flow.start_requested"] = "flow.start_requested"
    schema_version: int = 1
    flow_id: str
    source: FlowStartSource
    # The operator (API) or the call id (call) that asked.
    requested_by: str | None = None


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
    reason: Literal["cancelled", "timed_out", "switched"]


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
