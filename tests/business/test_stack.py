"""The example profile through the whole product: `hilo up` from the repository (which
loads `business.yaml`), `hilo simulate whatsapp` asking, `hilo conversation show` reading
the answers the local outbox kept."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hilo.embedded import free_port
from hilo.testing import eventually

HILO = [sys.executable, "-m", "hilo.cli.main"]
REPO = Path(__file__).resolve().parents[2]
SPANISH, ENGLISH = "+34622000111", "+34622000222"


def _env(tmp_path: Path, http_port: int, nats_port: int) -> dict[str, str]:
    cleared = ("HILO_", "TWILIO_", "WHATSAPP_", "ELEVENLABS_", "OPENAI_", "GRAPH_", "ANALYZER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(cleared)}
    env.update(
        HILO_DATA_DIR=str(tmp_path / "data"),
        HILO_HTTP_PORT=str(http_port),
        HILO_NATS_PORT=str(nats_port),
        ANALYZER_BURST_SECONDS="0",
    )
    return env


async def _hilo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [*HILO, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


async def _replies(env: dict[str, str], contact: str, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        shown = await _hilo(env, "conversation", "show", contact, "--json")
        if shown.returncode != 0:
            return None
        doc: dict[str, Any] = json.loads(shown.stdout)
        texts = [i["text"] for i in doc["timeline"] if i.get("direction") == "outbound"]
        return texts if len(texts) >= count else None

    return await eventually(enough, timeout=60, interval=0.5)


async def _ask(env: dict[str, str], contact: str, text: str, count: int) -> list[str]:
    sent = await _hilo(env, "simulate", "whatsapp", "--from", contact, text)
    assert sent.returncode == 0, sent.stderr
    return await _replies(env, contact, count)


@pytest.mark.timeout(240)
async def test_the_example_profile_answers_in_spanish_and_english(tmp_path: Path) -> None:
    http_port, nats_port = free_port(), free_port()
    env = _env(tmp_path, http_port, nats_port)
    stack = subprocess.Popen(
        [*HILO, "up"], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        for offset in range(7):
            url = f"http://127.0.0.1:{http_port + offset}/readyz"
            await eventually(functools.partial(_ready, url), timeout=90)
        saturday = (await _ask(env, SPANISH, "Hola, ¿a qué hora abren el sábado?", 1))[-1]
        price = (await _ask(env, SPANISH, "¿Cuánto cuesta una limpieza?", 2))[-1]
        unknown = (await _ask(env, SPANISH, "¿Hacéis implantes?", 3))[-1]
        parking = (await _ask(env, ENGLISH, "Hi! Do you have parking?", 1))[-1]
        whitening = (await _ask(env, ENGLISH, "How much is teeth whitening?", 2))[-1]
        tasks = await _hilo(env, "events", "--type", "conversation.person_needed", "--json")
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(stack.communicate, timeout=60)
        print(output.decode()[-5000:])  # shown when the test fails, before or after this
    assert stack.returncode == 0, output.decode()[-3000:]

    assert "10:00 a 14:00" in saturday
    assert "45 €" in price
    assert "persona" in unknown
    assert parking == "Yes, behind the clinic, free for patients."
    assert "250 €" in whitening and "Teeth whitening" in whitening
    assert SPANISH in tasks.stdout and ENGLISH not in tasks.stdout
