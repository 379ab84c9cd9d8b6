"""The notifier service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="notifier",
    port_offset=6,
    summary="sends replies through Twilio, Meta or the local outbox, within WhatsApp's rules",
    extra="notifier",
    publishes=(
        "contact.data_erased",
        "message.sent",
        "message.failed",
        "message.blocked",
        "message.marked_read",
        "contact.opted_out",
        "contact.opted_in",
        "reply.ready",
    ),
)
