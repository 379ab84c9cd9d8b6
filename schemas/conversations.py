"""Who answers a conversation."""

from __future__ import annotations

from typing import Literal

from schemas.envelope import Event

Mode = Literal["analyzer", "voice_agent", "human"]


class ConversationModeChanged(Event):
    """From now on, this component answers the contact."""

    type: Literal["conversation.mode_changed"] = "conversation.mode_changed"
    schema_version: int = 1
    mode: Mode
    reason: str
    call_id: str | None = None


class AgentReplyFailed(Event):
    """The voice agent could not answer a message; a fallback answered instead."""

    type: Literal["agent.reply_failed"] = "agent.reply_failed"
    schema_version: int = 1
    reason: str
    message_event_id: str | None = None
    fallback_used: bool = True
