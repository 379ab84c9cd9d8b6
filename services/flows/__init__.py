"""The flows service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="flows",
    port_offset=8,
    summary="question flows: WhatsApp interviews, one question at a time, then the outside API",
    extra="flows",
)
