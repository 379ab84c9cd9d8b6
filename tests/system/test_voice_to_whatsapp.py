"""A phone call goes on over WhatsApp, end to end through every service that takes part.

A signed ElevenLabs post-call webhook enters ingest; the voice bridge hands the
conversation to the agent and writes the opener; the notifier sends it through the Twilio
stand-in as a template (no 24-hour window after a call). The customer answers on
WhatsApp (a signed Twilio webhook); the bridge asks the agent over its WebSocket and the
notifier delivers the agent's answer as free text. The router decides who answers each
message; the analyzer runs too, and must stay silent: exactly one component answers, also
after every mode change is replayed and every service restarted.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, marker_round_trip, watching
from services.analyzer.app import build as build_analyzer
from services.analyzer.settings import AnalyzerSettings
from services.ingest.app import build as build_ingest
from services.ingest.settings import IngestSettings
from services.ingest.signatures import elevenlabs_signature, twilio_signature
from services.notifier.app import build as build_notifier
from services.notifier.settings import NotifierSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from services.voice_bridge.app import build as build_bridge
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.notifier.standins import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    ProviderStandIns,
    provider_standins,
)
from tests.voice_bridge.standin import ElevenLabsStandIn, expected_default_answer

CUSTOMER = "+573001112233"
WEBHOOK_SECRET = "wsec_system"
TEMPLATE_SID = "HX" + "a" * 32


def post_call(conversation_id: str) -> dict[str, Any]:
    """`post_call_transcription` as ElevenLabs sends it (trimmed to what matters here)."""
    return {
        "type": "post_call_transcription",
        "event_timestamp": int(time.time()),
        "data": {
            "agent_id": "agent_standin",
            "conversation_id": conversation_id,
            "status": "done",
            "transcript": [
                {
                    "role": "agent",
                    "message": "Hola Ana, te llamo por tu pedido",
                    "time_in_call_secs": 0,
                },
                {
                    "role": "user",
                    "message": "Sí, quiero cambiar la dirección",
                    "time_in_call_secs": 4,
                },
            ],
            "metadata": {
                "start_time_unix_secs": int(time.time()) - 60,
                "call_duration_secs": 42,
                "termination_reason": "end_call tool was called.",
                "phone_call": {
                    "direction": "outbound",
                    "agent_number": "+14155550100",
                    "external_number": CUSTOMER,
                    "type": "twilio",
                },
            },
            "analysis": {
                "transcript_summary": "Ana quiere cambiar la dirección de entrega de su pedido.",
                "call_successful": "success",
                "data_collection_results": {
                    "pending_items": {"value": "confirmar la nueva dirección"},
                    "next_steps": {"value": "enviar la dirección por WhatsApp"},
                },
            },
            "conversation_initiation_client_data": {"dynamic_variables": {"customer_name": "Ana"}},
        },
    }


def whatsapp_form(text: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{CUSTOMER}",
        "To": WHATSAPP_FROM,
        "Body": text,
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": CUSTOMER.lstrip("+"),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


@contextlib.asynccontextmanager
async def the_system(
    settings: HiloSettings, twilio: ProviderStandIns, agent: ElevenLabsStandIn, flows: Any
) -> AsyncIterator[str]:
    ingest = build_ingest(
        IngestSettings(
            _env_file=None,
            twilio_auth_token=AUTH_TOKEN,
            twilio_account_sid=ACCOUNT_SID,
            elevenlabs_webhook_secret=WEBHOOK_SECRET,
        )
    )
    bridge = build_bridge(
        VoiceBridgeSettings(
            _env_file=None,
            elevenlabs_api_base=agent.url,
            elevenlabs_agent_id=agent.agent_id,
            voice_bridge_reply_timeout_seconds=5.0,
            voice_bridge_quiet_seconds=0.3,
        )
    )
    notifier = build_notifier(
        NotifierSettings(
            _env_file=None,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=WHATSAPP_FROM,
            twilio_api_base=twilio.base_url,
            notifier_twilio_template_sid=TEMPLATE_SID,
            notifier_rate_per_second=0,
        )
    )
    analyzer = build_analyzer(AnalyzerSettings(_env_file=None, analyzer_burst_seconds=0))
    router = build_router(RouterSettings(_env_file=None, hilo_flows_dir=flows))
    async with (
        ingest.running(settings),
        router.running(settings, http=False),
        bridge.running(settings, http=False),
        notifier.running(settings, http=False),
        analyzer.running(settings, http=False),
    ):
        yield f"http://127.0.0.1:{ingest.http_port}"


async def answered(pool: asyncpg.Pool, bus: EventBus, message_count: int) -> None:
    """The marker that every answerer is done: the router routed every inbound message, the
    analyzer closed each burst, every outbox is empty and the notifier's consumer is drained;
    then everything published has reached this connection."""

    async def done() -> bool:
        routed = await pool.fetchval("SELECT count(*) FROM hilo_tracking WHERE consumer = 'router'")
        open_bursts = await pool.fetchval(
            "SELECT count(*) FROM analyzer_inbox WHERE processed_at IS NULL"
        )
        analysed = await pool.fetchval("SELECT count(*) FROM analyzer_inbox")
        unpublished = await pool.fetchval(
            "SELECT count(*) FROM hilo_outbox WHERE published_at IS NULL"
        )
        info = await bus.js.consumer_info(bus.naming.events_stream, bus.naming.durable("notifier"))
        return bool(
            routed >= message_count
            and analysed >= message_count - 1  # the call is not an inbound message
            and open_bursts == 0
            and unpublished == 0
            and info.num_pending == 0
            and info.num_ack_pending == 0
        )

    await eventually(done, timeout=30)
    await marker_round_trip(bus)


async def test_call_continues_on_whatsapp_with_the_same_agent(
    settings: HiloSettings, bus: EventBus, pool: asyncpg.Pool, tmp_path: Any
) -> None:
    flows = tmp_path / "flows"
    async with (
        provider_standins() as twilio,
        ElevenLabsStandIn() as agent,
        watching(bus, ("conversation.mode_changed",), Published()) as decisions,
        httpx.AsyncClient(timeout=20) as http,
    ):
        async with the_system(settings, twilio, agent, flows) as ingest:
            body = json.dumps(post_call(f"conv_{uuid.uuid4().hex[:12]}")).encode()
            signature = elevenlabs_signature(WEBHOOK_SECRET, body, int(time.time()))
            answer = await http.post(
                f"{ingest}/webhooks/elevenlabs",
                content=body,
                headers={"Content-Type": "application/json", "ElevenLabs-Signature": signature},
            )
            assert answer.status_code == 200, answer.text

            async def sent(count: int) -> list[dict[str, Any]] | None:
                return twilio.twilio_messages if len(twilio.twilio_messages) >= count else None

            [opener] = await eventually(lambda: sent(1), timeout=20)
            # Business-initiated after a call: the window is closed, so the template goes out.
            assert opener["to"] == f"whatsapp:{CUSTOMER}"
            assert opener["_fields"].get("ContentSid") == TEMPLATE_SID

            form = whatsapp_form("Mi nueva dirección es Calle 10 # 20-30")
            url = f"{ingest}/webhooks/twilio/whatsapp"
            answer = await http.post(
                url,
                data=form,
                headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)},
            )
            assert answer.status_code == 200, answer.text

            messages = await eventually(lambda: sent(2), timeout=20)
            # The agent was given the call's context when its socket opened.
            [connection] = agent.connections
            assert connection.dynamic_variables.get("customer_name") == "Ana"
            await answered(pool, bus, message_count=2)
            assert len(twilio.twilio_messages) == 2  # one opener, one answer: nobody else

            # Every mode change replayed (as `hilo replay --type conversation.mode_changed`).
            for decision in decisions.distinct("conversation.mode_changed"):
                await bus.publish_stored(decision.model_dump(mode="json"), replay_id="r1")

        # Every service restarted; the customer writes again.
        async with the_system(settings, twilio, agent, flows) as ingest:
            form = whatsapp_form("¿Me confirmas cuándo llega?")
            url = f"{ingest}/webhooks/twilio/whatsapp"
            answer = await http.post(
                url,
                data=form,
                headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)},
            )
            assert answer.status_code == 200, answer.text
            await eventually(lambda: sent(3), timeout=20)
            await answered(pool, bus, message_count=3)

    reply = messages[1]
    assert reply["body"] == expected_default_answer("Ana", "Mi nueva dirección es Calle 10 # 20-30")
    # One opener and one answer per inbound message: nobody else replied, nothing twice.
    assert len(twilio.twilio_messages) == 3
    assert twilio.twilio_messages[2]["body"] == expected_default_answer("Ana", form["Body"])
