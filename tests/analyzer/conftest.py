"""Fixtures for the analyzer service: the running service, a bus listener, an OpenAI stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime, Service
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, marker_round_trip, watching
from schemas import MessageReceived, utc_now
from services.analyzer import SERVICE
from services.analyzer.app import build
from services.analyzer.settings import AnalyzerSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings

OUTPUT_TYPES = SERVICE.publishes

# Colombia has one time zone: the analyzer takes America/Bogota from the number.
CUSTOMER = "+573001112233"
BUSINESS = "+573009998877"


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, OUTPUT_TYPES, Published()) as seen:
        yield seen


AnalyzerFactory = Callable[..., contextlib.AbstractAsyncContextManager[tuple[Service, Runtime]]]


@pytest_asyncio.fixture
async def analyzer(settings: HiloSettings, tmp_path: Path) -> AnalyzerFactory:
    """Start the analyzer in-process, with the router that assigns it the messages it answers;
    keyword arguments override the analyzer's settings."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[tuple[Service, Runtime]]:
        values: dict[str, Any] = {
            "hilo_analyzer": "rules",
            "analyzer_burst_seconds": 0.0,
            "analyzer_voice_note_wait_seconds": 5.0,
            # The conversations are dated in November 2026, whatever today is.
            "analyzer_reply_max_age_hours": 0,
            # No business profile: these tests read the generic answers (tests/business/
            # write a profile of their own).
            "hilo_business_file": "",
        }
        values.update(overrides)
        service = build(AnalyzerSettings(**values))
        router = build_router(RouterSettings(hilo_flows_dir=tmp_path / "no-flows"))
        async with router.running(settings, http=False), service.running(settings) as runtime:
            yield service, runtime

    return start


async def drained(bus: EventBus, durable: str = "analyzer") -> None:
    """The analyzer's consumer has handled (acked) everything in the stream."""
    await testing.drained(bus, durable)


async def settled(runtime: Runtime, bus: EventBus) -> None:
    """Consumer drained, every queued burst processed, its events published and heard.

    The last step is a marker: published after the outbox is empty, it reaches this
    connection after everything the analyzer published before (NATS keeps that order).
    """
    await drained(bus)

    async def nothing_open() -> bool:
        value = await runtime.db.fetchval(
            "SELECT (SELECT count(*) FROM analyzer_inbox WHERE processed_at IS NULL)"
            " + (SELECT count(*) FROM hilo_outbox WHERE published_at IS NULL)"
        )
        return bool(value == 0)

    await eventually(nothing_open, timeout=15)
    await marker_round_trip(bus)


def text_message(
    text: str, at: datetime | None = None, conversation: str = CUSTOMER, **fields: Any
) -> MessageReceived:
    """A message written now (or at ``at``), so replies fall between messages in time."""
    return MessageReceived(
        conversation=conversation,
        occurred_at=at or utc_now(),
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        business_number=BUSINESS,
        contact_name="Lucía Gómez",
        text=text,
        **fields,
    )


# --- an OpenAI-compatible stand-in -----------------------------------------------------------


@dataclass
class OpenAIStandIn:
    """POST /v1/chat/completions as OpenAI answers it; `mode` decides the answer."""

    mode: str = "ok"
    answer: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            if self.mode == "error500":
                return JSONResponse(
                    {"error": {"message": "The server had an error", "type": "server_error"}},
                    status_code=500,
                )
            if self.mode == "slow":
                await asyncio.sleep(5)
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
            if self.mode == "refusal":
                message["refusal"] = "I'm sorry, I can't help with that."
            elif self.mode == "malformed":
                message["content"] = '{"language": "es", "summary": '
            elif self.mode == "invalid":
                message["content"] = json.dumps({**self.answer, "intent": "dance"})
            else:
                message["content"] = json.dumps(self.answer)
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "gpt-4o-mini"),
                    "choices": [
                        {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
            )

        return app


@pytest_asyncio.fixture
async def openai_standin() -> AsyncIterator[OpenAIStandIn]:
    standin = OpenAIStandIn()
    async with testing.serving(standin.app()) as base:
        standin.url = f"{base}/v1"
        yield standin
