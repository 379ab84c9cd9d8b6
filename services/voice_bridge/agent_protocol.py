"""The ElevenLabs Conversational AI WebSocket protocol: frames we send, frames we read.

No I/O here: builders return JSON text, :func:`parse` reads a server frame into
a small typed pydantic model, and :class:`AnswerCollector` assembles one agent answer
from the frames that make it up (split responses, corrections, audio-only
turns, interruptions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
)

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
# Each frame type is a pydantic model that reads its fields straight from where the
# protocol nests them (``AliasPath``); a frame of a type we do not use becomes ``Other``.


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class InitiationMetadata(_Frame):
    conversation_id: str | None = Field(
        default=None,
        validation_alias=AliasPath("conversation_initiation_metadata_event", "conversation_id"),
    )


class AgentResponse(_Frame):
    text: str = Field(
        default="", validation_alias=AliasPath("agent_response_event", "agent_response")
    )


class AgentResponseCorrection(_Frame):
    original: str = Field(
        default="",
        validation_alias=AliasPath("agent_response_correction_event", "original_agent_response"),
    )
    corrected: str = Field(
        default="",
        validation_alias=AliasPath("agent_response_correction_event", "corrected_agent_response"),
    )


class AudioChunk(_Frame):
    event_id: StrictInt | None = Field(
        default=None, validation_alias=AliasPath("audio_event", "event_id")
    )
    # The characters the chunk speaks, from its alignment (in the event, or beside it).
    chars: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            AliasPath("audio_event", "alignment", "chars"), AliasPath("alignment", "chars")
        ),
    )

    @property
    def text(self) -> str:
        return "".join(self.chars)


class Ping(_Frame):
    event_id: StrictInt = Field(validation_alias=AliasPath("ping_event", "event_id"))
    ping_ms: StrictInt | None = Field(
        default=None, validation_alias=AliasPath("ping_event", "ping_ms")
    )


class ClientToolCall(_Frame):
    tool_name: str = Field(default="", validation_alias=AliasPath("client_tool_call", "tool_name"))
    tool_call_id: str = Field(
        default="", validation_alias=AliasPath("client_tool_call", "tool_call_id")
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasPath("client_tool_call", "parameters")
    )


class Interruption(_Frame):
    event_id: StrictInt | None = Field(
        default=None, validation_alias=AliasPath("interruption_event", "event_id")
    )


class Other(_Frame):
    """A frame we have no use for (user_transcript, vad_score, internal_tentative…)."""

    type: str = ""


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

_FRAMES: dict[str, type[ServerEvent]] = {
    "conversation_initiation_metadata": InitiationMetadata,
    "agent_response": AgentResponse,
    "agent_response_correction": AgentResponseCorrection,
    "audio": AudioChunk,
    "ping": Ping,
    "client_tool_call": ClientToolCall,
    "interruption": Interruption,
}


class ProtocolError(ValueError):
    """A frame that is not the JSON object the protocol promises."""


def parse(raw: str | bytes) -> ServerEvent:
    try:
        frame = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = str(frame.get("type", ""))
    model = _FRAMES.get(kind)
    if model is None:
        return Other(type=kind)
    try:
        return model.model_validate(frame)
    except ValidationError as exc:
        # The reason names the fields, never their values (they may be the customer's words).
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise ProtocolError(f"{kind} frame with unreadable {fields}") from None


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
