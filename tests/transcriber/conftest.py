"""Fixtures for the transcriber: one loaded model, provider stand-ins, the running service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from hilo.settings import HiloSettings
from services.transcriber.app import build
from services.transcriber.backends import Backend, LocalWhisper
from services.transcriber.decoding import encode
from services.transcriber.settings import TranscriberSettings
from tests.transcriber.speech import speak
from tests.transcriber.standins import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CDN_HOST,
    WHATSAPP_TOKEN,
    ProviderStandIn,
    provider_standin,
)

OUTPUT_TYPES = ("audio.transcribed", "audio.transcription_failed")


# The default model is assembled here once and reused by every later run (as `hilo up` does).
REPO_DATA_DIR = Path(__file__).parents[2] / ".hilo"


@pytest.fixture(scope="session")
def whisper() -> LocalWhisper:
    """The default model (multilingual Whisper base from its wheels), loaded once."""
    return LocalWhisper(data_dir=REPO_DATA_DIR)


_spoken: dict[tuple[str, str], bytes] = {}


def voice_note(text: str, voice: str = "en-us") -> bytes:
    """``text`` spoken by espeak-ng, as a WhatsApp-like Ogg/Opus voice note (cached)."""
    if (text, voice) not in _spoken:
        _spoken[text, voice] = encode(speak(text, voice=voice))
    return _spoken[text, voice]


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[ProviderStandIn]:
    async with provider_standin() as running:
        yield running


def transcriber_settings(standin: ProviderStandIn, **overrides: Any) -> TranscriberSettings:
    values: dict[str, Any] = {
        "twilio_api_base": standin.api_base,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "graph_api_base": standin.api_base,
        "whatsapp_token": WHATSAPP_TOKEN,
        # The stand-in CDN host, as *.twiliocdn.com and lookaside.fbsbx.com are in production.
        "transcriber_media_hosts": CDN_HOST,
        # The stand-ins listen on the loopback, which production never allows.
        "transcriber_allow_loopback": True,
        "transcriber_attempts": 3,
        "transcriber_retry_backoff_seconds": "0.2,0.4",
        "transcriber_download_timeout_seconds": 5,
    }
    values.update(overrides)
    return TranscriberSettings(_env_file=None, **values)


class Published(testing.Published):
    """Also finds the outcome published for one voice note."""

    def for_message(self, message_event_id: object) -> list[Any]:
        return [e for e in self.events if getattr(e, "message_event_id", None) == message_event_id]

    async def outcome(self, message_event_id: object, timeout: float = 20.0) -> Any:
        async def found() -> list[Any] | None:
            return self.for_message(message_event_id) or None

        [first, *_] = await testing.eventually(found, timeout=timeout)
        return first


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with testing.watching(bus, OUTPUT_TYPES, Published()) as seen:
        yield seen


TranscriberFactory = Callable[..., contextlib.AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def transcriber(
    settings: HiloSettings, standin: ProviderStandIn, whisper: Backend
) -> TranscriberFactory:
    """Run the service in-process (sharing the loaded model); keyword args override settings."""

    @contextlib.asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[Runtime]:
        service = build(transcriber_settings(standin, **overrides), backend=whisper)
        async with service.running(settings, http=False) as runtime:
            yield runtime

    return run
