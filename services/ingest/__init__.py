"""The ingest service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="ingest",
    port_offset=0,
    summary="Twilio, Meta and ElevenLabs webhooks: verified, deduplicated, durable",
    extra="ingest",
    public=True,
    consumes=False,
    publishes=(
        "contact.data_erased",
        "message.received",
        "message.status",
        "call.ended",
        "call.audio_recorded",
        "call.failed",
    ),
)
