"""The recorder service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="recorder",
    port_offset=1,
    summary="appends every event to the PostgreSQL store in JetStream order (single writer)",
    extra="recorder",
)
