"""The analyzer service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="analyzer",
    port_offset=4,
    summary="whole-conversation analysis, calendar events and tasks, automatic replies",
    extra="analyzer",
    publishes=(
        "contact.data_erased",
        "intent.detected",
        "calendar_event.scheduled",
        "calendar_event.rescheduled",
        "calendar_event.cancelled",
        "task.created",
        "task.updated",
        "reply.ready",
    ),
)
