"""The analyzer pipeline: message.received published → reply.ready received, on real servers.

The router and the analyzer run in-process (burst window 0, rules backend): every message
is routed (message.routed) before the analyzer may answer it. CONVERSATIONS contacts
each send ROUNDS messages (a conversation's next message after its reply, as people
do; all conversations at once). Measured: p50/p99 latency from publish to reply and
replies per second. The peer is the rules engine alone on the same conversations
(no bus, no tables), so the ratio is what the pipeline costs around the analysis.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hilo.settings import HiloSettings
from schemas import MessageReceived, ReplyReady
from services.analyzer.app import build
from services.analyzer.backends import RulesBackend
from services.analyzer.models import Conversation, ConversationMessage
from services.analyzer.settings import AnalyzerSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings

CONVERSATIONS = int(os.environ.get("BENCH_ANALYZER_CONVERSATIONS", "100"))
# A light load first (latency without queueing), then CONVERSATIONS at once.
LIGHT_CONVERSATIONS = max(1, CONVERSATIONS // 10)
SCRIPT = (
    "Hola, ¿estás disponible?",
    "Quiero agendar una reunión",
    "El viernes a las 10",
    "Revisión del proyecto",
)
START = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)


def customer(i: int, level: int) -> str:
    return f"+573{level:03d}6{i:05d}"


async def pipeline_latencies(
    settings: HiloSettings, conversations: int
) -> tuple[list[float], float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    answered: dict[uuid.UUID, asyncio.Future[float]] = {}

    async def on_reply(msg: Msg) -> None:
        reply = await bus.decode(msg.data)
        assert isinstance(reply, ReplyReady)
        for message_id in reply.in_reply_to:
            waiter = answered.get(message_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())

    await bus.nc.subscribe(bus.naming.type_filter("reply.ready"), cb=on_reply)
    service = build(
        AnalyzerSettings(
            hilo_analyzer="rules",
            analyzer_burst_seconds=0,
            analyzer_reply_max_age_hours=0,
            hilo_business_file="",  # the pipeline alone; bench_answers.py measures the profile
        )
    )
    latencies: list[float] = []

    async def talk(i: int) -> None:
        for turn, text in enumerate(SCRIPT):
            message = MessageReceived(
                conversation=customer(i, conversations),
                occurred_at=START + timedelta(minutes=turn),
                provider="twilio",
                provider_message_id=f"SM{uuid.uuid4().hex}",
                text=text,
            )
            answered[message.event_id] = asyncio.get_running_loop().create_future()
            sent = time.perf_counter()
            await bus.publish(message)
            received = await asyncio.wait_for(answered[message.event_id], 60)
            latencies.append(received - sent)

    router = build_router(RouterSettings(hilo_flows_dir=Path("/nonexistent-flows")))
    async with router.running(settings, http=False), service.running(settings, http=False):
        started = time.perf_counter()
        await asyncio.gather(*(talk(i) for i in range(conversations)))
        elapsed = time.perf_counter() - started
    await close_bus(bus)
    return latencies, len(latencies) / elapsed


def rules_alone() -> list[float]:
    backend = RulesBackend()
    times = []
    for i in range(CONVERSATIONS):
        messages: list[ConversationMessage] = []
        for turn, text in enumerate(SCRIPT):
            messages.append(
                ConversationMessage(
                    id=f"m{turn}",
                    direction="inbound",
                    at=START + timedelta(minutes=turn),
                    text=text,
                )
            )
            conversation = Conversation(
                id=customer(i, 0), timezone="America/Bogota", messages=tuple(messages)
            )
            started = time.perf_counter()
            backend.analyze_now(conversation)
            times.append(time.perf_counter() - started)
    return times


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "analyzer") as settings_for:
            settings = settings_for("ban")
            light, light_rate = await pipeline_latencies(settings, LIGHT_CONVERSATIONS)
            latencies, rate = await pipeline_latencies(settings, CONVERSATIONS)
    alone = rules_alone()
    alone_p50, alone_p99 = percentile(alone, 0.5) * 1e3, percentile(alone, 0.99) * 1e3
    rows: list[tuple[str, float, float | None]] = []
    for label, samples in ((LIGHT_CONVERSATIONS, light), (CONVERSATIONS, latencies)):
        rows += [
            (f"p50, {label} conversations at once vs rules alone", percentile(samples, 0.5) * 1e3,
             alone_p50),
            (f"p99, {label} conversations at once vs rules alone", percentile(samples, 0.99) * 1e3,
             alone_p99),
        ]  # fmt: skip
    print_table(
        f"Analyzer: message.received → reply.ready, {len(SCRIPT)} messages per conversation"
        " (burst window 0, rules backend)",
        rows,
        "ms",
    )
    for label, samples, per_second in (
        (LIGHT_CONVERSATIONS, light, light_rate),
        (CONVERSATIONS, latencies, rate),
    ):
        print(
            f"  {label:>4} conversations, {len(samples)} messages: p50"
            f" {percentile(samples, 0.5) * 1e3:.1f} ms, p99 {percentile(samples, 0.99) * 1e3:.1f}"
            f" ms, {per_second:,.0f} replies/s"
        )
    print(f"  rules engine alone: p50 {alone_p50:.3f} ms, p99 {alone_p99:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
