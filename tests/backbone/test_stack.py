"""`hilo up` as a person runs it: servers, services as processes, Ctrl-C, data kept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from hilo.bus import EventBus
from hilo.cli.connect import codec as stack_codec
from hilo.cli.connect import database
from hilo.embedded import EmbeddedNats, free_port
from hilo.privacy.codec import EventCodec
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import MessageReceived

HILO = [sys.executable, "-m", "hilo.cli.main"]


def _env(tmp_path: Path, http_port: int, nats_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
    env.update(
        HILO_DATA_DIR=str(tmp_path / "data"),
        HILO_HTTP_PORT=str(http_port),
        HILO_NATS_PORT=str(nats_port),
        # The operator app has a port of its own (default 8080): never a fixed one in tests.
        HILO_INBOX_PORT=str(free_port()),
    )
    return env


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


async def _run_stack_once(env: dict[str, str], http_port: int, nats_port: int) -> list[str]:
    stack = subprocess.Popen(
        [*HILO, "up", "-s", "recorder", "-s", "projector"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await eventually(lambda: _healthy(f"http://127.0.0.1:{http_port + 1}/readyz"), timeout=90)
        await eventually(lambda: _healthy(f"http://127.0.0.1:{http_port + 2}/readyz"), timeout=90)
        event = MessageReceived(
            conversation="+34600111222",
            provider="twilio",
            provider_message_id=f"SM{uuid.uuid4().hex}",
            text="hola",
        )
        # Sealed as the stack's services seal: its development key, found under its data dir.
        settings = HiloSettings(_env_file=None, data_dir=Path(env["HILO_DATA_DIR"]))
        async with database(settings) as pool:
            bus = await EventBus.connect(
                f"nats://127.0.0.1:{nats_port}", codec=stack_codec(settings, pool)
            )
            await bus.publish(event)
            await bus.close()

        async def listed() -> list[str]:
            result = await asyncio.to_thread(
                subprocess.run,
                [*HILO, "events", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            return [json.loads(line)["data"]["event_id"] for line in result.stdout.splitlines()]

        ids = await eventually(
            lambda: _contains(listed, str(event.event_id)), timeout=10, interval=0.3
        )
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(stack.communicate, timeout=60)
    text = output.decode()
    assert stack.returncode == 0, text
    assert "hilo: stopped." in text
    return ids


async def _contains(listed: object, wanted: str) -> list[str] | None:
    ids: list[str] = await listed()  # type: ignore[operator]
    return ids if wanted in ids else None


@pytest.mark.timeout(180)
async def test_up_serves_stops_cleanly_and_finds_its_data_again(tmp_path: Path) -> None:
    http_port, nats_port = free_port(), free_port()
    env = _env(tmp_path, http_port, nats_port)
    first = await _run_stack_once(env, http_port, nats_port)
    second = await _run_stack_once(env, http_port, nats_port)
    assert len(first) == 1
    assert second[0] == first[0] and len(second) == 2  # the first run's event is still there
    assert not await _healthy(f"http://127.0.0.1:{http_port + 1}/healthz")


def test_user_mistakes_are_one_line_without_traceback(tmp_path: Path) -> None:
    env = _env(tmp_path, free_port(), free_port())
    for args, expected in [
        (["serve", "recorder"], "needs HILO_NATS_URL"),
        (["replay", "--from", "5", "--to", "2"], "--to must not be before --from"),
    ]:
        result = subprocess.run(
            [*HILO, *args], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode != 0
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


async def test_acknowledged_events_survive_nats_being_killed(
    tmp_path: Path, codec: EventCodec
) -> None:
    """kill -9 of the embedded NATS (fsync on every write) loses nothing it acknowledged."""
    nats = EmbeddedNats(tmp_path / "nats", port=free_port())
    nats.start()
    bus = await EventBus.connect(nats.url, codec=codec)
    await bus.ensure_streams()
    events = [
        MessageReceived(
            conversation="+34600111222",
            provider="twilio",
            provider_message_id=f"SM{i}",
            text=f"m{i}",
        )
        for i in range(200)
    ]
    for event in events:
        await bus.publish(event)
    await bus.nc.close()
    nats.kill()
    nats.start()
    try:
        bus = await EventBus.connect(nats.url)
        info = await bus.js.stream_info(bus.naming.events_stream)
        assert info.state.messages == len(events)
        assert "sync_interval: always" in (tmp_path / "nats" / "nats.conf").read_text()
        await bus.close()
    finally:
        nats.stop()
