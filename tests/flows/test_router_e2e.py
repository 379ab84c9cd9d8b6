"""End to end through the real router: Twilio inbound via ingest, the router's decisions,
the flows service, the outside API stand-in, the notifier to the Twilio stand-in, the store
and the read model; and a finished call whose data collection names a flow."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from hilo import testing
from hilo.bus import EventBus
from hilo.projections.runner import PROJECTIONS, catch_up
from hilo.settings import HiloSettings
from services.flows.app import build as build_flows
from services.ingest.app import build as build_ingest
from services.ingest.signatures import elevenlabs_signature, twilio_signature
from services.notifier.app import build as build_notifier
from services.recorder.app import build as build_recorder
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from tests.flows.conftest import flows_settings, intake_flow, write_flows
from tests.flows.standins import OutsideApi, final
from tests.flows.standins import questions as more_questions
from tests.ingest.conftest import (
    AUTH_TOKEN,
    BUSINESS,
    ELEVENLABS_SECRET,
    envelope,
    inbound_form,
    ingest_settings,
    transcription_data,
)
from tests.notifier.conftest import notifier_settings
from tests.notifier.standins import ProviderStandIns, provider_standins

CONTACT = "+34600777888"


class Stack:
    def __init__(self, base: str, standins: ProviderStandIns, http: httpx.AsyncClient) -> None:
        self.base = base
        self.standins = standins
        self.http = http

    async def whatsapp(self, text: str) -> None:
        form = inbound_form(text, contact=CONTACT, To=BUSINESS)
        url = f"{self.base}/webhooks/twilio/whatsapp"
        signature = twilio_signature(AUTH_TOKEN, url, form)
        response = await self.http.post(url, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text

    async def call_ended(self, data_collection: dict[str, Any]) -> None:
        data = transcription_data(f"conv_{uuid.uuid4().hex[:8]}", number=CONTACT)
        data["analysis"]["data_collection_results"] = data_collection
        body = json.dumps(envelope("post_call_transcription", data)).encode()
        signature = elevenlabs_signature(ELEVENLABS_SECRET, body, int(time.time()))
        response = await self.http.post(
            f"{self.base}/webhooks/elevenlabs",
            content=body,
            headers={"Content-Type": "application/json", "ElevenLabs-Signature": signature},
        )
        assert response.status_code == 200, response.text

    async def sent(self, count: int) -> list[str]:
        async def enough() -> list[str] | None:
            texts = [str(m.get("body")) for m in self.standins.twilio_messages]
            return texts if len(texts) >= count else None

        return await testing.eventually(enough, timeout=30)


@contextlib.asynccontextmanager
async def stack(settings: HiloSettings, tmp_path: Path, api: OutsideApi) -> AsyncIterator[Stack]:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(api.url))
    async with (
        provider_standins() as standins,
        build_recorder().running(settings, http=False),
        build_router(RouterSettings(hilo_flows_dir=flows_dir)).running(settings, http=False),
        build_flows(flows_settings(flows_dir)).running(settings, http=False),
        build_notifier(notifier_settings(standins, "twilio")).running(settings, http=False),
        httpx.AsyncClient(timeout=20) as http,
    ):
        ingest = build_ingest(ingest_settings())
        async with ingest.running(settings):
            yield Stack(f"http://127.0.0.1:{ingest.http_port}", standins, http)


async def test_from_the_keyword_through_the_router_to_the_outside_apis_final_message(
    settings: HiloSettings,
    bus: EventBus,
    pool: asyncpg.Pool,
    tmp_path: Path,
    api: OutsideApi,
    published: testing.Published,
) -> None:
    api.queue(
        more_questions({"id": "rooms", "text": "¿Cuántas habitaciones?", "type": "number"}),
        final("Tu presupuesto: 120 €."),
    )
    async with stack(settings, tmp_path, api) as hilo:
        await hilo.whatsapp("Registro")
        assert (await hilo.sent(1))[-1] == "¿Cómo te llamas?"
        answers = ["Ana", "ana@", "ana@ejemplo.com", "3", "el viernes", "2", "saltar", "4"]
        for n, text in enumerate(answers, start=2):
            await hilo.whatsapp(text)
            await hilo.sent(n)
        texts = await hilo.sent(9)
        await published.wait_for("flow.session_completed", CONTACT, timeout=30)
        modes = await published.wait_for("conversation.mode_changed", CONTACT, count=2)
        # After the flow the conversation is answered automatically again.
        await hilo.whatsapp("Gracias")

        async def routed_to_analyzer() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM events WHERE type = 'message.routed' "
                    "AND data->>'answerer' = 'analyzer'"
                )
            )

        await testing.eventually(routed_to_analyzer, timeout=30)
        await testing.eventually(lambda: _stored(pool, "flow.session_completed"), timeout=30)
    assert "Escribe un correo válido" in texts[2]
    assert "1. Básico\n2. Premium" in texts[5]
    assert texts[-2:] == ["¿Cuántas habitaciones?", "Tu presupuesto: 120 €."]
    assert [(m.mode, m.reason) for m in modes[:2]] == [
        ("flow", "flow_keyword"),
        ("analyzer", "flow_ended"),
    ]
    assert [c.body["round"] for c in api.calls] == [1, 2]
    await catch_up(pool, PROJECTIONS["flow_sessions"], codec=bus.codec)
    row = await pool.fetchrow("SELECT * FROM proj_flow_sessions WHERE contact = $1", CONTACT)
    assert row is not None and row["state"] == "completed" and row["round"] == 2
    assert row["answers"]["plan"] == "Premium" and row["answers"]["rooms"] == 4


async def _stored(pool: asyncpg.Pool, kind: str) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM events WHERE type = $1", kind))


async def test_a_call_whose_data_collection_names_a_flow_starts_it(
    settings: HiloSettings,
    bus: EventBus,
    tmp_path: Path,
    api: OutsideApi,
    published: testing.Published,
) -> None:
    async with stack(settings, tmp_path, api) as hilo:
        await hilo.call_ended({"flow": {"value": "alta", "rationale": "wants to sign up"}})
        asked = await published.wait_for("flow.question_asked", CONTACT, timeout=30)
    started = published.distinct("flow.session_started", CONTACT)
    assert started[0].source == "call" and asked[0].question_id == "name"
    first = next(r for r in published.distinct("reply.ready", CONTACT) if r.author == "flow")
    assert first.business_initiated
