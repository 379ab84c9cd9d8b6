"""Configuration every Hilo process shares, read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HiloSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HILO_", env_file=".env", extra="ignore", populate_by_name=True
    )

    nats_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path(".hilo")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The embedded NATS server's port (only when HILO_NATS_URL is unset).
    nats_port: int = 4222
    public_url: str | None = None
    timezone: str = "UTC"
    # Prefixes subjects, stream and consumer names, so several Hilo
    # installations (or tests) can share one NATS server without meeting.
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$")
    log_level: str = "INFO"
    # Partitions of the event stream (0: none). With partitions, replicas of a consuming
    # service share the work, one partition each at a time, in each conversation's order.
    # Choose before the first start: events keep the partition they were stored with.
    partitions: int = Field(default=0, ge=0, le=1024)
    # How often a replica looks at the partitions' owners (a dead replica's partitions are
    # taken over within this, its unacked events redelivered after the ack wait).
    rebalance_seconds: float = Field(default=2.0, gt=0)
    # JetStream servers that keep each stream (3 on a three-node cluster).
    stream_replicas: int = Field(default=1, ge=1, le=5)

    def require_nats_url(self) -> str:
        if not self.nats_url:
            raise RuntimeError("HILO_NATS_URL is not set (start the stack with `hilo up`)")
        return self.nats_url

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("HILO_DATABASE_URL is not set (start the stack with `hilo up`)")
        return self.database_url
