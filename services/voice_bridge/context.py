"""What the agent is told about a conversation when its socket opens. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.voice_bridge.opener import CallContext

MAX_MESSAGE_CHARS = 600


@dataclass(frozen=True)
class ChatLine:
    """One WhatsApp message of the conversation, as the bridge saw it."""

    role: str  # "customer" or "agent"
    text: str


def dynamic_variables(call: CallContext | None, conversation: str) -> dict[str, str]:
    """Values for the agent's ``{{placeholders}}``; ElevenLabs wants strings, never null."""
    if call is None:
        return {"channel": "whatsapp", "customer_phone": conversation}
    return {
        "channel": "whatsapp",
        "customer_phone": conversation,
        "customer_name": call.contact_name or "",
        "call_id": call.call_id,
        "call_summary": call.summary or "",
        "pending_items": "; ".join(call.pending),
        "next_steps": "; ".join(call.next_steps),
        "topics": "; ".join(call.topics),
        "language": call.language,
    }


def conversation_so_far(call: CallContext | None, recent: Sequence[ChatLine]) -> str:
    """The ``contextual_update`` text: the call, then the recent WhatsApp messages."""
    lines = ["The conversation continues on WhatsApp (text only, keep answers short)."]
    if call is not None:
        if call.contact_name:
            lines.append(f"Customer: {call.contact_name}.")
        if call.summary:
            lines.append(f"Summary of the phone call: {call.summary}")
        if call.pending:
            lines.append("Pending: " + "; ".join(call.pending))
        if call.next_steps:
            lines.append("Next steps: " + "; ".join(call.next_steps))
        lines.append(f"Language: {'Spanish' if call.language != 'en' else 'English'}.")
    if recent:
        lines.append("Recent WhatsApp messages:")
        for line in recent:
            who = "Customer" if line.role == "customer" else "Agent"
            lines.append(f"{who}: {line.text[:MAX_MESSAGE_CHARS]}")
    return "\n".join(lines)
