"""The proof of forgetting: nothing of a forgotten contact can be read anywhere Hilo keeps data.

Every service runs in-process on the real NATS and PostgreSQL. Two contacts each live a
scripted day: a text with their name and a sentence of their own, a voice note (fetched
from the Twilio media stand-in, transcribed by an OpenAI-compatible stand-in), a question
flow answered with their full name, an operator's reply through the operator API, and a
call's post-call webhook. Then ``hilo contacts forget`` (the command, as a subprocess)
forgets one of them and waits for every service's ``contact.data_erased``.

Afterwards every column of every row of every table (and every large object), every
message of the namespace's JetStream streams (subjects, headers and bytes), every file of
the data directory and every log record of the run are searched for that contact's texts,
name and number (E.164, without the plus, national): none may be found. The other
contact's conversation is complete; the API and the CLI answer for the forgotten one as
for a contact with no data; a rebuild of the projections and a replay of the whole store
work and bring nothing back, and send nobody anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from hilo.bus import EventBus
from hilo.forgetting import erasing_services
from hilo.privacy.codec import EventCodec
from hilo.projections.runner import PROJECTIONS, rebuild
from hilo.replay import replay
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, serving, settled, watching
from services.flows.app import build as build_flows
from services.flows.settings import FlowsSettings
from services.inbox.app import build as build_inbox
from services.ingest.signatures import elevenlabs_signature, twilio_signature
from services.transcriber.decoding import SAMPLE_RATE, encode
from tests.inbox.conftest import add_accounts, inbox_settings
from tests.notifier.standins import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM, provider_standins
from tests.privacy.scan import (
    Finding,
    number_forms,
    scan_database,
    scan_files,
    scan_streams,
    scan_text,
)
from tests.transcriber.standins import provider_standin
from tests.trust.test_logs_keep_secrets import SECRETS, every_log_record, every_service
from tests.voice_bridge.standin import ElevenLabsStandIn

FLOW = """\
id: alta
name: Alta
language: es
trigger:
  keywords: [registro]
questions:
  - id: name
    text: "¿Cómo te llamas?"
