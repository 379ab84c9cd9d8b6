"""The browser tests' stack: `hilo up` as a person starts it (every service its own process,
embedded NATS and PostgreSQL, no provider accounts), an operator added with `hilo users add`,
customers played by `hilo simulate`, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from hilo import registry
from hilo.embedded import free_port
from hilo.testing import eventually

playwright_api = pytest.importorskip("playwright.async_api")

HILO = [sys.executable, "-m", "hilo.cli.main"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE = Path(__file__).parents[2] / "services/inbox/web/node_modules/axe-core/axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "docs/screenshots"
ADMIN = ("ana@example.com", "una clave bastante larga")
AGENT = ("luis@example.com", "otra clave bastante larga")


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    tmp: Path

    async def hilo(self, *args: str, stdin: str | None = None) -> str:
        done = await asyncio.to_thread(
            subprocess.run,
            [*HILO, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    async def say(self, contact: str, text: str) -> None:
        await self.hilo("simulate", "whatsapp", "--from", contact, text)

    async def voice_note(self, contact: str, text: str) -> None:
        wav = self.tmp / f"{contact.strip('+')}.wav"
        espeak = shutil.which("espeak-ng")
        assert espeak, "espeak-ng is needed (make system-deps installs it)"
        await asyncio.to_thread(
            subprocess.run, [espeak, "-v", "en-us", "-w", str(wav), text], check=True
        )
        await self.hilo("simulate", "whatsapp", "--from", contact, "--audio", str(wav))


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


@pytest_asyncio.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("chromium is not installed (make test installs it as root)")
    # Not under pytest's basetemp: concurrent pytest runs on one machine prune each other's.
    tmp = Path(tempfile.mkdtemp(prefix="hilo-web-"))
    http_port, nats_port, inbox_port = free_port(), free_port(), free_port()
    cleared = ("HILO_", "TWILIO_", "WHATSAPP_", "ELEVENLABS_", "OPENAI_", "GRAPH_", "ANALYZER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith((*cleared, "INBOX_"))}
    env.update(
        HILO_DATA_DIR=str(tmp / "data"),
        HILO_HTTP_PORT=str(http_port),
        HILO_NATS_PORT=str(nats_port),
        HILO_INBOX_PORT=str(inbox_port),
        HILO_TIMEZONE="Europe/Madrid",
        ANALYZER_BURST_SECONDS="0",
        INBOX_TEMPLATES="seguimiento:es",
    )
    log = tmp / "hilo-up.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*HILO, "up"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        ports = [info.port(http_port, env) for info in registry.services()]
        for port in ports:
            ready = functools.partial(_ready, f"http://127.0.0.1:{port}/readyz")
            try:
                await eventually(ready, timeout=120)
            except AssertionError:
                raise AssertionError(f"port {port}: {log.read_text()[-3000:]}") from None
        running = Stack(f"http://127.0.0.1:{inbox_port}", env, tmp)
        for (email, password), role in ((ADMIN, "admin"), (AGENT, "agent")):
            await running.hilo(
                "users", "add", email, "--role", role, "--password-stdin", stdin=password
            )
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.to_thread(process.wait, timeout=60)
    output = log.read_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert process.returncode == 0, output[-3000:]


@pytest_asyncio.fixture(scope="module")
async def browser(stack: Stack) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document)")
    found: list[dict[str, Any]] = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    return found


async def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
