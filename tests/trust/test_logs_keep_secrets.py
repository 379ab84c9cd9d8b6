"""A scripted day through every service, with every log record of the run kept and searched.

The day: a WhatsApp text, a voice note (fetched from the Twilio media stand-in, transcribed
by an OpenAI-compatible stand-in), a call's post-call webhook (the voice bridge opens on
WhatsApp through the ElevenLabs stand-in), and an operator's reply (``reply.ready``, author
human). The providers' secrets, the texts, the transcripts and the contact's number are
known in advance; the root logger is opened to DEBUG for every library, and no record may
hold a secret, a text or the number unmasked (the last four digits may show).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from hilo.bus import EventBus
from hilo.logs import Redactor, install, redact, secrets_from
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, serving, watching
from schemas import ReplyReady
from services.analyzer.app import build as build_analyzer
from services.analyzer.settings import AnalyzerSettings
from services.ingest.app import build as build_ingest
from services.ingest.settings import IngestSettings
from services.ingest.signatures import elevenlabs_signature, twilio_signature
from services.notifier.app import build as build_notifier
from services.notifier.settings import NotifierSettings
from services.projector.app import build as build_projector
from services.recorder.app import build as build_recorder
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from services.transcriber.app import build as build_transcriber
from services.transcriber.decoding import SAMPLE_RATE, encode
from services.transcriber.settings import TranscriberSettings
from services.voice_bridge.app import build as build_bridge
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.notifier.standins import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM, provider_standins
from tests.transcriber import standins as media
from tests.transcriber.standins import ProviderStandIn, provider_standin
from tests.voice_bridge.standin import ElevenLabsStandIn

CONTACT = "+573004441987"
SECRETS = {
    "twilio auth token (messages)": AUTH_TOKEN,
    "twilio auth token (media)": media.AUTH_TOKEN,
    "elevenlabs webhook secret": "wsec_logs_never_show_this",
    "elevenlabs api key": "xi-logs-never-show-this",
    "openai api key": "sk-logs-never-show-this",
    "meta app secret": "meta-logs-never-show-this",
}
TEXT = "Mi clave del portal es ZAFIRO-7731, no se la digas a nadie"
TRANSCRIPT = "Soy Ana y vivo en la calle Almendro 55, cuarto piso"
CALL_LINE = "Mi tarjeta termina en 4417 y caduca en marzo"
CALL_SUMMARY = "Ana pidió cambiar la tarjeta TORMENTA-2210 de su cuenta"
OPERATOR_TEXT = "Hola Ana, su código de acceso nuevo es GRANATE-5390"
TEMPLATE_SID = "HX" + "b" * 32
PRIVATE = {
    "message text": TEXT,
    "a word of it": "ZAFIRO-7731",
    "transcript": TRANSCRIPT,
    "a word of the transcript": "Almendro 55",
    "call line": CALL_LINE,
    "call summary": CALL_SUMMARY,
    "a word of the summary": "TORMENTA-2210",
    "operator reply": OPERATOR_TEXT,
    "a word of the reply": "GRANATE-5390",
    "contact number": CONTACT.lstrip("+"),
    "contact number, national": CONTACT[3:],
}


class Captured(logging.Handler):
    """Every record of every logger, as the line a formatter would write (with tracebacks)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def every_log_record() -> Iterator[tuple[Captured, Captured]]:
    """Every record as it was logged, and as `hilo serve` writes it (through the redactor)."""
    root = logging.getLogger()
    raw, written = Captured(), Captured()
    install([written], SECRETS.values())
    # Loggers that set their own level or stop propagating are opened up for the run too.
    loggers = [root] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is not root:
            logger.propagate = True
    # In this order: the redactor rewrites the record that handlers after it see.
    root.addHandler(raw)
    root.addHandler(written)
    try:
        yield raw, written
    finally:
        root.removeHandler(raw)
        root.removeHandler(written)
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


