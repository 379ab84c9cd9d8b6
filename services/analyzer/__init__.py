"""The analyzer service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="analyzer",
    port_offset=4,
    summary="whole-conversation analysis, calendar events and tasks, automatic replies",
    extra="analyzer",
)
