"""The OpenAI backend against a stand-in of `POST /v1/audio/transcriptions`, and start-up errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from hilo.testing import serving
from services.transcriber.backends import (
    BackendUnavailable,
    LocalWhisper,
    OpenAITranscriber,
    create_backend,
)
from services.transcriber.decoding import SAMPLE_RATE, DecodedAudio, encode
from services.transcriber.failures import TranscriptionError
from services.transcriber.settings import TranscriberSettings

API_KEY = "sk-test"


@dataclass
class OpenAIStandIn:
    base_url: str = ""
    uploads: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/audio/transcriptions")
        async def transcriptions(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {API_KEY}":
                return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
            form = await request.form()
            upload: Any = form["file"]
            self.uploads.append(
                {
                    "model": form["model"],
                    "response_format": form.get("response_format"),
                    "language": form.get("language"),
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "head": (await upload.read())[:4],
                }
            )
            if self.status != 200:
                return JSONResponse({"error": {"message": "nope"}}, status_code=self.status)
            segment = {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": 1.9,
                "text": " Hola, quiero una cita.",
                "tokens": [1, 2],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.1,
                "no_speech_prob": 0.01,
            }
            if form.get("response_format") == "verbose_json":
                return JSONResponse(
                    {
                        "task": "transcribe",
                        "language": "spanish",
                        "duration": 2.0,
                        "text": "Hola, quiero una cita.",
                        "segments": [segment],
                    }
                )
            return JSONResponse({"text": "Hola, quiero una cita."})

        return app


@pytest_asyncio.fixture
async def openai_standin() -> AsyncIterator[OpenAIStandIn]:
    standin = OpenAIStandIn()
    async with serving(standin.app(), "127.0.0.1") as base:
        standin.base_url = f"{base}/v1"
        yield standin


def two_seconds() -> DecodedAudio:
    t = np.arange(SAMPLE_RATE * 2, dtype=np.float32) / SAMPLE_RATE
    return DecodedAudio((0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), "test")


async def test_whisper_1_gives_text_language_and_segments(openai_standin: OpenAIStandIn) -> None:
    backend = OpenAITranscriber(API_KEY, base_url=openai_standin.base_url)
    note = encode(two_seconds().samples)
    result = await backend.transcribe(two_seconds(), note, "audio/ogg; codecs=opus")
    assert result.text == "Hola, quiero una cita."
    assert result.language == "es"
    assert result.duration_seconds == 2.0
    assert [(s.start, s.end, s.text) for s in result.segments] == [
        (0.0, 1.9, "Hola, quiero una cita.")
    ]
    [upload] = openai_standin.uploads
    assert upload["model"] == "whisper-1" and upload["response_format"] == "verbose_json"
    assert upload["filename"] == "voice-note.ogg" and upload["head"] == b"OggS"


async def test_amr_is_re_encoded_and_gpt_4o_gets_json(openai_standin: OpenAIStandIn) -> None:
    backend = OpenAITranscriber(
        API_KEY, base_url=openai_standin.base_url, model="gpt-4o-transcribe", language="es"
    )
    amr = encode(two_seconds().samples, container="amr", codec="libopencore_amrnb", rate=8000)
    result = await backend.transcribe(two_seconds(), amr, "audio/amr")
    assert result.text == "Hola, quiero una cita." and result.language == "es"
    assert result.duration_seconds == 2.0 and result.segments == ()
    [upload] = openai_standin.uploads
    assert upload["response_format"] == "json" and upload["language"] == "es"
    assert upload["filename"] == "voice-note.ogg" and upload["head"] == b"OggS"


@pytest.mark.parametrize(("status", "transient"), [(500, True), (429, True), (400, False)])
async def test_server_errors_are_transient_and_refusals_permanent(
    openai_standin: OpenAIStandIn, status: int, transient: bool
) -> None:
    openai_standin.status = status
    backend = OpenAITranscriber(API_KEY, base_url=openai_standin.base_url)
    with pytest.raises(TranscriptionError) as caught:
        await backend.transcribe(two_seconds(), b"OggS", "audio/ogg")
    assert caught.value.reason == "backend_failed"
    assert caught.value.transient is transient


def test_a_backend_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        create_backend(TranscriberSettings(_env_file=None, hilo_transcriber="openai"))
    with pytest.raises(BackendUnavailable, match=r"model\.bin"):
        LocalWhisper(str(tmp_path))
    with pytest.raises(BackendUnavailable, match="TRANSCRIBER_MODEL"):
        LocalWhisper("large-v3-not-in-the-cache")
