"""Analyzer configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hilo.settings import OpenAICredentials


class AnalyzerSettings(OpenAICredentials):
    """Field names are the environment names (case-insensitive), so OPENAI_* are shared."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # `rules` (offline, default) or `openai`; the env name is the contract's HILO_ANALYZER.
    hilo_analyzer: str = "rules"
    openai_base_url: str | None = None
    analyzer_openai_model: str = "gpt-4o-mini"
    analyzer_openai_timeout_seconds: float = Field(default=20.0, gt=0)
    # The SDK retries 5xx and timeouts itself; after that the rules answer.
    analyzer_openai_max_retries: int = Field(default=1, ge=0)

    # Messages arriving within this quiet window get one reply, after the last of them.
    analyzer_burst_seconds: float = Field(default=2.0, ge=0)
    # How long a reply waits for a voice note's transcript before answering without it.
    analyzer_voice_note_wait_seconds: float = Field(default=60.0, ge=0)
    # How long a burst waits for the router to say who answers its messages (longer than
    # JetStream's 30 s ack wait, after which a crashed router's messages come back); past it the
    # burst is analysed without a reply, and a late "analyzer" decision is answered then.
    analyzer_routing_wait_seconds: float = Field(default=60.0, ge=0)
    # Failed analyses of a burst are retried this many times (growing delays), then given up.
    analyzer_max_attempts: int = Field(default=6, ge=1)
    # The most recent messages (both directions) a backend reads.
    analyzer_context_messages: int = Field(default=40, ge=1)
    # Reply language when the conversation's cannot be told (es or en).
    analyzer_default_language: str = "es"
    # Take the contact's time zone from the number's country when it has exactly one.
    analyzer_timezone_from_number: bool = True
    # Whether the analyzer answers at all (off: it only analyses).
    analyzer_replies: bool = True
    # Older messages are analysed but not answered (a first start over a long stream, a
    # long outage); WhatsApp's 24-hour window would refuse most such answers anyway. 0: any age.
    analyzer_reply_max_age_hours: float = Field(default=24.0, ge=0)
    # When set, the calendar feed needs `?token=` with this value (the URL is the secret).
    analyzer_calendar_token: str | None = None

    # The business profile the answers speak from (contract: HILO_BUSINESS_FILE); empty: none.
    hilo_business_file: str = "business.yaml"
    # Who writes the replies: `templates` (offline, default) or `openai` (the model writes,
    # checked against the profile and the calendar; the offline answer is the fallback).
    hilo_replies: str = "templates"
    analyzer_replies_openai_model: str | None = None  # default: ANALYZER_OPENAI_MODEL
    analyzer_replies_timeout_seconds: float = Field(default=15.0, gt=0)
    # A person promised to the contact is promised again only after this long.
    analyzer_person_promise_hours: float = Field(default=24.0, ge=0)

    @property
    def backend_name(self) -> str:
        return self.hilo_analyzer.strip().lower() or "rules"
