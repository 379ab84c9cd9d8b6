"""The one list of Hilo's services, from the ``hilo.services`` entry points.

``hilo up``, ``hilo serve``, the ports, ``deploy/Procfile``, the env examples and the
deployment manifests all derive from it. Entry points keep the shared core free of
imports of any service: a service declares itself in its package's ``__init__.py``
(``SERVICE = ServiceInfo(...)``, light to import) and is named in ``pyproject.toml``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hilo.service import Service

GROUP = "hilo.services"


class UnknownService(LookupError):
    """No installed service has this name."""


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    # HTTP port in `hilo up`: HILO_HTTP_PORT + offset, unless `port_variable` names its own.
    port_offset: int
    summary: str
    # The pip extra that installs what this service needs: `pip install 'hilo[<extra>]'`.
    extra: str
    # Reached from outside the cluster (providers' webhooks, people's browsers).
    public: bool = False
    # Has durable consumers: scales out by sharing JetStream partitions.
    consumes: bool = True
    # Its port has a variable of its own (the operator app's HILO_INBOX_PORT).
    port_variable: str | None = None
    default_port: int | None = None
    # The event types it publishes (its subscriptions are read from its app), for
    # docs/asyncapi.yaml; a type no class in schemas/ has is refused there.
    publishes: tuple[str, ...] = ()

    @property
    def app_path(self) -> str:
        return f"services.{self.name}.app"

    def port(self, base_port: int, environ: dict[str, str]) -> int:
        if self.port_variable:
            return int(environ.get(self.port_variable) or self.default_port or base_port)
        return base_port + self.port_offset


@cache
def services() -> tuple[ServiceInfo, ...]:
    """Every installed service, in port order (ingest, facing the providers, first)."""
    found: list[ServiceInfo] = []
    for entry in entry_points(group=GROUP):
        info = entry.load()
        if not isinstance(info, ServiceInfo) or info.name != entry.name:
            raise TypeError(f"entry point {entry.name!r} of {GROUP} is not its ServiceInfo")
        found.append(info)
    return tuple(sorted(found, key=lambda s: (s.port_variable is not None, s.port_offset)))


def names() -> list[str]:
    return [s.name for s in services()]


def info(name: str) -> ServiceInfo:
    for service in services():
        if service.name == name:
            return service
    raise UnknownService(f"unknown service {name!r}; known: {', '.join(names())}")


def load(name: str) -> Service:
    """Import the service's ``app.py`` and return its ``service`` object."""
    from hilo.service import Service

    module = importlib.import_module(info(name).app_path)
    service = getattr(module, "service", None)
    if not isinstance(service, Service):
        raise UnknownService(f"services/{name}/app.py has no `service`")
    return service
