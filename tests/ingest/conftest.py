"""Fixtures for ingest: the running service, provider-shaped requests, a listener on the bus."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from hilo.bus import EventBus
from hilo.service import Service
from hilo.settings import HiloSettings
from hilo.testing import Published, watching
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from services.ingest.signatures import elevenlabs_signature, meta_signature, twilio_signature

AUTH_TOKEN = "twilio-auth-token-standin"
ACCOUNT_SID = "AC" + "1" * 32
APP_SECRET = "meta-app-secret-standin"
VERIFY_TOKEN = "meta-verify-token-standin"
ELEVENLABS_SECRET = "wsec_standin"
CONTACT = "+573001112233"
BUSINESS = "whatsapp:+14155238886"


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    """Every publish on the namespace's subjects, duplicates included (core NATS sees them all);
    ``await published.settle()`` waits until what ingest answered for is recorded."""
    async with watching(bus, None, Published()) as seen:
        yield seen


async def stored_count(bus: EventBus) -> int:
    info = await bus.js.stream_info(bus.naming.events_stream)
    return int(info.state.messages)


def ingest_settings(**overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_account_sid": ACCOUNT_SID,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "elevenlabs_webhook_secret": ELEVENLABS_SECRET,
    }
    values.update(overrides)
    return IngestSettings(_env_file=None, **values)


@dataclass
class RunningIngest:
    service: Service
    settings: HiloSettings
    config: IngestSettings
    http: httpx.AsyncClient

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.http_port}"

    async def twilio(
        self,
        form: Mapping[str, str],
        *,
        path: str = "/webhooks/twilio/whatsapp",
        token: str = AUTH_TOKEN,
        signed_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST the form exactly as Twilio does, signed with the SDK's RequestValidator."""
        signature = twilio_signature(token, signed_url or self.base + path, form)
        return await self.http.post(
            self.base + path,
            data=dict(form),
            headers={"X-Twilio-Signature": signature, **(headers or {})},
        )

    async def meta(self, payload: Any, *, secret: str = APP_SECRET) -> httpx.Response:
        body = json.dumps(payload).encode()
        return await self.http.post(
            f"{self.base}/webhooks/meta",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(secret, body),
            },
        )

    async def elevenlabs(
        self, payload: Any, *, secret: str = ELEVENLABS_SECRET, age_seconds: float = 0
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        signature = elevenlabs_signature(secret, body, int(time.time() - age_seconds))
        return await self.http.post(
            f"{self.base}/webhooks/elevenlabs",
            content=body,
            headers={"Content-Type": "application/json", "ElevenLabs-Signature": signature},
        )


IngestFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningIngest]]


@pytest_asyncio.fixture
async def ingest(settings: HiloSettings) -> IngestFactory:
    """Start ingest in-process; keywords override its settings (``hilo``: other HiloSettings)."""

    @contextlib.asynccontextmanager
    async def start(
        hilo: HiloSettings | None = None, **overrides: Any
    ) -> AsyncIterator[RunningIngest]:
        config = ingest_settings(**overrides)
        service = build(config)
        chosen = hilo or settings
        async with service.running(chosen), httpx.AsyncClient(timeout=20) as http:
            yield RunningIngest(service, chosen, config, http)

    return start


def inbound_form(text: str = "Hola", contact: str = CONTACT, **extra: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "SmsMessageSid": sid,
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "MessagingServiceSid": "MG" + "2" * 32,
        "From": f"whatsapp:{contact}",
        "To": BUSINESS,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "ProfileName": "Ana",
        "WaId": contact.lstrip("+"),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return form


def status_form(sid: str, status: str, contact: str = CONTACT, **extra: str) -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": BUSINESS,
        "To": f"whatsapp:{contact}",
        "ApiVersion": "2010-04-01",
        "ChannelToAddress": contact,
        "ChannelPrefix": "whatsapp",
        "ChannelInstallSid": "XE" + "3" * 32,
    }
    form.update(extra)
    return form


def meta_payload(*values: dict[str, Any], entry_id: str = "102290129340398") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": entry_id, "changes": [{"field": "messages", "value": value}]} for value in values
        ],
    }


def meta_value(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return value


def meta_message(wa_id: str, kind: str, body: Any, **extra: Any) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": "wamid." + uuid.uuid4().hex.upper(),
        "timestamp": "1749416383",
        "type": kind,
        kind: body,
        **extra,
    }


def transcription_data(conversation_id: str, number: str = CONTACT, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "agent_id": "agent_standin",
        "conversation_id": conversation_id,
        "status": "done",
        "user_id": None,
        "transcript": [
            {"role": "agent", "message": "Hola Ana, ¿cómo estás?", "time_in_call_secs": 0},
            {"role": "user", "message": "Bien, quiero una cita el viernes", "time_in_call_secs": 3},
        ],
        "metadata": {
            "start_time_unix_secs": 1739537297,
            "call_duration_secs": 22,
            "cost": 296,
            "termination_reason": "end_call tool was called.",
            "phone_call": {
                "direction": "outbound",
                "phone_number_id": "phnum_1",
                "agent_number": "+14155550100",
                "external_number": number,
                "type": "twilio",
                "call_sid": "CA" + "4" * 32,
            },
            "batch_call": {"batch_call_id": "btcal_1", "batch_call_recipient_id": "btcrec_1"},
        },
        "analysis": {
            "evaluation_criteria_results": {"booked": {"result": "success"}},
            "data_collection_results": {"day": {"value": "viernes"}},
            "call_successful": "success",
            "transcript_summary": "Ana quiere una cita el viernes.",
        },
        "conversation_initiation_client_data": {
            "dynamic_variables": {"customer_name": "Ana", "system__called_number": number}
        },
        "has_audio": True,
    }
    data.update(extra)
    return data


def envelope(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "event_timestamp": int(time.time()), "data": data}
