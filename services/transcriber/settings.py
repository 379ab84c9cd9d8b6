"""Transcriber configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from hilo.settings import (
    FloatList,
    MetaAccessToken,
    OpenAICredentials,
    StrList,
    TwilioCredentials,
)
from services.transcriber.retention import RetentionPolicy

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
    # Unset: multilingual Whisper base, assembled from its wheels into HILO_DATA_DIR/models;
    # "tiny.en": the smaller English-only model; else a CTranslate2 model directory or the
    # name of a model already in the local cache.
    transcriber_model: str | None = None
    # Language hints (ISO 639-1, "es" or "es,en"): each note's language is still detected,
    # and the hints decide when the model is unsure (languages.py).
    transcriber_language: str | None = None
    transcriber_beam_size: int = Field(default=5, ge=1)
    transcriber_cpu_threads: int = Field(default=0, ge=0)  # 0: CTranslate2 decides
    transcriber_openai_model: str = "whisper-1"

    transcriber_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    transcriber_max_duration_seconds: float = Field(default=900.0, gt=0)
    # Host patterns media may come from ("*.example.com", "host:port").
    transcriber_media_hosts: StrList = Field(default_factory=lambda: list(DEFAULT_MEDIA_HOSTS))
    # Ingest's own media route, where `hilo simulate whatsapp --audio` notes are served from
    # (`hilo up` sets it): that loopback origin, that path, over plain HTTP and without
    # credentials. Empty (the default) allows no local route.
    transcriber_local_media_url: str = ""
    # Let allow-listed hosts be reached on loopback addresses (local stand-ins in tests).
    # Off by default: media URLs then reach only public addresses (addresses.py).
    transcriber_allow_loopback: bool = False
    # Per network operation (connect, each read) and for a whole download, redirects included.
    transcriber_download_timeout_seconds: float = Field(default=30.0, gt=0)
    transcriber_download_deadline_seconds: float = Field(default=120.0, gt=0)

    # Attempts for transient trouble (network, 5xx) before `audio.transcription_failed`,
    # and the waits between them.
    transcriber_attempts: int = Field(default=4, ge=1)
    transcriber_retry_backoff_seconds: FloatList = Field(default_factory=lambda: [2.0, 10.0, 30.0])

    # Retention (expiry.py): days to keep voice notes' audio files, e.g. 30; unset or empty
    # keeps them forever.
    transcriber_audio_retention_days: int | None = Field(default=None, ge=1)
    # Days to keep transcripts (of voice notes and calls) readable, e.g. 90: older days' keys
    # are destroyed, whole days at a time (UTC). Unset or empty keeps them forever.
    transcriber_transcript_retention_days: int | None = Field(default=None, ge=1)
    # How often the retention job runs (one replica at a time; `hilo retention run` by hand).
    transcriber_retention_interval_seconds: float = Field(default=3600.0, gt=0)

    twilio_api_base: str = "https://api.twilio.com"
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v20.0"
    openai_base_url: str | None = None

    @field_validator(
        "transcriber_audio_retention_days", "transcriber_transcript_retention_days", mode="before"
    )
    @classmethod
    def _empty_is_forever(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            audio_days=self.transcriber_audio_retention_days,
            transcript_days=self.transcriber_transcript_retention_days,
        )

    @property
    def retry_backoff(self) -> tuple[float, ...]:
        return tuple(self.transcriber_retry_backoff_seconds) or (1.0,)
