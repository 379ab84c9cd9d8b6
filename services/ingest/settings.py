"""Ingest configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hilo.settings import ElevenLabsWebhookSecret, MetaWebhookSecrets, TwilioCredentials, reveal

MIB = 1024 * 1024


class IngestSettings(TwilioCredentials, MetaWebhookSecrets, ElevenLabsWebhookSecret):
    """Field names are the environment names (case-insensitive), so provider settings are shared.

    An unset or empty secret is no secret: its route refuses instead of accepting anything.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    twilio_whatsapp_from: str | None = None

    # Messaging webhooks (Twilio, Meta) are small; a Meta batch of 1,000 updates stays under this.
    ingest_max_body_bytes: int = Field(default=1 * MIB, gt=0)
    # ElevenLabs' post_call_audio carries the whole call as base64 MP3.
    ingest_max_call_body_bytes: int = Field(default=64 * MIB, gt=0)
    # A body not received whole within this is refused (408): a peer that declares more than
    # it sends cannot hold a request open.
    ingest_body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Build the URL Twilio signed from X-Forwarded-Proto / X-Forwarded-Host (only behind a proxy
    # that sets them; HILO_PUBLIC_URL, when set, wins over both).
    ingest_trust_proxy: bool = False
    # ElevenLabs signatures older than this are refused (replays).
    ingest_elevenlabs_tolerance_seconds: int = Field(default=30 * 60, gt=0)
    # Without TWILIO_AUTH_TOKEN, accept requests signed with the local simulator token
    # (HILO_DATA_DIR/simulator-token) so `hilo simulate` works offline. Set false in production.
    ingest_allow_simulator: bool = Field(default=True, examples=[False])
    # Serve simulator media (HILO_DATA_DIR/media/<sha256>) at GET /media/{sha256}.
    ingest_serve_media: bool = Field(default=True, examples=[False])
    # How long a webhook waits for JetStream's acknowledgement (Twilio gives up after 15 s).
    ingest_publish_timeout_seconds: float = Field(default=5.0, gt=0)
    # Deliveries are remembered this long (Meta retries for up to 7 days).
    ingest_dedupe_retention_days: float = Field(default=8.0, gt=0)

    @property
    def twilio_token(self) -> str | None:
        return reveal(self.twilio_auth_token)

    @property
    def meta_app_secret(self) -> str | None:
        return reveal(self.whatsapp_app_secret)

    @property
    def meta_verify_token(self) -> str | None:
        return reveal(self.whatsapp_verify_token)

    @property
    def elevenlabs_secret(self) -> str | None:
        return reveal(self.elevenlabs_webhook_secret)
