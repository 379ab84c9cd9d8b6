"""The flows service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="flows",
    port_offset=8,
    summary="question flows: WhatsApp interviews, one question at a time, then the outside API",
    extra="flows",
    publishes=(
        "contact.data_erased",
        "reply.ready",
        "flow.session_started",
        "flow.question_asked",
        "flow.answer_recorded",
        "flow.answer_rejected",
        "flow.answer_withdrawn",
        "flow.session_restarted",
        "flow.switch_offered",
        "flow.api_answered",
        "flow.session_completed",
        "flow.session_abandoned",
        "flow.session_failed",
    ),
)
