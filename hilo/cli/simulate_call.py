"""`hilo simulate call`: a correctly signed ElevenLabs post-call webhook sent to the running ingest.

The body is a ``post_call_transcription`` envelope whose ``data`` has the shape of
ElevenLabs' ``GET /v1/convai/conversations/{id}`` (conversation id, agent, status
``done``, a short transcript, ``analysis.transcript_summary``, and
``metadata.phone_call.external_number``: the contact). It is signed as ElevenLabs signs:
``ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "t.body">`` with
ELEVENLABS_WEBHOOK_SECRET, or, offline, the local simulator token ingest also reads.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from hilo.cli.errors import UserError
from hilo.phones import to_e164
from hilo.settings import HiloSettings

ELEVENLABS_PATH = "/webhooks/elevenlabs"
SIMULATED_AGENT = "agent_simulated"


def post_call_body(contact: str, summary: str, *, call_id: str, now: int) -> dict[str, Any]:
    return {
        "type": "post_call_transcription",
        "event_timestamp": now,
        "data": {
            "agent_id": SIMULATED_AGENT,
            "conversation_id": call_id,
            "status": "done",
            "transcript": [
                {
                    "role": "agent",
                    "message": "Hola, ¿en qué puedo ayudarte?",
                    "time_in_call_secs": 0,
                },
                {"role": "user", "message": summary, "time_in_call_secs": 4},
                {
                    "role": "agent",
                    "message": "Perfecto, te escribo por WhatsApp.",
                    "time_in_call_secs": 12,
                },
            ],
            "metadata": {
                "start_time_unix_secs": now - 60,
                "call_duration_secs": 60,
                "termination_reason": "simulated",
                "phone_call": {
                    "direction": "inbound",
                    "external_number": contact,
                    "agent_number": "+14155238886",
                    "type": "twilio",
                },
            },
            "analysis": {
                "transcript_summary": summary,
                "call_successful": "success",
                "data_collection_results": {},
                "evaluation_criteria_results": {},
            },
            "conversation_initiation_client_data": {"dynamic_variables": {}},
        },
    }


def simulate_call(to: str, summary: str, *, url: str | None = None) -> str:
    """Post one simulated finished call; returns the one-line result. Raises UserError."""
    from services.ingest.files import simulator_token
    from services.ingest.settings import IngestSettings
    from services.ingest.signatures import elevenlabs_signature

    settings, config = HiloSettings(), IngestSettings()
    contact = to_e164(to)
    base = (url or f"http://127.0.0.1:{settings.http_port}").rstrip("/")
    now = int(time.time())
    call_id = "conv_sim_" + uuid.uuid4().hex[:20]
    body = json.dumps(post_call_body(contact, summary.strip(), call_id=call_id, now=now)).encode()
    secret = config.elevenlabs_secret or simulator_token(settings.data_dir)
    headers = {
        "ElevenLabs-Signature": elevenlabs_signature(secret, body, now),
        "Content-Type": "application/json",
    }
    try:
        response = httpx.post(base + ELEVENLABS_PATH, content=body, headers=headers, timeout=20)
    except httpx.HTTPError as exc:
        raise UserError(
            f"ingest is not answering at {base} ({type(exc).__name__}); start it with `hilo up`"
        ) from None
    if response.status_code != 200:
        raise UserError(
            f"ingest refused the call: HTTP {response.status_code} {response.text[:200]}"
        )
    return f"sent call {call_id} with {contact}: call.ended"
