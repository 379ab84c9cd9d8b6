"""`hilo simulate whatsapp` against a running ingest, and the /media route it relies on."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hilo.cli.simulate import simulate_whatsapp
from hilo.embedded import free_port
from hilo.errors import UserError
from hilo.privacy.master import master_key, pseudonym_key
from hilo.privacy.pseudonyms import pseudonym
from hilo.testing import Published
from schemas import MediaRef, MessageReceived
from services.ingest.files import TOKEN_FILE
from services.transcriber.allowlist import HostAllowList
from services.transcriber.app import media_client
from services.transcriber.media import MediaConfig, MediaFetcher
from services.transcriber.settings import TranscriberSettings
from tests.ingest.conftest import CONTACT, IngestFactory

VOICE_NOTE = b"OggS\x00\x02" + bytes(range(200)) * 20


@pytest.fixture
def simulator_env(monkeypatch: pytest.MonkeyPatch, settings: object) -> None:
    """The CLI reads the environment: point it at the test's data directory, offline."""
    for name in (
        "TWILIO_AUTH_TOKEN",
        "HILO_PUBLIC_URL",
        "TWILIO_WHATSAPP_FROM",
        "TWILIO_ACCOUNT_SID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HILO_DATA_DIR", str(settings.data_dir))  # type: ignore[attr-defined]
    # The simulator keeps a voice note under the contact's pseudonym, made with this key.
    key = settings.master_key.get_secret_value()  # type: ignore[attr-defined]
    monkeypatch.setenv("HILO_MASTER_KEY", key)


async def test_simulated_text_is_signed_with_the_shared_local_token(
    ingest: IngestFactory, published: Published, simulator_env: None
) -> None:
    async with ingest(twilio_auth_token=None) as running:
        line = await asyncio.to_thread(
            simulate_whatsapp, "+57 300 111 2233", "Hola desde el simulador", url=running.base
        )
        token_file = running.settings.data_dir / TOKEN_FILE
    [event] = await published.wait_for("message.received")
    assert isinstance(event, MessageReceived)
    assert str(event.event_id) in line and CONTACT in line
    assert (event.provider, event.conversation, event.text) == (
        "simulator",
        CONTACT,
        "Hola desde el simulador",
    )
    assert event.raw["MessageSid"].startswith("SM") and event.raw["AccountSid"].startswith("AC")
    assert event.raw["WaId"] == "573001112233"
    assert event.business_number == "+14155238886"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


async def test_simulated_voice_note_is_served_to_the_transcriber(
    ingest: IngestFactory, published: Published, simulator_env: None, tmp_path: Path
) -> None:
    note = tmp_path / "nota.ogg"
    note.write_bytes(VOICE_NOTE)
    sha = hashlib.sha256(VOICE_NOTE).hexdigest()
    async with ingest(twilio_auth_token=None) as running:
        await asyncio.to_thread(simulate_whatsapp, CONTACT, None, audio=note, url=running.base)
        [event] = await published.wait_for("message.received")
        assert event.kind == "audio" and event.has_audio
        folder = pseudonym(CONTACT, pseudonym_key(master_key(running.settings)))
        assert event.media == (
            MediaRef(url=f"{running.base}/media/{folder}/{sha}", content_type="audio/ogg"),
        )
        served = await running.http.get(f"{running.base}/media/{folder}/{sha}")
        missing = await running.http.get(f"{running.base}/media/{folder}/{'0' * 64}")
        not_hex = await running.http.get(f"{running.base}/media/{folder}/{sha.upper()}")
        traversal = await running.http.get(f"{running.base}/media/..%2F{TOKEN_FILE}/{sha}")
        # The transcriber, configured as `hilo up` configures it, fetches the note.
        local_media = TranscriberSettings(
            _env_file=None, transcriber_local_media_url=f"{running.base}/media/"
        )
        async with media_client(local_media) as http:
            fetcher = MediaFetcher(
                http,
                MediaConfig(
                    allow=HostAllowList.of(("api.twilio.com",), f"{running.base}/media/"),
                    max_bytes=1_000_000,
                    twilio_api_base="https://api.twilio.com",
                    twilio_account_sid="AC" + "5" * 32,
                    twilio_auth_token="real-token-never-sent-to-loopback",
                    graph_api_base="https://graph.facebook.com",
                    graph_api_version="v20.0",
                    whatsapp_token=None,
                ),
            )
            downloaded = await fetcher.fetch(event.provider, event.media[0])
            as_twilio = await fetcher.fetch("twilio", event.media[0])
    assert served.status_code == 200
    assert served.content == VOICE_NOTE
    assert served.headers["content-type"] == "audio/ogg"
    assert missing.status_code == not_hex.status_code == traversal.status_code == 404
    assert downloaded.data == as_twilio.data == VOICE_NOTE


async def test_simulator_signs_with_the_configured_twilio_token(
    ingest: IngestFactory,
    published: Published,
    simulator_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-configured-token")
    async with ingest(twilio_auth_token="a-configured-token") as running:
        await asyncio.to_thread(simulate_whatsapp, CONTACT, "hola", url=running.base)
    [event] = await published.wait_for("message.received")
    assert event.provider == "twilio"


async def test_simulator_refused_by_ingest_is_a_clear_error(
    ingest: IngestFactory, simulator_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "the-simulators-idea")
    async with ingest(twilio_auth_token="ingests-idea") as running:
        with pytest.raises(UserError, match="HTTP 403 invalid_signature"):
            await asyncio.to_thread(simulate_whatsapp, CONTACT, "hola", url=running.base)


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HILO_DATA_DIR": str(tmp_path), "HILO_HTTP_PORT": str(free_port())}
    env.pop("TWILIO_AUTH_TOKEN", None)
    hilo = [sys.executable, "-m", "hilo.cli.main", "simulate", "whatsapp"]
    cases = {
        "not running": ([*hilo, "--from", CONTACT, "hola"], "ingest is not answering"),
        "bad number": ([*hilo, "--from", "12", "hola"], "is not a phone number"),
        "missing file": ([*hilo, "--from", CONTACT, "--audio", str(tmp_path / "no.ogg")], "no.ogg"),
        "nothing to say": ([*hilo, "--from", CONTACT], "TEXT"),
    }
    for name, (command, expected) in cases.items():
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, name
        assert expected in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr, name
        assert done.stderr.count("\n") == 1, (name, done.stderr)
