"""The flows service's settings (environment; a `.env` file is read too)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FlowsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Flow files (CONTRACT.md Part 2): every *.yaml here, checked at start-up.
    hilo_flows_dir: Path = Path("flows")
    # The business's time zone: "mañana" and "el viernes" are read in it.
    hilo_timezone: str = "UTC"
    # An idle session gets one reminder after this long, and is abandoned this long after it.
    flows_reminder_after_seconds: float = Field(default=3600.0, gt=0)
    flows_abandon_after_seconds: float = Field(default=6 * 3600.0, gt=0)
    # How long an event handed to a process that died stays unacknowledged before JetStream
    # hands it to the next.
    flows_ack_wait_seconds: float = Field(default=30.0, gt=0)
    # How often the idle sessions and the unfinished outside API rounds are looked at.
    flows_timer_seconds: float = Field(default=5.0, gt=0)
    # The outside API: attempts per round (time-outs and 5xx are retried) and the back-off.
    flows_api_attempts: int = Field(default=4, ge=1, le=20)
    flows_api_backoff_seconds: float = Field(default=1.0, ge=0)
    flows_api_backoff_max_seconds: float = Field(default=30.0, ge=0)
    # A round's caller holds it this much longer than one attempt can take; after that (the
    # process died mid-call) another process calls again, with the same Idempotency-Key.
    flows_api_lease_margin_seconds: float = Field(default=10.0, ge=0)
    # Inbound message texts (personal data) are kept this long, then deleted.
    flows_keep_days: int = Field(default=30, ge=1)
    # Sent to the contact when the outside API keeps failing (the session is then failed).
    flows_apology_es: str = (
        "Lo sentimos, no hemos podido registrar tus respuestas ahora mismo. "
        "Una persona del equipo se pondrá en contacto contigo."
    )
    flows_apology_en: str = (
        "Sorry, we couldn't submit your answers just now. Someone from our team will contact you."
    )
    # Twilio Content SIDs (quick-reply or list-picker templates) per choice question, as JSON:
    # {"intake.plan": "HX…"}. Questions not named here go as numbered text through Twilio.
    flows_twilio_content_sids: dict[str, str] = Field(default_factory=dict)

    def apology(self, language: str) -> str:
        return self.flows_apology_en if language == "en" else self.flows_apology_es
