"""The transcriber service: `app.py` wires it, `SERVICE` puts it in the registry."""

from hilo.registry import ServiceInfo

SERVICE = ServiceInfo(
    name="transcriber",
    port_offset=3,
    summary="voice notes to text: faster-whisper offline, or OpenAI",
    extra="transcriber",
    publishes=(
        "audio.transcribed",
        "audio.transcription_failed",
        "audio.expired",
        "transcript.expired",
    ),
)
