"""The whole product as a person first meets it: `hilo up` with every service as its own
process, no provider accounts, and `hilo simulate whatsapp` playing the customer.

The seed conversation of the analyzer issue goes in as three signed Twilio webhooks; out
come a calendar event on Friday at 10:00, the analyzer's replies in the local outbox, and
all of it in the unified conversation that `hilo conversation show` prints.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from hilo.embedded import free_port
from hilo.testing import eventually

HILO = [sys.executable, "-m", "hilo.cli.main"]
CONTACT = "+34611223344"


def _env(tmp_path: Path, http_port: int, nats_port: int) -> dict[str, str]:
    # No provider credentials at all: the offline product.
    cleared = ("HILO_", "TWILIO_", "WHATSAPP_", "ELEVENLABS_", "OPENAI_", "GRAPH_", "ANALYZER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(cleared)}
    # A business open every day, so the seed's "el viernes a las 10" never meets a holiday.
    profile = tmp_path / "business.yaml"
    days = "\n".join(f'  {d}: ["08:00-20:00"]' for d in ("mon", "tue", "wed", "thu", "fri"))
    profile.write_text(f"name: Test\ntimezone: Europe/Madrid\nhours:\n{days}\n", "utf-8")
    env.update(
        HILO_BUSINESS_FILE=str(profile),
        HILO_DATA_DIR=str(tmp_path / "data"),
        HILO_HTTP_PORT=str(http_port),
        HILO_NATS_PORT=str(nats_port),
        HILO_INBOX_PORT=str(free_port()),
        HILO_TIMEZONE="Europe/Madrid",
        ANALYZER_BURST_SECONDS="0",
    )
    return env


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


async def _hilo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [*HILO, *args], env=env, capture_output=True, text=True, check=False
    )


async def _conversation(env: dict[str, str]) -> dict[str, Any] | None:
    shown = await _hilo(env, "conversation", "show", CONTACT, "--json")
    if shown.returncode != 0:
        return None
    doc: dict[str, Any] = json.loads(shown.stdout)
    return doc


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in doc["timeline"] if item.get("kind") == "calendar_event"]


def _outbound(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in doc["timeline"] if item.get("direction") == "outbound"]


@pytest.mark.timeout(240)
async def test_simulated_whatsapp_conversation_schedules_and_gets_replies(tmp_path: Path) -> None:
    http_port, nats_port = free_port(), free_port()
    env = _env(tmp_path, http_port, nats_port)
    stack = subprocess.Popen(
        [*HILO, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        for offset in range(7):
            url = f"http://127.0.0.1:{http_port + offset}/readyz"
            await eventually(functools.partial(_ready, url), timeout=90)
        for text in ("Quiero agendar una reunión", "El viernes a las 10", "Revisión del proyecto"):
            sent = await _hilo(env, "simulate", "whatsapp", "--from", CONTACT, text)
            assert sent.returncode == 0, sent.stderr

        async def scheduled() -> dict[str, Any] | None:
            # The marker: the event, and three replies each with its delivery folded in.
            doc = await _conversation(env)
            if not doc or not _events(doc):
                return None
            sent = [r for r in _outbound(doc) if r.get("status") == "sent"]
            return doc if len(sent) >= 3 else None

        doc = await eventually(scheduled, timeout=180, interval=0.5)
        async with httpx.AsyncClient(timeout=5) as client:
            ics = await client.get(f"http://127.0.0.1:{http_port + 4}/calendar/default.ics")
        answered = await _a_person_answers(env, _outbound(doc)[-1]["text"])
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(stack.communicate, timeout=60)
    assert stack.returncode == 0, output.decode()[-3000:]
    # `hilo up` tells where the operator app is.
    assert f"http://127.0.0.1:{env['HILO_INBOX_PORT']}/" in output.decode()

    [event] = _events(doc)
    start = event["start"]
    assert date.fromisoformat(start[:10]).weekday() == 4  # a Friday
    assert start[11:16] == "10:00" and start.endswith("+01:00")
    assert "revisión del proyecto" in event["title"].lower()
    inbound = [i for i in doc["timeline"] if i.get("direction") == "inbound"]
    assert [i["text"] for i in inbound] == [
        "Quiero agendar una reunión",
        "El viernes a las 10",
        "Revisión del proyecto",
    ]
    replies = _outbound(doc)
    # One reply a message, each kept by the offline outbox, the last one confirming.
    assert len(replies) == 3
    assert all(r["status"] == "sent" and r["provider"] == "outbox" for r in replies)
    assert "10" in replies[-1]["text"]
    assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text
    listed, mine = answered
    assert listed["contact"] == CONTACT and listed["last_text"] == replies[-1]["text"]
    assert mine["author"] == "human" and mine["operator"] == "token:newcomer"
    assert mine["status"] == "sent" and mine["provider"] == "outbox"


async def _a_person_answers(
    env: dict[str, str], last_reply: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A token from `hilo tokens create` lists the conversation; a person's reply goes out."""
    made = await _hilo(env, "tokens", "create", "--name", "newcomer", "--role", "agent")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    inbox = f"http://127.0.0.1:{env['HILO_INBOX_PORT']}"
    await eventually(functools.partial(_ready, f"{inbox}/readyz"), timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=inbox, headers=headers, timeout=10) as api:

        async def listed_with_the_last_reply() -> dict[str, Any] | None:
            items = (await api.get("/api/conversations")).json()["items"]
            return items[0] if items and items[0]["last_text"] == last_reply else None

        listed = await eventually(listed_with_the_last_reply, timeout=30)
        sent = await api.post(f"/api/conversations/{CONTACT}/messages", json={"text": "Soy Ana"})
        assert sent.status_code == 202, sent.text

        async def delivered() -> dict[str, Any] | None:
            doc = await _conversation(env)
            mine = [i for i in _outbound(doc or {"timeline": []}) if i.get("author") == "human"]
            return mine[0] if mine and mine[0].get("status") == "sent" else None

        return listed, await eventually(delivered, timeout=180, interval=0.5)
