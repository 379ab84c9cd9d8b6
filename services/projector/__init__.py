"""The projector service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="projector",
    port_offset=2,
    summary="keeps the projections and read models from the store",
    extra="projector",
    publishes=("contact.data_erased",),
)
