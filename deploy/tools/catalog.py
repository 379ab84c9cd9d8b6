"""What the deployment knows about each service, read from the code rather than copied.

The registry (``hilo.registry``) gives names, ports, extras and who is public; each
service's ``app.py`` gives its durable consumers and their ack waits; its ``settings.py``
gives the environment variables it reads. The few facts the code cannot tell (who must
stay a single writer, how much CPU a model needs) are the tables below, each with its
reason.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Literal

from pydantic_settings import BaseSettings

from hilo import registry
from hilo.settings import HiloSettings

# The contract's variables (CONTRACT.md, both parts) and where a deployment keeps each:
# "config" in the ConfigMap hilo-config, "secret" in the Secret hilo-secrets, "database"
# from the CloudNativePG cluster's app secret, "pod" set per container.
Place = Literal["config", "secret", "database", "pod"]
CONTRACT_VARIABLES: dict[str, Place] = {
    "HILO_NATS_URL": "config",
    "HILO_DATABASE_URL": "database",
    "HILO_DATA_DIR": "pod",
    "HILO_HTTP_PORT": "pod",
    "HILO_PUBLIC_URL": "config",
    "HILO_TIMEZONE": "config",
    "TWILIO_ACCOUNT_SID": "secret",
    "TWILIO_AUTH_TOKEN": "secret",
    "TWILIO_WHATSAPP_FROM": "config",
    "TWILIO_API_BASE": "config",
    "WHATSAPP_TOKEN": "secret",
    "WHATSAPP_PHONE_NUMBER_ID": "config",
    "WHATSAPP_VERIFY_TOKEN": "secret",
    "WHATSAPP_APP_SECRET": "secret",
    "GRAPH_API_BASE": "config",
    "GRAPH_API_VERSION": "config",
    "ELEVENLABS_API_KEY": "secret",
    "ELEVENLABS_AGENT_ID": "config",
    "ELEVENLABS_WEBHOOK_SECRET": "secret",
    "ELEVENLABS_API_BASE": "config",
    "OPENAI_API_KEY": "secret",
    "OPENAI_BASE_URL": "config",
    "HILO_ANALYZER": "config",
    "HILO_TRANSCRIBER": "config",
    "HILO_INBOX_PORT": "pod",
    "HILO_FLOWS_DIR": "config",
    "HILO_BUSINESS_FILE": "config",
    "TRANSCRIBER_MODEL": "config",
    # Seals personal data; every pod that reads or writes events needs the same one.
    "HILO_MASTER_KEY": "secret",
}

# Every pod reads these (HiloSettings), whatever its own settings say.
COMMON_VARIABLES = (
    "HILO_NATS_URL",
    "HILO_DATABASE_URL",
    "HILO_PUBLIC_URL",
    "HILO_TIMEZONE",
    "HILO_MASTER_KEY",
)

# Exactly one replica, replaced by stopping the old pod before starting the new one.
SINGLE_WRITERS = {
    # JetStream's stream order becomes the store's gap-free positions only with one writer.
    "recorder": "appends every event in stream order; a second writer would interleave batches",
    # One process folds the store into the read models; a second adds nothing.
    "projector": "folds the store into projections from one checkpoint; a second adds nothing",
}

# Calls providers (or, for flows, the operators' own APIs) over the internet.
EXTRA_EGRESS = {"flows"}
_PROVIDER_VARIABLES = {
    "TWILIO_API_BASE",
    "GRAPH_API_BASE",
    "ELEVENLABS_API_BASE",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
}

# A replica's share of work, in events of lag, before KEDA adds one (from `make bench`:
# notifier ≈ 240–350 sends/s, analyzer rules ≈ 1,900 conversations/s, transcriber ≈ 8× real
# time per note): roughly ten seconds of one replica's work.
LAG_THRESHOLD = {"transcriber": 20, "notifier": 2000, "voice_bridge": 1000}
DEFAULT_LAG_THRESHOLD = 3000

# JetStream partitions (HILO_PARTITIONS in the ConfigMap), and so the most replicas a
# consumer can use: each replica consumes whole partitions (hilo/partitions.py), one
# conversation always in one partition.
PARTITIONS = 8


@dataclass(frozen=True)
class Resources:
    cpu_request: str = "100m"
    memory_request: str = "192Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"


RESOURCES = {
    # faster-whisper on CPU: the model (≈ 150–500 MB) plus a decoding buffer per note.
    "transcriber": Resources("1", "1Gi", "2", "2Gi"),
    "analyzer": Resources("250m", "256Mi", "1", "768Mi"),
    "recorder": Resources("250m", "256Mi", "1", "512Mi"),
}

# Pods need this long to stop: the longest ack wait of their consumers (past it JetStream
# redelivers anyway, so no handler is worth waiting for longer) plus this margin.
STOP_MARGIN_SECONDS = 15
NO_CONSUMER_GRACE_SECONDS = 30


@dataclass(frozen=True)
class Consumer:
    durable: str
    ack_wait: float


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    extra: str
    summary: str
    public: bool
    consumers: tuple[Consumer, ...]
    variables: tuple[str, ...]
    own_port_variable: str | None = None
    resources: Resources = field(default_factory=Resources)

    @property
    def single_writer(self) -> bool:
        return self.name in SINGLE_WRITERS

    @property
    def scales_on_lag(self) -> bool:
        return bool(self.consumers) and not self.single_writer

    @property
    def scales_on_cpu(self) -> bool:
        return not self.consumers and not self.single_writer

    @property
    def internet(self) -> bool:
        return self.name in EXTRA_EGRESS or bool(_PROVIDER_VARIABLES & set(self.variables))

    @property
    def grace_seconds(self) -> int:
        if not self.consumers:
            return NO_CONSUMER_GRACE_SECONDS
        return int(max(c.ack_wait for c in self.consumers)) + STOP_MARGIN_SECONDS

    @property
    def lag_threshold(self) -> int:
        return LAG_THRESHOLD.get(self.name, DEFAULT_LAG_THRESHOLD)

    @property
    def image(self) -> str:
        return f"hilo-{self.name.replace('_', '-')}"

    @property
    def k8s_name(self) -> str:
        return self.name.replace("_", "-")


def settings_variables(module_name: str) -> set[str]:
    """The environment variables the BaseSettings classes of a module read."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return set()
    found: set[str] = set()
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseSettings):
            found |= _env_names(value)
    return found


def _env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix") or "")
    names = set()
    for name, info in settings.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        names.add((alias or f"{prefix}{name}").upper())
    return names


def _consumers(name: str) -> tuple[Consumer, ...]:
    service = registry.load(name)
    specs = [sub.spec for sub in service.subscriptions]
    specs += [spec for spec, _ in service.batch_consumers]
    return tuple(Consumer(spec.durable, spec.ack_wait) for spec in specs)


def describe(info: registry.ServiceInfo) -> ServiceSpec:
    reads = _env_names(HiloSettings) | settings_variables(f"services.{info.name}.settings")
    variables = sorted(
        v
        for v in reads | set(COMMON_VARIABLES)
        if v in CONTRACT_VARIABLES and v != "HILO_HTTP_PORT"
    )
    return ServiceSpec(
        name=info.name,
        port=info.port(8000, {}),
        extra=info.extra,
        summary=info.summary,
        public=info.public,
        consumers=_consumers(info.name),
        variables=tuple(variables),
        own_port_variable=info.port_variable,
        resources=RESOURCES.get(info.name, Resources()),
    )


def catalog() -> list[ServiceSpec]:
    return [describe(info) for info in registry.services()]
