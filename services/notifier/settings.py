"""Notifier configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hilo.consent import (
    DEFAULT_OPT_IN_EN,
    DEFAULT_OPT_IN_ES,
    DEFAULT_OPT_OUT_EN,
    DEFAULT_OPT_OUT_ES,
)
from hilo.settings import MetaAccessToken, StrList, TwilioCredentials, reveal


class NotifierSettings(TwilioCredentials, MetaAccessToken):
    """Field names are the environment names (case-insensitive), so TWILIO_* etc. are shared."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    twilio_whatsapp_from: str | None = None
    twilio_api_base: str = "https://api.twilio.com"

    whatsapp_phone_number_id: str | None = None
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v20.0"

    # Where Twilio posts delivery statuses: HILO_PUBLIC_URL + /webhooks/twilio/status.
    hilo_public_url: str | None = Field(default=None, examples=["https://hilo.example.com"])

    # Messages per second per sender number; 0 turns pacing off. Twilio's default WhatsApp
    # sender throughput is 10 msg/s, Meta's Cloud API 80 msg/s; stay at or under yours.
    notifier_rate_per_second: float = Field(default=10.0, ge=0)

    # Templates used when the 24-hour window is closed and the reply names none.
    notifier_twilio_template_sid: str | None = None
    notifier_meta_template_name: str | None = None
    notifier_meta_template_language: str = "es"

    # Whole-message keywords (a JSON list or comma-separated; case and accents ignored).
    notifier_opt_out_keywords_es: StrList = Field(default_factory=lambda: list(DEFAULT_OPT_OUT_ES))
    notifier_opt_out_keywords_en: StrList = Field(default_factory=lambda: list(DEFAULT_OPT_OUT_EN))
    notifier_opt_in_keywords_es: StrList = Field(default_factory=lambda: list(DEFAULT_OPT_IN_ES))
    notifier_opt_in_keywords_en: StrList = Field(default_factory=lambda: list(DEFAULT_OPT_IN_EN))
    notifier_opt_out_confirmation_es: str = (
        "Listo, no te enviaremos más mensajes. Escribe ALTA si quieres volver a recibirlos."
    )
    notifier_opt_out_confirmation_en: str = (
        "Done, you will not get more messages from us. Reply START to receive them again."
    )
    notifier_opt_in_confirmation_es: str = "¡Bienvenido de nuevo! Volverás a recibir mensajes."
    notifier_opt_in_confirmation_en: str = "Welcome back! You will receive messages again."

    # Provider attempts per reply (the first included) before message.failed.
    notifier_max_attempts: int = Field(default=5, ge=1)
    # Delays between attempts, seconds (the last one repeats).
    notifier_retry_backoff: tuple[float, ...] = (1.0, 2.0, 5.0, 15.0, 60.0)
    notifier_request_timeout_seconds: float = Field(default=15.0, gt=0)
    # JetStream ack wait of the notifier's consumer: how soon a crashed run's event returns.
    notifier_ack_wait_seconds: float = Field(default=30.0, gt=0)
    # Meta has no message lookup: after an attempt whose outcome is unknown (crash, read
    # timeout), "fail" records message.failed (never a double message), "resend" sends again.
    notifier_meta_uncertain: str = Field(default="fail", pattern="^(fail|resend)$")

    @property
    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid and reveal(self.twilio_auth_token) and self.twilio_whatsapp_from
        )

    @property
    def meta_configured(self) -> bool:
        return bool(reveal(self.whatsapp_token) and self.whatsapp_phone_number_id)

    @property
    def status_callback(self) -> str | None:
        if not self.hilo_public_url:
            return None
        return self.hilo_public_url.rstrip("/") + "/webhooks/twilio/status"
