"""The router service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="router",
    port_offset=7,
    summary="decides who answers each inbound message: bot, voice agent, flow, person or nobody",
    extra="router",
    publishes=("contact.data_erased", "message.routed", "conversation.mode_changed"),
)
