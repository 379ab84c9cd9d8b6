"""The providers `hilo up` talks to during a chaos run, all local stand-ins, and its environment.

Twilio's Messages API (``tests/notifier/standins.py``: it records every message it created,
what the contacts would get), OpenAI's transcription endpoint (a fixed transcript: the run
is about delivery, not about speech), ElevenLabs' agent socket (``tests/voice_bridge``) and
a flow's outside API (``tests/flows/standins.py``). No provider on the internet is reached.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hilo.embedded import free_port
from hilo.testing import serving
from tests.flows.standins import OutsideApi, outside_api
from tests.notifier.standins import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    ProviderStandIns,
    provider_standins,
)
from tests.voice_bridge.standin import ElevenLabsStandIn

OPENAI_KEY = "sk-chaos-standin"
ELEVENLABS_KEY = "xi-chaos-standin"
ELEVENLABS_SECRET = "wsec_chaos_standin"
TEMPLATE_SID = "HX" + "c" * 32
TRANSCRIPT = "Hola, quería saber si tenéis cita el viernes a las diez"
FLOW_KEYWORD = "encuesta"
FLOW_FILE = """\
id: caos
name: Encuesta
language: es
trigger:
  keywords: [{keyword}]
questions:
  - id: name
    text: "¿Cómo te llamas?"
  - id: plan
    text: "¿Qué plan te interesa?"
    type: choice
    options: [Básico, Premium]
external_api:
  url: {url}
  timeout_seconds: 5
final_message: "¡Gracias! Te escribimos pronto."
"""
# Open every day, all day: a booking asked for at any hour of the run fits the calendar.
BUSINESS_FILE = """\
name: Clínica del caos
timezone: Europe/Madrid
languages: [es, en]
hours:
{days}
"""


@dataclass
class Transcriptions:
    """OpenAI's ``POST /v1/audio/transcriptions``: every note says :data:`TRANSCRIPT`."""

    base_url: str = ""
    uploads: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/audio/transcriptions")
        async def transcriptions(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
                return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
            await request.form()
            self.uploads += 1
            return JSONResponse({"text": TRANSCRIPT, "language": "spanish", "duration": 2.0})

        return app


@dataclass
class Providers:
    twilio: ProviderStandIns
    transcriptions: Transcriptions
    agent: ElevenLabsStandIn
    flow_api: OutsideApi
    files: Path = field(default=Path("."))

    def environment(self, data_dir: Path, http_port: int) -> dict[str, str]:
        """`hilo up`'s environment: this run's data and ports, every provider a stand-in."""
        mine = ("HILO_", "TWILIO_", "WHATSAPP_", "ELEVENLABS_", "OPENAI_", "GRAPH_")
        services = ("ANALYZER_", "NOTIFIER_", "TRANSCRIBER_", "ROUTER_", "FLOWS_", "INGEST_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(mine + services)}
        flows = self.files / "flows"
        flows.mkdir(parents=True, exist_ok=True)
        (flows / "caos.yaml").write_text(
            FLOW_FILE.format(keyword=FLOW_KEYWORD, url=self.flow_api.url), "utf-8"
        )
        days = "\n".join(f'  {d}: ["00:00-23:59"]' for d in _WEEK)
        business = self.files / "business.yaml"
        business.write_text(BUSINESS_FILE.format(days=days), "utf-8")
        env.update(
            HILO_DATA_DIR=str(data_dir),
            HILO_HTTP_PORT=str(http_port),
            HILO_NATS_PORT=str(free_port()),
            HILO_INBOX_PORT=str(free_port()),
            HILO_TIMEZONE="Europe/Madrid",
            HILO_BUSINESS_FILE=str(business),
            HILO_FLOWS_DIR=str(flows),
            HILO_ANALYZER="rules",
            ANALYZER_BURST_SECONDS="0",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
            TWILIO_API_BASE=self.twilio.base_url,
            GRAPH_API_BASE=self.twilio.base_url,
            NOTIFIER_TWILIO_TEMPLATE_SID=TEMPLATE_SID,
            NOTIFIER_RATE_PER_SECOND="0",
            HILO_TRANSCRIBER="openai",
            OPENAI_API_KEY=OPENAI_KEY,
            OPENAI_BASE_URL=self.transcriptions.base_url,
            ELEVENLABS_API_BASE=self.agent.url,
            ELEVENLABS_API_KEY=ELEVENLABS_KEY,
            ELEVENLABS_AGENT_ID=self.agent.agent_id,
            ELEVENLABS_WEBHOOK_SECRET=ELEVENLABS_SECRET,
        )
        return env


_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@contextlib.asynccontextmanager
async def providers(files: Path) -> AsyncIterator[Providers]:
    transcriptions = Transcriptions()
    async with (
        provider_standins() as twilio,
        serving(transcriptions.app()) as openai_base,
        ElevenLabsStandIn(api_key=ELEVENLABS_KEY) as agent,
        outside_api() as flow_api,
    ):
        transcriptions.base_url = f"{openai_base}/v1"
        yield Providers(twilio, transcriptions, agent, flow_api, files)
