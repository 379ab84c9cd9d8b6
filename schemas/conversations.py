"""Who answers a conversation: the router's decisions and the requests it decides on.

Exactly one component answers each inbound message. The router (``services/router``)
is the only publisher of :class:`ConversationModeChanged` and :class:`MessageRouted`;
everyone else asks (a takeover, a handback) or states a fact (a call ended, a flow
ended) and the router decides. A decision is keyed by what caused it, so a replay
re-reads it instead of deciding again.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime

from schemas.envelope import Event
from schemas.privacy import Personal
from schemas.registry import JsonObject

# Who answers: the analyzer's automatic replies, the ElevenLabs agent after a call,
# a question flow, a person, or nobody (the contact opted out).
Mode = Literal["analyzer", "voice_agent", "flow", "human", "nobody"]


class ConversationModeChanged(Event):
    """From now on, this component answers the contact (decided by the router)."""

    type: Literal["conversation.mode_changed"] = "conversation.mode_changed"
    schema_version: int = 2
    mode: Mode
    # Why: call_ended, flow_keyword, flow_requested, flow_ended, taken_over, handed_back,
    # opted_out, opted_in, expired, customer_stop.
    reason: str
    previous_mode: Mode | None = None
    call_id: str | None = None
    flow_id: str | None = None
    # The operator (their account id or e-mail) who holds the conversation, in mode human.
    operator: str | None = None
    # When the mode falls back to automatic answering if nothing happens (None: never).
    expires_at: AwareDatetime | None = None

    @staticmethod
    def upcast_v1_v2(data: JsonObject) -> JsonObject:
        """Version 1 was published by the voice bridge and knew three modes; nothing to map."""
        return data


class MessageRouted(Event):
    """The router decided who answers one inbound message; never decided again."""

    type: Literal["message.routed"] = "message.routed"
    schema_version: int = 1
    message_event_id: uuid.UUID
    answerer: Mode
    # What decided it: "mode" (the conversation's mode), "flow_keyword", "opt_out_keyword"...
    reason: str = "mode"
    # The mode change this decision read (None: the default, automatic answering).
    mode_event_id: uuid.UUID | None = None
    call_id: str | None = None
    flow_id: str | None = None
    operator: str | None = None


class ConversationTakeoverRequested(Event):
    """A person asked to answer the conversation from now on (operator API)."""

    type: Literal["conversation.takeover_requested"] = "conversation.takeover_requested"
    schema_version: int = 1
    operator: str
    note: Personal[str | None] = None


class ConversationHandbackRequested(Event):
    """A person gave the conversation back to automatic answering (operator API)."""

    type: Literal["conversation.handback_requested"] = "conversation.handback_requested"
    schema_version: int = 1
    operator: str


class AgentReplyFailed(Event):
    """The voice agent could not answer a message; a fallback answered instead."""

    type: Literal["agent.reply_failed"] = "agent.reply_failed"
    schema_version: int = 1
    reason: str
    message_event_id: str | None = None
    fallback_used: bool = True
