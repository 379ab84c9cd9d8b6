"""The voice_bridge service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="voice_bridge",
    port_offset=5,
    summary="continues a finished call on WhatsApp with the same ElevenLabs agent",
    extra="voice_bridge",
    publishes=(
        "contact.data_erased",
        "reply.ready",
        "agent.reply_failed",
        "conversation.mode_changed",
        "call.ended",
    ),
)
