"""Configuration every Hilo process shares, read from the environment and `.env`.

Provider credentials live here once, as ``SecretStr`` (printed as ``**********`` by
pydantic, so a settings object in a log or a traceback shows none of them): a service's
settings class inherits the credentials it uses and no others (``TwilioCredentials``…),
so each service's env example lists exactly the secrets to give it. Their field
names are the contract's environment names, unprefixed, so one `.env` serves every
service. ``reveal()`` gives the value at the one place it is sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _listed(value: Any) -> Any:
    """A list setting from the environment: a JSON list, or the values separated by commas."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


# List settings: `["stop", "baja"]` or `stop,baja` in the environment, a list in the code.
StrList = Annotated[list[str], NoDecode, BeforeValidator(_listed)]
FloatList = Annotated[list[float], NoDecode, BeforeValidator(_listed)]


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
    # Base64 of 32 random bytes; seals personal data (keys per contact are wrapped by it).
    # The same for every service; losing it loses every sealed field. `hilo up` makes a
    # development key under HILO_DATA_DIR when unset.
    master_key: SecretStr | None = Field(default=None, examples=["<base64 of 32 random bytes>"])
    # Partitions of the event stream (0: none). With partitions, replicas of a consuming
    # service share the work, one partition each at a time, in each conversation's order.
    # Choose before the first start: events keep the partition they were stored with.
    partitions: int = Field(default=0, ge=0, le=1024)
    # How often a replica looks at the partitions' owners (a dead replica's partitions are
    # taken over within this, its unacked events redelivered after the ack wait).
    rebalance_seconds: float = Field(default=2.0, gt=0)
    # JetStream servers that keep each stream (3 on a three-node cluster).
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # How long the bus keeps an event (0: forever). The store keeps every event for good
    # (sealed) and `hilo replay` republishes from it; this only bounds what JetStream's
    # files hold, so choose it longer than any consumer may stay down.
    stream_max_age_days: float = Field(default=30.0, ge=0)

    def require_nats_url(self) -> str:
        if not self.nats_url:
            raise RuntimeError("HILO_NATS_URL is not set (start the stack with `hilo up`)")
        return self.nats_url

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("HILO_DATABASE_URL is not set (start the stack with `hilo up`)")
        return self.database_url


def reveal(secret: SecretStr | None) -> str | None:
    """The secret's value, or None when it is unset or blank (then nothing is accepted)."""
    text = secret.get_secret_value().strip() if secret is not None else ""
    return text or None


class _Credentials(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class TwilioCredentials(_Credentials):
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None


class MetaAccessToken(_Credentials):
    """Meta's WhatsApp Cloud API token: sends messages, downloads media."""

    whatsapp_token: SecretStr | None = None


class MetaWebhookSecrets(_Credentials):
    """Checks Meta's webhooks: the app secret signs them, the verify token answers the GET."""

    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None


class ElevenLabsApiKey(_Credentials):
    elevenlabs_api_key: SecretStr | None = None


class ElevenLabsWebhookSecret(_Credentials):
    elevenlabs_webhook_secret: SecretStr | None = None


class OpenAICredentials(_Credentials):
    openai_api_key: SecretStr | None = None
