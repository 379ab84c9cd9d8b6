"""The voice bridge relaying WhatsApp turns to many agent sessions at once, through the stand-in.

Holds SESSIONS concurrent agent WebSocket sessions (one per conversation), then
sends one message per conversation per round through NATS and measures replies
relayed per second and the latency the bridge adds: from the message's publish
to the reply.ready on the bus, minus the agent's own time (stand-in receive →
answer) and minus the configured quiet gap. The peer is a bare websockets client
asking the same stand-in directly (no bus, no store, no ledger).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings
from nats.aio.msg import Msg
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hilo.settings import HiloSettings
from schemas import CallEnded, MessageReceived, ReplyReady
from services.voice_bridge.app import build
from services.voice_bridge.settings import VoiceBridgeSettings
from tests.voice_bridge.standin import ElevenLabsStandIn

SESSIONS = int(os.environ.get("BENCH_VOICE_SESSIONS", "200"))
ROUNDS = 3
QUIET_SECONDS = 0.05


def customer(i: int) -> str:
    return f"+5730045{i:05d}"


async def wait_until(check: object, timeout: float = 120.0) -> None:
    assert callable(check)
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError("the bridge did not keep up within the time limit")
        await asyncio.sleep(0.005)


async def bridge_rounds(settings: HiloSettings, standin: ElevenLabsStandIn) -> dict[str, float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    seen: dict[uuid.UUID, float] = {}
    openers: list[ReplyReady] = []

    async def on_reply(msg: Msg) -> None:
        reply = await bus.decode(msg.data)
        assert isinstance(reply, ReplyReady)
        if reply.in_reply_to:
            seen.setdefault(reply.in_reply_to[0], time.perf_counter())
        else:
            openers.append(reply)

    await bus.nc.subscribe(bus.naming.type_filter("reply.ready"), cb=on_reply)
    service = build(
        VoiceBridgeSettings(
            elevenlabs_api_base=standin.url,
            elevenlabs_agent_id=standin.agent_id,
            voice_bridge_quiet_seconds=QUIET_SECONDS,
            voice_bridge_reply_timeout_seconds=30,
            voice_bridge_connect_timeout_seconds=30,
        )
    )
    rates: list[float] = []
    added: list[float] = []
    opening: list[float] = []
    async with service.running(settings, http=False):
        await asyncio.gather(
            *(
                bus.publish(
                    CallEnded(conversation=customer(i), call_id=f"bench_{i}", summary="Cotización.")
                )
                for i in range(SESSIONS)
            )
        )
        await wait_until(lambda: len(openers) >= SESSIONS)
        print(f"  {SESSIONS} calls handed off", flush=True)
        # Round 0 opens every socket (signed context, initiation); later rounds reuse them.
        for round_number in range(ROUNDS + 1):
            messages = [
                MessageReceived(
                    conversation=customer(i),
                    provider="twilio",
                    provider_message_id=f"SM{uuid.uuid4().hex}",
                    text=f"ronda {round_number} cliente {i}",
                )
                for i in range(SESSIONS)
            ]
            sent: dict[uuid.UUID, float] = {}
            started = time.perf_counter()

            async def send(message: MessageReceived, sent: dict[uuid.UUID, float] = sent) -> None:
                sent[message.event_id] = time.perf_counter()
                await bus.publish(message)

            await asyncio.gather(*(send(m) for m in messages))
            await wait_until(lambda batch=messages: all(m.event_id in seen for m in batch))
            finished = max(seen[m.event_id] for m in messages)
            if round_number:
                rates.append(SESSIONS / (finished - started))
            for message in messages:
                received, answered = standin.timings[message.text or ""]
                agent_time = answered - received
                spent = seen[message.event_id] - sent[message.event_id] - agent_time
                (added if round_number else opening).append(spent - QUIET_SECONDS)
        held = standin.open_connections
    await close_bus(bus)
    return {
        "rate": statistics.median(rates),
        "p50": percentile(added, 0.5) * 1000,
        "p99": percentile(added, 0.99) * 1000,
        "open_p50": percentile(opening, 0.5) * 1000,
        "held": held,
    }


async def direct_rounds(standin: ElevenLabsStandIn) -> dict[str, float]:
    """The peer: one bare socket per conversation, asking the stand-in directly."""
    url = f"ws://127.0.0.1:{standin.port}/v1/convai/conversation?agent_id={standin.agent_id}"
    sockets = []
    for _ in range(SESSIONS):
        ws = await connect(url, max_size=2**22)
        await ws.send(
            json.dumps(
                {
                    "type": "conversation_initiation_client_data",
                    "conversation_config_override": {"conversation": {"text_only": True}},
                    "dynamic_variables": {"customer_name": ""},
                }
            )
        )
        await ws.recv()
        sockets.append(ws)

    async def ask(ws: object, text: str) -> float:
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "user_message", "text": text}))  # type: ignore[attr-defined]
        while json.loads(await ws.recv())["type"] != "agent_response":  # type: ignore[attr-defined]
            pass
        return time.perf_counter() - started

    rates, latencies = [], []
    for round_number in range(ROUNDS):
        started = time.perf_counter()
        times = await asyncio.gather(
            *(ask(ws, f"directo {round_number} {i}") for i, ws in enumerate(sockets))
        )
        rates.append(SESSIONS / (time.perf_counter() - started))
        latencies.extend(times)
    for ws in sockets:
        await ws.close()
    return {
        "rate": statistics.median(rates),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "voice_bridge") as settings_for:
            settings = settings_for("bvb")
            async with ElevenLabsStandIn() as standin:
                ours = await bridge_rounds(settings, standin)
            async with ElevenLabsStandIn() as standin:
                peer = await direct_rounds(standin)
    print_table(
        f"Voice bridge: {SESSIONS} concurrent agent sessions, {ROUNDS} rounds of one message each",
        [
            ("replies relayed per second", ours["rate"], peer["rate"]),
            ("added latency p50 (bridge; peer: round trip)", ours["p50"], peer["p50"]),
            ("added latency p99 (bridge; peer: round trip)", ours["p99"], peer["p99"]),
        ],
        "replies/s and ms",
    )
    print(f"  agent sessions held open at the end: {ours['held']:.0f} of {SESSIONS}")
    print(
        f"  first turn of a conversation (opens its socket), added p50: {ours['open_p50']:.0f} ms"
    )
    print(
        f"  (quiet gap of {QUIET_SECONDS * 1000:.0f} ms subtracted; it is configuration, not cost)"
    )


if __name__ == "__main__":
    asyncio.run(main())
