"""Through the real stack: Twilio and Meta inbound via ingest, the flows service, the real
notifier sending to the providers' stand-ins, and Meta's interactive replies coming back.

The router is not part of this branch yet: a small stand-in routes each inbound message as
the router's table says (a flow's keyword, else the conversation's flow mode).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from nats.aio.msg import Msg

from hilo import testing
from hilo.bus import EventBus
from hilo.flowdefs import load_flows
from hilo.settings import HiloSettings
from schemas import MessageReceived, MessageRouted
from services.flows.app import build as build_flows
from services.ingest.app import build as build_ingest
from services.ingest.signatures import meta_signature, twilio_signature
from services.notifier.app import build as build_notifier
from tests.flows.conftest import flows_settings, quote_flow, write_flows
from tests.ingest.conftest import (
    AUTH_TOKEN,
    BUSINESS,
    inbound_form,
    ingest_settings,
    meta_message,
    meta_payload,
    meta_value,
)
from tests.notifier.conftest import notifier_settings
from tests.notifier.standins import ProviderStandIns, provider_standins

SHORT = {
    "id": "plan",
    "name": "Plan",
    "language": "es",
    "trigger": {"keywords": ["plan"]},
    "questions": [
        {"id": "name", "text": "¿Cómo te llamas?"},
        {"id": "plan", "text": "¿Qué plan?", "type": "choice", "options": ["Básico", "Premium"]},
    ],
    "final_message": "¡Hecho!",
}


@contextlib.asynccontextmanager
async def router_standin(bus: EventBus, flows_dir: Path) -> AsyncIterator[None]:
    """Routes every inbound message to the flow (keyword → that flow), as the router would."""
    flows = load_flows(flows_dir)

    async def route(msg: Msg) -> None:
        message = await bus.decode(msg.data)
        assert isinstance(message, MessageReceived)
        flow = flows.triggered_by(message.text)
        await bus.publish(
            message.caused(
                MessageRouted,
                "router.routed",
                message_event_id=message.event_id,
                answerer="flow",
                reason="flow_keyword" if flow else "mode",
                flow_id=flow.id if flow else None,
            )
        )

    sub = await bus.nc.subscribe(bus.naming.type_filter("message.received"), cb=route)
    try:
        yield
    finally:
        await sub.unsubscribe()


@contextlib.asynccontextmanager
async def stack(
    settings: HiloSettings, bus: EventBus, tmp_path: Path, mode: str, **notifier: Any
) -> AsyncIterator[tuple[ProviderStandIns, str]]:
    flows_dir = write_flows(tmp_path / "flows", SHORT, quote_flow())
    async with (
        provider_standins() as standins,
        router_standin(bus, flows_dir),
        build_flows(flows_settings(flows_dir, **notifier.pop("flows", {}))).running(
            settings, http=False
        ),
        build_notifier(notifier_settings(standins, mode, **notifier)).running(settings, http=False),
    ):
        ingest = build_ingest(ingest_settings())
        async with ingest.running(settings):
            yield standins, f"http://127.0.0.1:{ingest.http_port}"


async def _meta(http: httpx.AsyncClient, base: str, message: dict[str, Any]) -> None:
    body = httpx.Request("POST", "/", json=meta_payload(meta_value([message]))).content
    from tests.ingest.conftest import APP_SECRET

    response = await http.post(
        f"{base}/webhooks/meta",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256":
                 meta_signature(APP_SECRET, body)},
    )  # fmt: skip
    assert response.status_code == 200, response.text


async def test_meta_inbound_gets_buttons_and_a_tapped_button_answers(
    settings: HiloSettings, bus: EventBus, tmp_path: Path
) -> None:
    wa_id = "34600999888"
    async with (
        stack(settings, bus, tmp_path, "meta") as (standins, base),
        httpx.AsyncClient(timeout=20) as http,
    ):
        await _meta(http, base, now_message(wa_id, "text", {"body": "Plan"}))
        await testing.eventually(lambda: _count(standins.meta_messages, 1))
        await _meta(http, base, now_message(wa_id, "text", {"body": "Ana"}))
        sent = await testing.eventually(lambda: _count(standins.meta_messages, 2))
        buttons = sent[1]
        assert buttons["type"] == "interactive"
        assert buttons["interactive"]["type"] == "button"
        assert buttons["interactive"]["body"] == {"text": "¿Qué plan?"}
        tapped = buttons["interactive"]["action"]["buttons"][1]["reply"]
        assert tapped == {"id": "flow:plan:2", "title": "Premium"}
        reply = {"type": "button_reply", "button_reply": tapped}
        await _meta(http, base, now_message(wa_id, "interactive", reply))
        done = await testing.eventually(lambda: _count(standins.meta_messages, 3))
    assert done[2]["text"]["body"] == "¡Hecho!"


async def test_a_long_list_goes_as_a_meta_list(
    settings: HiloSettings, bus: EventBus, tmp_path: Path
) -> None:
    wa_id = "34600999777"
    async with (
        stack(settings, bus, tmp_path, "meta") as (standins, base),
        httpx.AsyncClient(timeout=20) as http,
    ):
        await _meta(http, base, now_message(wa_id, "text", {"body": "quote"}))
        sent = await testing.eventually(lambda: _count(standins.meta_messages, 1))
        listed = sent[0]["interactive"]
        assert listed["type"] == "list"
        rows = listed["action"]["sections"][0]["rows"]
        assert [r["title"] for r in rows] == ["Cleaning", "Repairs", "Moving", "Gardening"]
        pick = {"type": "list_reply", "list_reply": {"id": rows[2]["id"], "title": "Moving"}}
        await _meta(http, base, now_message(wa_id, "interactive", pick))
        done = await testing.eventually(lambda: _count(standins.meta_messages, 2))
    assert done[1]["text"]["body"] == "Thanks!"


async def test_twilio_inbound_gets_numbered_text_or_the_configured_content(
    settings: HiloSettings, bus: EventBus, tmp_path: Path
) -> None:
    contact = "+34600999666"
    sids = {"plan.plan": "HX" + "a" * 32}
    async with (
        stack(settings, bus, tmp_path, "twilio", flows={"flows_twilio_content_sids": sids}) as (
            standins,
            base,
        ),
        httpx.AsyncClient(timeout=20) as http,
    ):
        for n, text in enumerate(["plan", "Ana"], start=1):
            form = inbound_form(text, contact=contact, To=BUSINESS)
            path = f"{base}/webhooks/twilio/whatsapp"
            signature = twilio_signature(AUTH_TOKEN, path, form)
            response = await http.post(path, data=form, headers={"X-Twilio-Signature": signature})
            assert response.status_code == 200, response.text
            sent = await testing.eventually(partial(_count, standins.twilio_messages, n))
    assert sent[0]["body"] == "¿Cómo te llamas?"
    requests = [r.fields for r in standins.twilio_requests]
    assert requests[1]["ContentSid"] == sids["plan.plan"] and "Body" not in requests[1]


def now_message(wa_id: str, kind: str, body: Any) -> dict[str, Any]:
    """A Meta message sent just now (the 24-hour window is open)."""
    return meta_message(wa_id, kind, body, timestamp=str(int(time.time())))


async def _count(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]] | None:
    return list(items) if len(items) >= n else None
