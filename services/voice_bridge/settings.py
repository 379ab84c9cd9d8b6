"""Voice bridge configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hilo.settings import ElevenLabsApiKey, StrList

DEFAULT_FALLBACK_ES = (
    "Gracias por tu mensaje. En este momento no puedo responder; "
    "te contestamos muy pronto por aquí."
)
DEFAULT_FALLBACK_EN = (
    "Thanks for your message. I can't answer right now; we'll get back to you here very soon."
)


class VoiceBridgeSettings(ElevenLabsApiKey):
    """Field names are the environment names (case-insensitive), so ELEVENLABS_* are shared."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    elevenlabs_api_base: str = "https://api.elevenlabs.io"
    elevenlabs_agent_id: str | None = None

    # A conversation's socket closes after this long without messages; it reopens on demand.
    voice_bridge_idle_seconds: float = Field(default=1800.0, gt=0)
    # How long the agent may take to start answering, and the silence that ends an answer.
    voice_bridge_reply_timeout_seconds: float = Field(default=20.0, gt=0)
    voice_bridge_quiet_seconds: float = Field(default=0.8, gt=0)
    voice_bridge_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # Recent WhatsApp messages given to the agent as context when a socket opens.
    voice_bridge_context_messages: int = Field(default=12, ge=0)
    voice_bridge_default_language: str = "es"
    # With no pending questions or next steps from data collection, the opener waits this
    # long for the analyzer's reading of the call (call.analyzed); 0 sends it at once.
    voice_bridge_analysis_wait_seconds: float = Field(default=20.0, ge=0)

    voice_bridge_fallback_text_es: str = DEFAULT_FALLBACK_ES
    voice_bridge_fallback_text_en: str = DEFAULT_FALLBACK_EN
    # Sent after a failed call (busy, no answer); empty means send nothing.
    voice_bridge_failed_call_text_es: str = ""
    voice_bridge_failed_call_text_en: str = ""

    # Batch calls to watch for finished calls whose webhook never arrived.
    voice_bridge_batch_ids: StrList = Field(default_factory=list)
    voice_bridge_batch_poll_seconds: float = Field(default=60.0, gt=0)

    @property
    def batch_ids(self) -> tuple[str, ...]:
        return tuple(self.voice_bridge_batch_ids)

    def fallback_text(self, language: str) -> str:
        return (
            self.voice_bridge_fallback_text_en
            if language == "en"
            else self.voice_bridge_fallback_text_es
        )

    def failed_call_text(self, language: str) -> str | None:
        text = (
            self.voice_bridge_failed_call_text_en
            if language == "en"
            else self.voice_bridge_failed_call_text_es
        )
        return text.strip() or None
