"""Configuration every Hilo process shares, read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HiloSettings(BaseSettings):
    """A field's `examples` are what deploy/env/common.env.example suggests for production."""

    model_config = SettingsConfigDict(
        env_prefix="HILO_", env_file=".env", extra="ignore", populate_by_name=True
    )

    nats_url: str | None = Field(
        default=None, examples=["nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222"]
    )
    database_url: str | None = Field(
        default=None, examples=["postgresql://hilo:CHANGE_ME@db:5432/hilo"]
    )
    data_dir: Path = Path(".hilo")
    http_host: str = Field(default="127.0.0.1", examples=["0.0.0.0"])
    http_port: int = 8000
    # The embedded NATS server's port (only when HILO_NATS_URL is unset).
    nats_port: int = 4222
    # The URL providers call; signatures are checked against it (TLS ends at the proxy).
    public_url: str | None = Field(default=None, examples=["https://hilo.example.com"])
    timezone: str = Field(default="UTC", examples=["Europe/Madrid"])
    # Prefixes subjects, stream and consumer names, so several Hilo
    # installations (or tests) can share one NATS server without meeting.
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$")
    log_level: str = "INFO"

    def require_nats_url(self) -> str:
        if not self.nats_url:
            raise RuntimeError("HILO_NATS_URL is not set (start the stack with `hilo up`)")
        return self.nats_url

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("HILO_DATABASE_URL is not set (start the stack with `hilo up`)")
        return self.database_url
