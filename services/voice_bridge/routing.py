"""Who answers an inbound message, decided from the conversation's mode. Pure."""

from __future__ import annotations

import re

# The whole message, and nothing else, asks the agent to stop (the notifier handles opt-out).
STOP_WORDS = frozenset({"stop", "baja", "parar", "unsubscribe"})


def is_stop_request(text: str) -> bool:
    return re.sub(r"[^\w]+", " ", text.lower()).strip() in STOP_WORDS


def agent_answers(mode: str | None) -> bool:
    """The bridge answers only conversations the voice agent holds (analyzer is the default)."""
    return mode == "voice_agent"
