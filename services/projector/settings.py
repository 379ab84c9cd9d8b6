from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ProjectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HILO_PROJECTOR_", env_file=".env", extra="ignore")

    # A safety net: notifications wake the projector at once; this bounds the wait if one is lost.
    poll_seconds: float = 1.0
    batch_size: int = 2000
