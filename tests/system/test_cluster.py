"""The whole stack on a three-node JetStream cluster with two replicas of the consumers.

`hilo up --nats-cluster 3 --replicas router=2,analyzer=2,notifier=2`, under a steady load
of signed Twilio webhooks, loses one NATS node and one analyzer replica to kill -9. After
it: every acknowledged inbound message is stored once, every inbound message is answered
by exactly one reply, every reply is sent once, and each conversation's replies are sent
in the order they were written.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from hilo.cli.connect import codec, database
from hilo.embedded import free_port
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import eventually
from services.ingest.files import simulator_token
from services.ingest.signatures import twilio_signature
from tests.system.test_offline_stack import _env, _ready

HILO = [sys.executable, "-m", "hilo.cli.main"]
CONVERSATIONS = 10
ROUNDS = 4
WHATSAPP = "/webhooks/twilio/whatsapp"


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


async def _send(http: httpx.AsyncClient, base: str, token: str, contact: str, text: str) -> str:
    from hilo.cli.simulate import DEFAULT_BUSINESS_NUMBER, PLACEHOLDER_ACCOUNT_SID, build_form

    form = build_form(
        contact,
        text,
        business=DEFAULT_BUSINESS_NUMBER,
        account_sid=PLACEHOLDER_ACCOUNT_SID,
        profile_name="Carga",
        media=None,
    )
    headers = {"X-Twilio-Signature": twilio_signature(token, base + WHATSAPP, form)}
    refusals: list[str] = []
    # As Twilio does: a refusal (503 while a node is down or its stream elects a new leader,
    # slow on a loaded machine) is retried, here for up to three minutes.
    for _ in range(360):
        try:
            answer = await http.post(base + WHATSAPP, data=form, headers=headers)
        except httpx.HTTPError as exc:
            refusals.append(type(exc).__name__)
        else:
            if answer.status_code == 200:
                return form["MessageSid"]
            refusals.append(f"{answer.status_code} {answer.text[:80]}")
        await asyncio.sleep(0.5)
    raise AssertionError(f"ingest never accepted {form['MessageSid']}: {refusals[-3:]}")


async def _events(store: EventStore, kind: str) -> list[dict[str, Any]]:
    """The stored events of a type in clear (opened with the stack's development key)."""
    return [r.clear for r in await store.read_all(limit=100_000, types=[kind])]


@pytest.mark.timeout(600)
async def test_a_node_and_a_replica_killed_under_load_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    http_port = free_port()
    env = _env(tmp_path, http_port, free_port())
    env["ANALYZER_BURST_SECONDS"] = "0.3"
    log = (tmp_path / "hilo-up.log").open("wb")
    stack = subprocess.Popen(
        [*HILO, "up", "--nats-cluster", "3", "--replicas", "router=2,analyzer=2,notifier=2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    data_dir = Path(env["HILO_DATA_DIR"])
    base = f"http://127.0.0.1:{http_port}"
    contacts = [f"+3461100{i:04d}" for i in range(CONVERSATIONS)]
    try:
        ports = [http_port + offset for offset in range(8)]
        ports += [http_port + offset + 100 for offset in (4, 6, 7)]  # the second replicas
        for port in ports:
            await eventually(
                functools.partial(_ready, f"http://127.0.0.1:{port}/readyz"), timeout=180
            )
        token = simulator_token(data_dir)
        sent: dict[str, list[str]] = defaultdict(list)
        async with httpx.AsyncClient(timeout=30) as http:

            async def converse(contact: str) -> None:
                for n in range(ROUNDS):
                    sid = await _send(http, base, token, contact, f"Hola, mensaje {n}")
                    sent[contact].append(sid)

            load = asyncio.gather(*(converse(c) for c in contacts))
            await eventually(lambda: _sent_some(sent, CONVERSATIONS), timeout=180)
            # Under load: one NATS node and one analyzer replica die, as in a crash.
            [node] = _pids(f"{data_dir}/nats-cluster/n2/nats.conf")
            os.kill(node, signal.SIGKILL)
            analyzers = _pids("hilo.cli.main serve analyzer")
            os.kill(analyzers[-1], signal.SIGKILL)
            await load
        assert sum(len(s) for s in sent.values()) == CONVERSATIONS * ROUNDS

        settings = HiloSettings(data_dir=data_dir)
        async with database(settings) as pool:
            store = EventStore(pool, codec(settings, pool))

            async def everyone_answered() -> bool:
                received = await _events(store, "message.received")
                sent_events = await _events(store, "message.sent")
                replies = await _events(store, "reply.ready")
                answered = {m for r in replies for m in r["in_reply_to"]}
                return (
                    len(received) >= CONVERSATIONS * ROUNDS
                    and {m["event_id"] for m in received} <= answered
                    and len({s["reply_id"] for s in sent_events}) >= len(replies)
                )

            await eventually(everyone_answered, timeout=180, interval=1)
            received = await _events(store, "message.received")
            replies = await _events(store, "reply.ready")
            sent_events = await _events(store, "message.sent")
    finally:
        stack.send_signal(signal.SIGINT)
        await asyncio.to_thread(stack.wait, 120)
        log.close()
    output = (tmp_path / "hilo-up.log").read_text(errors="replace")
    assert stack.returncode == 0, output[-3000:]

    # Every acknowledged message stored once.
    sids = Counter(m["provider_message_id"] for m in received)
    assert set(sids) == {sid for s in sent.values() for sid in s}
    assert set(sids.values()) == {1}
    # Every inbound message answered by exactly one reply, and every reply sent once.
    answered = Counter(m for r in replies for m in r["in_reply_to"])
    assert set(answered.values()) == {1}
    assert set(Counter(s["reply_id"] for s in sent_events).values()) == {1}
    # Each conversation's replies were sent in the order they were written.
    for contact in contacts:
        written = [r["reply_id"] for r in replies if r["conversation"] == contact]
        delivered = [s["reply_id"] for s in sent_events if s["conversation"] == contact]
        assert delivered == written


async def _sent_some(sent: dict[str, list[str]], conversations: int) -> bool:
    return sum(len(s) for s in sent.values()) >= conversations
