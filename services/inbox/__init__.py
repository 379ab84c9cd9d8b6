"""The inbox service (the operator API): `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="inbox",
    port_offset=9,
    summary="the operator web app and API: read, answer, take over, tasks, analytics",
    extra="inbox",
    public=True,
    consumes=False,
    port_variable="HILO_INBOX_PORT",
    default_port=8080,
)
