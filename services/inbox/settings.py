"""Inbox configuration, read from the environment (names from CONTRACT.md) and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InboxSettings(BaseSettings):
    """Field names are the environment names (case-insensitive); HILO_*, NOTIFIER_* are shared."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # https here makes the session cookies Secure.
    hilo_public_url: str | None = None
    hilo_flows_dir: Path = Path("flows")

    inbox_session_hours: float = Field(default=12.0, gt=0)
    # Failed sign-ins allowed per e-mail, and per client address, within the window.
    inbox_login_max_failures: int = Field(default=5, ge=1)
    inbox_login_max_failures_per_address: int = Field(default=20, ge=1)
    inbox_login_window_seconds: int = Field(default=900, gt=0)
    inbox_page_size: int = Field(default=50, ge=1, le=500)

    # The templates a closed window allows, offered in a 409: the notifier's defaults, plus
    # INBOX_TEMPLATES ("name:language,name:language").
    notifier_twilio_template_sid: str | None = None
    notifier_meta_template_name: str | None = None
    notifier_meta_template_language: str = "es"
    inbox_templates: str = ""

    @property
    def secure_cookies(self) -> bool:
        return bool(self.hilo_public_url and self.hilo_public_url.startswith("https://"))

    def templates(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if self.notifier_twilio_template_sid:
            found.append((self.notifier_twilio_template_sid, self.notifier_meta_template_language))
        if self.notifier_meta_template_name:
            found.append((self.notifier_meta_template_name, self.notifier_meta_template_language))
        for item in self.inbox_templates.split(","):
            name, _, language = item.strip().partition(":")
            if name:
                found.append((name, language or self.notifier_meta_template_language))
        return list(dict.fromkeys(found))
