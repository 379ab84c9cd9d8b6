from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class RecorderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HILO_RECORDER_", env_file=".env", extra="ignore")

    batch_size: int = 500
