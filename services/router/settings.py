"""Router configuration, read from the environment and `.env`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hilo.consent import (
    DEFAULT_OPT_IN_EN,
    DEFAULT_OPT_IN_ES,
    DEFAULT_OPT_OUT_EN,
    DEFAULT_OPT_OUT_ES,
)
from hilo.settings import StrList


def _keywords(name: str, default: list[str]) -> list[str]:
    # The notifier's variable is honoured too: one setting, both services agree.
    return Field(
        default_factory=lambda: list(default),
        validation_alias=AliasChoices(f"ROUTER_{name}", f"NOTIFIER_{name}"),
    )


class RouterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # The flows whose keywords start them (the flows service reads the same files).
    hilo_flows_dir: Path = Path("flows")
    # A voice-agent conversation quiet this long goes back to the analyzer; 0: never.
    router_voice_agent_idle_hours: float = Field(
        default=24.0,
        ge=0,
        validation_alias=AliasChoices(
            "ROUTER_VOICE_AGENT_IDLE_HOURS", "VOICE_BRIDGE_SESSION_HOURS"
        ),
    )
    # A person's conversation quiet this long goes back to the analyzer; 0: never.
    router_human_idle_hours: float = Field(default=0.0, ge=0)
    # The ElevenLabs data-collection field whose value names a flow to continue a call with.
    router_call_flow_field: str = "flow"
    # How often expired modes are looked for.
    router_sweep_seconds: float = Field(default=30.0, gt=0)

    router_opt_out_keywords_es: StrList = _keywords("OPT_OUT_KEYWORDS_ES", DEFAULT_OPT_OUT_ES)
    router_opt_out_keywords_en: StrList = _keywords("OPT_OUT_KEYWORDS_EN", DEFAULT_OPT_OUT_EN)
    router_opt_in_keywords_es: StrList = _keywords("OPT_IN_KEYWORDS_ES", DEFAULT_OPT_IN_ES)
    router_opt_in_keywords_en: StrList = _keywords("OPT_IN_KEYWORDS_EN", DEFAULT_OPT_IN_EN)

    @staticmethod
    def hours(value: float) -> timedelta | None:
        return timedelta(hours=value) if value > 0 else None