@dataclass
class TranscriptionStandIn:
    """OpenAI's `POST /v1/audio/transcriptions`, answering the day's known transcript."""

    base_url: str = ""
    uploads: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/audio/transcriptions")
        async def transcriptions(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {SECRETS['openai api key']}":
                return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
            await request.form()
            self.uploads += 1
            return JSONResponse({"text": TRANSCRIPT, "language": "spanish", "duration": 2.0})

        return app


@contextlib.asynccontextmanager
async def transcription_standin() -> AsyncIterator[TranscriptionStandIn]:
    standin = TranscriptionStandIn()
    async with serving(standin.app(), "127.0.0.1") as base:
        standin.base_url = f"{base}/v1"
        yield standin


def voice_note() -> bytes:
    """Two seconds of a tone as WhatsApp's Ogg/Opus (what is said comes from the stand-in)."""
    t = np.arange(SAMPLE_RATE * 2, dtype=np.float32) / SAMPLE_RATE
    return encode((0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32))


def twilio_form(**fields: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{CONTACT}",
        "To": WHATSAPP_FROM,
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": CONTACT.lstrip("+"),
        **fields,
    }


def post_call() -> dict[str, Any]:
    return {
        "type": "post_call_transcription",
        "event_timestamp": int(time.time()),
        "data": {
            "agent_id": "agent_standin",
            "conversation_id": f"conv_{uuid.uuid4().hex[:12]}",
            "status": "done",
            "transcript": [
                {"role": "agent", "message": "Hola Ana, ¿en qué te ayudo?", "time_in_call_secs": 0},
                {"role": "user", "message": CALL_LINE, "time_in_call_secs": 3},
            ],
            "metadata": {
                "start_time_unix_secs": int(time.time()) - 60,
                "call_duration_secs": 40,
                "phone_call": {"external_number": CONTACT, "agent_number": "+14155550100"},
            },
            "analysis": {"transcript_summary": CALL_SUMMARY, "call_successful": "success"},
            "conversation_initiation_client_data": {"dynamic_variables": {"customer_name": "Ana"}},
        },
    }


@contextlib.asynccontextmanager
async def every_service(
    settings: HiloSettings,
    twilio_url: str,
    media_standin: ProviderStandIn,
    openai_url: str,
    agent: ElevenLabsStandIn,
    flows: Path,
) -> AsyncIterator[str]:
    ingest = build_ingest(
        IngestSettings(
            _env_file=None,
            twilio_auth_token=AUTH_TOKEN,
            twilio_account_sid=ACCOUNT_SID,
            whatsapp_app_secret=SECRETS["meta app secret"],
            elevenlabs_webhook_secret=SECRETS["elevenlabs webhook secret"],
        )
    )
    transcriber = build_transcriber(
        TranscriberSettings(
            _env_file=None,
            hilo_transcriber="openai",
            openai_api_key=SECRETS["openai api key"],
            openai_base_url=openai_url,
            twilio_api_base=media_standin.api_base,
            twilio_account_sid=media.ACCOUNT_SID,
            twilio_auth_token=media.AUTH_TOKEN,
            transcriber_media_hosts=media.CDN_HOST,
        )
    )
    bridge = build_bridge(
        VoiceBridgeSettings(
            _env_file=None,
            elevenlabs_api_base=agent.url,
            elevenlabs_api_key=SECRETS["elevenlabs api key"],
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
            twilio_api_base=twilio_url,
            notifier_twilio_template_sid=TEMPLATE_SID,
            notifier_rate_per_second=0,
        )
    )
    analyzer = build_analyzer(AnalyzerSettings(_env_file=None, analyzer_burst_seconds=0))
    router = build_router(RouterSettings(_env_file=None, hilo_flows_dir=flows))
    async with (
        ingest.running(settings),
        build_recorder().running(settings, http=False),
        build_projector().running(settings, http=False),
        router.running(settings, http=False),
        transcriber.running(settings, http=False),
        analyzer.running(settings, http=False),
        bridge.running(settings, http=False),
        notifier.running(settings, http=False),
    ):
        yield f"http://127.0.0.1:{ingest.http_port}"


async def test_a_day_of_conversations_leaves_no_secret_text_or_number_in_the_logs(
    settings: HiloSettings, bus: EventBus, tmp_path: Path
) -> None:
    kinds = ("audio.transcribed", "message.sent", "reply.ready")
    with every_log_record() as captured:
        async with (
            provider_standins() as twilio,
            provider_standin() as media_standin,
            transcription_standin() as openai,
            ElevenLabsStandIn(api_key=SECRETS["elevenlabs api key"]) as agent,
            watching(bus, kinds, Published()) as published,
            httpx.AsyncClient(timeout=20) as http,
            every_service(
                settings, twilio.base_url, media_standin, openai.base_url, agent, tmp_path
            ) as ingest,
        ):

            async def post_twilio(form: dict[str, str]) -> None:
                url = f"{ingest}/webhooks/twilio/whatsapp"
                signature = twilio_signature(AUTH_TOKEN, url, form)
                answer = await http.post(url, data=form, headers={"X-Twilio-Signature": signature})
                assert answer.status_code == 200, answer.text

            async def sent(count: int) -> list[dict[str, Any]] | None:
                return twilio.twilio_messages if len(twilio.twilio_messages) >= count else None

            # A text; the analyzer answers it.
            await post_twilio(twilio_form(Body=TEXT))
            await eventually(lambda: sent(1), timeout=30)

            # A voice note, fetched with Basic auth and transcribed.
            media_standin.add("ME" + "1" * 32, voice_note(), "audio/ogg")
            note = twilio_form(
                NumMedia="1",
                MediaUrl0=media_standin.twilio_url("ME" + "1" * 32),
                MediaContentType0="audio/ogg",
            )
            await post_twilio(note)
            [transcribed] = await published.wait_for("audio.transcribed", timeout=30)
            assert transcribed.text == TRANSCRIPT

            # A call ends; the voice bridge opens on WhatsApp with a template.
            body = json.dumps(post_call()).encode()
            signature = elevenlabs_signature(
                SECRETS["elevenlabs webhook secret"], body, int(time.time())
            )
            answer = await http.post(
                f"{ingest}/webhooks/elevenlabs",
                content=body,
                headers={"Content-Type": "application/json", "ElevenLabs-Signature": signature},
            )
            assert answer.status_code == 200, answer.text

            # An operator answers.
            operator = ReplyReady(
                conversation=CONTACT, reply_id=uuid.uuid4(), author="human", text=OPERATOR_TEXT
            )
            await bus.publish(operator)

            async def operator_sent() -> bool:
                return any(
                    getattr(e, "reply_id", None) == operator.reply_id
                    for e in published.of("message.sent")
                )

            await eventually(operator_sent, timeout=30)
            assert any(m.get("body") == OPERATOR_TEXT for m in twilio.twilio_messages)

    raw, written = captured
    assert written.lines, "no log record was captured"
    # Our own code leaks nothing even before the redactor sees it …
    ours = [line for line in raw.lines if line.startswith(("hilo.", "services."))]
    assert ours and leaks(ours) == [], "\n".join(leaks(ours))
    # … and what `hilo serve` writes, libraries included, holds none of it either.
    assert leaks(written.lines) == [], "\n".join(leaks(written.lines))
    # The media URL after Twilio's redirect is a capability (its signature fetches the
    # file): httpx logs it, the redactor keeps its query values out.
    assert any("Signature=" in line for line in raw.lines), "the redirect was not logged"
    assert not [line for line in written.lines if re.search(r"Signature=[0-9a-f]", line)]
    # Numbers show masked: conversations can still be told apart.
    assert any(f"…{CONTACT[-4:]}" in line for line in written.lines)


def leaks(lines: list[str]) -> list[str]:
    return [
        f"{what} in: {line[:300]}"
        for line in lines
        for what, value in {**SECRETS, **PRIVATE}.items()
        if value in line
    ]


def test_the_redactor_masks_numbers_query_values_and_secrets() -> None:
    line = (
        "GET https://cdn.example/ME1?Expires=600&Signature=abc123 to whatsapp:+573004441987 "
        "on message.received.573004441987 with sk-logs-never-show-this"
    )
    assert redact(line, ["sk-logs-never-show-this"]) == (
        "GET https://cdn.example/ME1?Expires=…&Signature=… to whatsapp:…1987 "
        "on message.received.…1987 with ***"
    )
    # Ids, timestamps and figures are left alone.
    kept = "reply dae8d7a2-12345678-53b1 at 1739537297 took 0.123456789 s; +1 555"
    assert redact(kept) == kept
    assert secrets_from({"TWILIO_AUTH_TOKEN": "abcdefgh", "HILO_TIMEZONE": "Europe/Madrid"}) == [
        "abcdefgh"
    ]


def test_a_malformed_logging_call_does_not_raise_through_the_redactor() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s and %s", ("one",), None)
    assert Redactor(["secret-value"]).filter(record) is True