final_message: "¡Gracias!"
"""
CONSUMERS = ("recorder", "router", "transcriber", "analyzer", "voice-bridge", "notifier", "flows")


@functools.cache
def voice_note(tone_hz: float) -> bytes:
    """Two seconds of a tone as Ogg/Opus; made once (an Ogg stream's serial is random)."""
    t = np.arange(SAMPLE_RATE * 2, dtype=np.float32) / SAMPLE_RATE
    return encode((0.2 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32))


@dataclass(frozen=True)
class Person:
    """A contact's day, every sentence of it their own."""

    number: str
    first_name: str
    full_name: str
    text: str
    transcript: str
    call_line: str
    call_summary: str
    operator_text: str
    tone_hz: float

    def note(self) -> bytes:
        return voice_note(self.tone_hz)

    def private(self) -> dict[str, str]:
        """What must not be readable once the person is forgotten."""
        return {
            "first name": self.first_name,
            "full name": self.full_name,
            "text": self.text,
            "transcript": self.transcript,
            "call line": self.call_line,
            "call summary": self.call_summary,
            "operator reply": self.operator_text,
            **number_forms(self.number),
        }


XIMENA = Person(
    number="+34611223344",
    first_name="Ximena",
    full_name="Ximena Quiroga Lindqvist",
    text="Hola, soy Ximena. Mi vecino toca el oboe hasta medianoche",
    transcript="Mi perro Zanahoria se comió la factura del agua",
    call_line="Quiero mover la cita porque viajo a Tromsø el jueves",
    call_summary="Ximena pidió cambiar la cita por un viaje a Tromsø",
    operator_text="Hola Ximena, le guardamos la cita con el doctor Urquidi",
    tone_hz=300.0,
)
BRUNO = Person(
    number="+573104445566",
    first_name="Bruno",
    full_name="Bruno Ferreyra Ocampo",
    text="Buenas, soy Bruno. Necesito presupuesto para la limpieza de mi gato",
    transcript="Llamaré mañana desde la oficina de Cartagena",
    call_line="Prefiero que me escriban por WhatsApp a la tarde",
    call_summary="Bruno prefiere WhatsApp por la tarde",
    operator_text="Hola Bruno, le enviamos el presupuesto en un momento",
    tone_hz=520.0,
)


@dataclass
class Transcriptions:
    """OpenAI's transcription route: each note's words, known in advance, by its bytes."""

    by_digest: dict[str, str] = field(default_factory=dict)
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/audio/transcriptions")
        async def transcriptions(request: Request) -> Response:
            form = await request.form()
            upload = form["file"]
            assert not isinstance(upload, str)
            text = self.by_digest[hashlib.sha256(await upload.read()).hexdigest()]
            return JSONResponse({"text": text, "language": "spanish", "duration": 2.0})

        return app


@contextlib.asynccontextmanager
async def transcriptions(people: list[Person]) -> AsyncIterator[Transcriptions]:
    standin = Transcriptions({hashlib.sha256(p.note()).hexdigest(): p.transcript for p in people})
    async with serving(standin.app()) as base:
        standin.base_url = f"{base}/v1"
        yield standin


def post_call(person: Person) -> dict[str, Any]:
    return {
        "type": "post_call_transcription",
        "event_timestamp": int(time.time()),
        "data": {
            "agent_id": "agent_standin",
            "conversation_id": f"conv_{uuid.uuid4().hex[:12]}",
            "status": "done",
            "transcript": [
                {"role": "agent", "message": "Hola, ¿en qué le ayudo?", "time_in_call_secs": 0},
                {"role": "user", "message": person.call_line, "time_in_call_secs": 3},
            ],
            "metadata": {
                "start_time_unix_secs": int(time.time()) - 60,
                "call_duration_secs": 40,
                "phone_call": {"external_number": person.number, "agent_number": "+14155550100"},
            },
            "analysis": {"transcript_summary": person.call_summary, "call_successful": "success"},
            "conversation_initiation_client_data": {
                "dynamic_variables": {"customer_name": person.first_name}
            },
        },
    }


@dataclass
class Day:
    """Drives one contact's day through ingest and the operator API."""

    http: httpx.AsyncClient
    ingest: str
    inbox: str
    admin_token: str
    published: Published
    pool: asyncpg.Pool
    sent: list[dict[str, Any]]
    media: Any

    async def twilio(self, person: Person, **fields: str) -> None:
        sid = "SM" + uuid.uuid4().hex
        form = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{person.number}",
            "To": WHATSAPP_FROM,
            "NumMedia": "0",
            "ProfileName": person.first_name,
            "WaId": person.number.lstrip("+"),
            **fields,
        }
        url = f"{self.ingest}/webhooks/twilio/whatsapp"
        headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)}
        answer = await self.http.post(url, data=form, headers=headers)
        assert answer.status_code == 200, answer.text

    async def sent_to(self, person: Person, count: int) -> None:
        async def enough() -> bool:
            to = f"whatsapp:{person.number}"
            return len([m for m in self.sent if m.get("to") == to]) >= count

        await eventually(enough, timeout=60)

    def sent_count(self, person: Person) -> int:
        return len([m for m in self.sent if m.get("to") == f"whatsapp:{person.number}"])

    async def live(self, person: Person) -> None:
        # A text with their name; the analyzer answers it.
        before = self.sent_count(person)
        await self.twilio(person, Body=person.text)
        await self.sent_to(person, before + 1)

        # A voice note, fetched with Basic auth and transcribed.
        media_id = "ME" + hashlib.sha256(person.number.encode()).hexdigest()[:32]
        self.media.add(media_id, person.note(), "audio/ogg")
        await self.twilio(
            person,
            NumMedia="1",
            MediaUrl0=self.media.twilio_url(media_id),
            MediaContentType0="audio/ogg",
        )

        async def transcribed() -> bool:
            return any(
                e.text == person.transcript
                for e in self.published.of("audio.transcribed", person.number)
            )

        await eventually(transcribed, timeout=60)

        # A question flow, answered with their full name.
        await self.twilio(person, Body="registro")
        await self.published.wait_for("flow.question_asked", person.number, timeout=60)
        await self.twilio(person, Body=person.full_name)
        await self.published.wait_for("flow.session_completed", person.number, timeout=60)

        # An operator answers through the API.
        answer = await self.http.post(
            f"{self.inbox}/api/conversations/{person.number}/messages",
            json={"text": person.operator_text},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert answer.status_code == 202, answer.text

        async def operator_sent() -> bool:
            return any(m.get("body") == person.operator_text for m in self.sent)

        await eventually(operator_sent, timeout=60)

        # A call ends; the voice bridge picks it up on WhatsApp.
        body = json.dumps(post_call(person)).encode()
        signature = elevenlabs_signature(
            SECRETS["elevenlabs webhook secret"], body, int(time.time())
        )
        answer = await self.http.post(
            f"{self.ingest}/webhooks/elevenlabs",
            content=body,
            headers={"Content-Type": "application/json", "ElevenLabs-Signature": signature},
        )
        assert answer.status_code == 200, answer.text

        async def handed_off() -> bool:
            return bool(
                await self.pool.fetchval(
                    "SELECT count(*) FROM voice_bridge_handoffs"
                    " WHERE conversation = $1 AND published_at IS NOT NULL",
                    person.number,
                )
            )

        await eventually(handed_off, timeout=60)


async def projections_caught_up(pool: asyncpg.Pool) -> None:
    async def caught_up() -> bool:
        head = await pool.fetchval("SELECT position FROM event_store_head")
        rows = await pool.fetch("SELECT name, position FROM projection_checkpoints")
        positions = {r["name"]: r["position"] for r in rows}
        return all(positions.get(name, -1) >= head for name in PROJECTIONS)

    await eventually(caught_up, timeout=60)


def hilo(settings: HiloSettings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `hilo` command, as an operator runs it, against the test's servers."""
    assert settings.master_key is not None
    env = {
        **os.environ,
        "HILO_NATS_URL": settings.require_nats_url(),
        "HILO_DATABASE_URL": settings.require_database_url(),
        "HILO_NAMESPACE": settings.namespace,
        "HILO_DATA_DIR": str(settings.data_dir),
        "HILO_MASTER_KEY": settings.master_key.get_secret_value(),
    }
    return subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings[:40])


async def test_a_forgotten_contact_cannot_be_read_anywhere(
    settings: HiloSettings,
    bus: EventBus,
    pool: asyncpg.Pool,
    codec: EventCodec,
    tmp_path: Path,
) -> None:
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    (flows_dir / "alta.yaml").write_text(FLOW, encoding="utf-8")
    admin_token, agent_token = await add_accounts(pool)
    kinds = (
        "audio.transcribed",
        "flow.question_asked",
        "flow.session_completed",
        "message.sent",
        "contact.data_erased",
    )
    inbox = build_inbox(inbox_settings(tmp_path, hilo_flows_dir=flows_dir))
    flows = build_flows(
        FlowsSettings(_env_file=None, hilo_flows_dir=flows_dir, flows_timer_seconds=0.2)
    )
    with every_log_record() as (raw, written):
        async with (
            provider_standins() as twilio,
            provider_standin() as media_standin,
            transcriptions([XIMENA, BRUNO]) as openai,
            ElevenLabsStandIn(api_key=SECRETS["elevenlabs api key"]) as agent,
            watching(bus, kinds, Published()) as published,
            httpx.AsyncClient(timeout=30) as http,
            every_service(
                settings, twilio.base_url, media_standin, openai.base_url, agent, flows_dir
            ) as ingest,
            flows.running(settings, http=False),
            inbox.running(settings),
        ):
            inbox_url = f"http://127.0.0.1:{inbox.http_port}"
            day = Day(
                http,
                ingest,
                inbox_url,
                admin_token,
                published,
                pool,
                twilio.twilio_messages,
                media_standin,
            )
            for person in (XIMENA, BRUNO):
                await day.live(person)
            await settled(bus, *CONSUMERS)
            await projections_caught_up(pool)
            sent_before = len(twilio.twilio_messages)

            # The proof can fail: before forgetting, Ximena is everywhere.
            needles = XIMENA.private()
            assert await scan_database(pool, needles)
            assert any((settings.data_dir / "audio").rglob("*"))

            # Forgetting, as an operator does it.
            done = await asyncio.to_thread(
                hilo,
                settings,
                tmp_path,
                "contacts",
                "forget",
                XIMENA.number,
                "--yes",
                "--wait",
                "120",
                "--json",
            )
            assert done.returncode == 0, done.stderr
            outcome = json.loads(done.stdout)
            assert outcome["already_forgotten"] is False and outcome["keys_destroyed"] >= 1
            assert outcome["waiting_for"] == []
            assert {row["service"] for row in outcome["erasures"]} == set(erasing_services())
            assert XIMENA.number not in done.stdout + done.stderr
            erased = {e.service: e for e in published.distinct("contact.data_erased")}
            assert set(erased) == set(erasing_services())
            assert erased["transcriber"].files_deleted == 1
            assert erased["projector"].rows_deleted >= 3
            await settled(bus, *CONSUMERS)

            # Nothing of Ximena can be read: tables and large objects, streams, files.
            assert not (found := await scan_database(pool, needles)), report(found)
            assert not (found := await scan_streams(bus, needles)), report(found)
            note = {"voice note": XIMENA.note()}
            assert not (found := scan_files(settings.data_dir, needles, note)), report(found)

            # Bruno's conversation is untouched and complete.
            async with httpx.AsyncClient(
                base_url=inbox_url, headers={"Authorization": f"Bearer {admin_token}"}
            ) as api:
                bruno = (await api.get(f"/api/conversations/{BRUNO.number}")).json()
                shown = json.dumps(bruno, ensure_ascii=False)
                for value in (BRUNO.text, BRUNO.transcript, BRUNO.operator_text):
                    assert value in shown
                assert (await api.get(f"/api/conversations/{XIMENA.number}")).status_code == 404
                page = (await api.get("/api/conversations", params={"q": "Ximena"})).json()
                assert page["items"] == []
                # The API forgets idempotently, for admins only, and refuses bad input.
                again = await api.post(f"/api/contacts/{XIMENA.number}/forget")
                assert again.status_code == 202 and again.json()["already_forgotten"] is True
                unknown = await api.post("/api/contacts/+34699000111/forget")
                assert unknown.status_code == 404 and "detail" in unknown.json()
                bad = await api.post("/api/contacts/not-a-number/forget")
                assert bad.status_code == 422 and "detail" in bad.json()
                as_agent = await api.post(
                    f"/api/contacts/{BRUNO.number}/forget",
                    headers={"Authorization": f"Bearer {agent_token}"},
                )
                assert as_agent.status_code == 403
            assert await scan_database(pool, BRUNO.private())
            assert len(published.distinct("contact.data_erased")) == len(erased)

            # A rebuild of every projection and a replay of the whole store bring nothing
            # back and send nobody anything.
            for projection in PROJECTIONS.values():
                await rebuild(pool, projection, codec=codec)
            await replay(pool, bus)
            await settled(bus, *CONSUMERS)
            await projections_caught_up(pool)
            assert not (found := await scan_database(pool, needles)), report(found)
            assert not (found := await scan_streams(bus, needles)), report(found)
            assert len(twilio.twilio_messages) == sent_before
            assert await pool.fetchval(
                "SELECT count(*) FROM proj_conversations WHERE conversation = $1", BRUNO.number
            )

    # Nor in the logs of the run: our own code's records as logged, and every record
    # (libraries' too, and this test's HTTP client's) as `hilo serve` writes it.
    ours = [line for line in raw.lines if line.startswith(("hilo.", "services."))]
    assert ours, "no log record of ours was captured"
    assert not (found := scan_text("log", ours, needles)), report(found)
    assert not (found := scan_text("written log", written.lines, needles)), report(found)

    # The command line: the contact has no data, forgetting again changes nothing, and a
    # bad or unknown number is a clear error.
    show = await asyncio.to_thread(hilo, settings, tmp_path, "conversation", "show", XIMENA.number)
    assert show.returncode == 1 and "Traceback" not in show.stderr
    twice = await asyncio.to_thread(
        hilo, settings, tmp_path, "contacts", "forget", XIMENA.number, "--yes"
    )
    assert twice.returncode == 0 and "already forgotten" in twice.stdout, twice.stderr
    for wrong in ("not-a-number", "+34699000111"):
        refused = await asyncio.to_thread(
            hilo, settings, tmp_path, "contacts", "forget", wrong, "--yes"
        )
        assert refused.returncode == 1 and refused.stderr.startswith("hilo: "), refused.stderr
        assert "Traceback" not in refused.stderr
