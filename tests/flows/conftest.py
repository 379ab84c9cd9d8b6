"""Fixtures for the flows service: flow files, the outside API stand-in, the router's part."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from schemas import ConversationModeChanged, MessageReceived, MessageRouted
from services.flows.app import build
from services.flows.settings import FlowsSettings
from tests.flows.standins import SECRET, OutsideApi, outside_api

CONTACT = "+34600111222"
OUTPUT_TYPES = ("reply.ready", "flow", "conversation.mode_changed")
SECRET_ENV = "HILO_TEST_FLOW_SECRET"


def intake_flow(api_url: str | None) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "id": "alta",
        "name": "Alta de cliente",
        "language": "es",
        "trigger": {"keywords": ["registro", "inscripción"]},
        "questions": [
            {"id": "name", "text": "¿Cómo te llamas?"},
            {
                "id": "email",
                "text": "¿Cuál es tu correo electrónico?",
                "type": "email",
                "hint": "Escribe un correo válido, por ejemplo ana@ejemplo.com",
            },
            {"id": "people", "text": "¿Cuántas personas?", "type": "number"},
            {"id": "start", "text": "¿Desde qué día?", "type": "date"},
            {
                "id": "plan",
                "text": "¿Qué plan te interesa?",
                "type": "choice",
                "options": ["Básico", "Premium"],
            },
            {"id": "notes", "text": "¿Algo más?", "required": False},
        ],
        "final_message": "¡Gracias! Te escribimos pronto.",
    }
    if api_url:
        flow["external_api"] = {"url": api_url, "secret_env": SECRET_ENV, "timeout_seconds": 1}
    return flow


def quote_flow() -> dict[str, Any]:
    return {
        "id": "quote",
        "name": "Quote request",
        "language": "en",
        "trigger": {"keywords": ["quote"]},
        "questions": [
            {
                "id": "service",
                "text": {"en": "Which service?", "es": "¿Qué servicio?"},
                "type": "choice",
                "options": ["Cleaning", "Repairs", "Moving", "Gardening"],
            },
        ],
        "final_message": "Thanks!",
    }


def write_flows(directory: Path, *flows: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for flow in flows:
        (directory / f"{flow['id']}.yaml").write_text(
            yaml.safe_dump(flow, allow_unicode=True), encoding="utf-8"
        )
    return directory


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[OutsideApi]:
    async with outside_api() as server:
        yield server


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[testing.Published]:
    async with testing.watching(bus, OUTPUT_TYPES, testing.Published()) as seen:
        yield seen


def flows_settings(flows_dir: Path, **overrides: Any) -> FlowsSettings:
    values: dict[str, Any] = {
        "hilo_flows_dir": flows_dir,
        "hilo_timezone": "Europe/Madrid",
        "flows_api_backoff_seconds": 0.05,
        "flows_api_backoff_max_seconds": 0.2,
        "flows_api_attempts": 3,
        "flows_timer_seconds": 0.2,
    }
    values.update(overrides)
    return FlowsSettings(**values)


FlowsFactory = Callable[..., contextlib.AbstractAsyncContextManager[Runtime]]


@pytest_asyncio.fixture
async def flows_service(settings: HiloSettings, tmp_path: Path, api: OutsideApi) -> FlowsFactory:
    """Start the flows service in-process with the intake flow (outside API: the stand-in)."""
    flows_dir = write_flows(tmp_path / "flows", intake_flow(api.url), quote_flow())

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Runtime]:
        service = build(flows_settings(flows_dir, **overrides))
        async with service.running(settings, http=False) as runtime:
            yield runtime

    return start


class Router:
    """Publishes what the router would: the message, then who answers it."""

    def __init__(self, bus: EventBus, contact: str = CONTACT) -> None:
        self.bus = bus
        self.contact = contact

    async def says(
        self,
        text: str | None,
        *,
        keyword_of: str | None = None,
        kind: str = "text",
        reply_id: str | None = None,
        reply_title: str | None = None,
    ) -> MessageReceived:
        message = MessageReceived(
            conversation=self.contact,
            provider="twilio",
            provider_message_id=f"SM{uuid.uuid4().hex}",
            kind=kind,
            text=text,
            reply_id=reply_id,
            reply_title=reply_title,
        )
        await self.bus.publish(message)
        await self.route(message, keyword_of=keyword_of)
        return message

    async def route(self, message: MessageReceived, *, keyword_of: str | None = None) -> None:
        if keyword_of:
            await self.bus.publish(
                message.caused(
                    ConversationModeChanged,
                    "router.mode",
                    mode="flow",
                    reason="flow_keyword",
                    flow_id=keyword_of,
                )
            )
        await self.bus.publish(
            message.caused(
                MessageRouted,
                "router.routed",
                message_event_id=message.event_id,
                answerer="flow",
                reason="flow_keyword" if keyword_of else "mode",
                flow_id=keyword_of,
            )
        )

    async def mode(self, mode: str, reason: str, flow_id: str | None = None) -> None:
        await self.bus.publish(
            ConversationModeChanged(
                conversation=self.contact,
                mode=mode,
                reason=reason,
                flow_id=flow_id,
            )
        )


async def questions(published: testing.Published, count: int, timeout: float = 15) -> list[Any]:
    """The first ``count`` questions asked (distinct events), in order."""
    return await published.wait_for("flow.question_asked", CONTACT, count=count, timeout=timeout)


async def drained(bus: EventBus, durable: str = "flows") -> None:
    async def done() -> bool:
        info = await bus.js.consumer_info(bus.naming.events_stream, bus.naming.durable(durable))
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    await testing.eventually(done, timeout=15)
