"""The ElevenLabs Conversational AI WebSocket protocol: frames we send, frames we read.

No I/O here: builders return JSON text, :func:`parse` turns a server frame into
a small typed value, and :class:`AnswerCollector` assembles one agent answer
from the frames that make it up (split responses, corrections, audio-only
turns, interruptions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

CONVERSATION_PATH = "/v1/convai/conversation"
SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"


def websocket_url(api_base: str, agent_id: str) -> str:
    """``https://api.elevenlabs.io`` → ``wss://api.elevenlabs.io/v1/convai/conversation?agent_id=…``."""
    parts = urlsplit(api_base)
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"ELEVENLABS_API_BASE must be http(s), got {parts.scheme!r}")
    path = parts.path.rstrip("/") + CONVERSATION_PATH
    return urlunsplit((scheme, parts.netloc, path, urlencode({"agent_id": agent_id}), ""))


def signed_url_endpoint(api_base: str) -> str:
    return api_base.rstrip("/") + SIGNED_URL_PATH


# --- frames we send ------------------------------------------------------------


def _dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)


def initiation(dynamic_variables: dict[str, str]) -> str:
    # text_only is given where the docs put it and, like the SDK, at the top of the override.
    return _dump(
        {
            "type": "conversation_initiation_client_data",
            "conversation_config_override": {"conversation": {"text_only": True}},
            "dynamic_variables": dynamic_variables,
        }
    )


def user_message(text: str) -> str:
    return _dump({"type": "user_message", "text": text})


def contextual_update(text: str) -> str:
    return _dump({"type": "contextual_update", "text": text})


def pong(event_id: int) -> str:
    return _dump({"type": "pong", "event_id": event_id})


def client_tool_result(tool_call_id: str, result: str, *, is_error: bool = True) -> str:
    return _dump(
        {
            "type": "client_tool_result",
            "tool_call_id": tool_call_id,
            "result": result,
            "is_error": is_error,
        }
    )


# --- frames we read -----------------------------------------------------------


@dataclass(frozen=True)
class InitiationMetadata:
    conversation_id: str | None


@dataclass(frozen=True)
class AgentResponse:
    text: str


@dataclass(frozen=True)
class AgentResponseCorrection:
    original: str
    corrected: str


@dataclass(frozen=True)
class AudioChunk:
    event_id: int | None
    # The characters the chunk speaks, from its alignment (empty when none came).
    text: str


@dataclass(frozen=True)
class Ping:
    event_id: int
    ping_ms: int | None


@dataclass(frozen=True)
class ClientToolCall:
    tool_name: str
    tool_call_id: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Interruption:
    event_id: int | None


@dataclass(frozen=True)
class Other:
    """A frame we have no use for (user_transcript, vad_score, internal_tentative…)."""

    type: str


ServerEvent = (
    InitiationMetadata
    | AgentResponse
    | AgentResponseCorrection
    | AudioChunk
    | Ping
    | ClientToolCall
    | Interruption
    | Other
)


class ProtocolError(ValueError):
    """A frame that is not the JSON object the protocol promises."""


def _section(frame: dict[str, Any], name: str) -> dict[str, Any]:
    value = frame.get(name)
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse(raw: str | bytes) -> ServerEvent:
    try:
        frame = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = str(frame.get("type", ""))
    if kind == "conversation_initiation_metadata":
        meta = _section(frame, "conversation_initiation_metadata_event")
        conversation_id = meta.get("conversation_id")
        return InitiationMetadata(conversation_id if isinstance(conversation_id, str) else None)
    if kind == "agent_response":
        text = _section(frame, "agent_response_event").get("agent_response")
        return AgentResponse(text if isinstance(text, str) else "")
    if kind == "agent_response_correction":
        event = _section(frame, "agent_response_correction_event")
        return AgentResponseCorrection(
            original=str(event.get("original_agent_response") or ""),
            corrected=str(event.get("corrected_agent_response") or ""),
        )
    if kind == "audio":
        event = _section(frame, "audio_event")
        alignment = event.get("alignment") or frame.get("alignment")
        chars = alignment.get("chars") if isinstance(alignment, dict) else None
        text = "".join(c for c in chars if isinstance(c, str)) if isinstance(chars, list) else ""
        return AudioChunk(_int_or_none(event.get("event_id")), text)
    if kind == "ping":
        event = _section(frame, "ping_event")
        event_id = _int_or_none(event.get("event_id"))
        if event_id is None:
            raise ProtocolError("ping without event_id")
        return Ping(event_id, _int_or_none(event.get("ping_ms")))
    if kind == "client_tool_call":
        call = _section(frame, "client_tool_call")
        params = call.get("parameters")
        return ClientToolCall(
            tool_name=str(call.get("tool_name") or ""),
            tool_call_id=str(call.get("tool_call_id") or ""),
            parameters=params if isinstance(params, dict) else {},
        )
    if kind == "interruption":
        return Interruption(_int_or_none(_section(frame, "interruption_event").get("event_id")))
    return Other(kind)


# --- one answer -----------------------------------------------------------------


@dataclass
class AnswerCollector:
    """The agent's answer to one user turn, as its frames arrive.

    ``agent_response`` frames are the text of record; a correction replaces the
    part it corrects (the agent was cut off). Audio alignment characters are
    kept only as a fallback for a turn that came with audio and no text.
    """

    parts: list[str] = field(default_factory=list)
    audio_text: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def started(self) -> bool:
        return bool(self.parts) or any(t.strip() for t in self.audio_text)

    def feed(self, event: ServerEvent) -> bool:
        """Take a frame; True when it belongs to the answer (so the quiet gap restarts)."""
        if isinstance(event, AgentResponse):
            if event.text.strip():
                self.parts.append(event.text.strip())
            return True
        if isinstance(event, AgentResponseCorrection):
            self._correct(event)
            return True
        if isinstance(event, AudioChunk):
            self.audio_text.append(event.text)
            return True
        if isinstance(event, Interruption):
            self.interrupted = True
            return True
        return False

    def _correct(self, event: AgentResponseCorrection) -> None:
        corrected = event.corrected.strip()
        original = event.original.strip()
        for index in range(len(self.parts) - 1, -1, -1):
            if self.parts[index] == original:
                self._replace(index, corrected)
                return
        if self.parts and not original:
            self._replace(len(self.parts) - 1, corrected)
        elif corrected:
            # The correction names a part we never saw: its text is still the agent's answer.
            self.parts.append(corrected)

    def _replace(self, index: int, text: str) -> None:
        if text:
            self.parts[index] = text
        else:
            del self.parts[index]

    def text(self) -> str:
        if self.parts:
            return " ".join(self.parts)
        return " ".join("".join(self.audio_text).split())
