"""The flows service on the embedded stack: answers processed per second, and the time from
an answer to the next question.

Throughput: CONTACTS contacts each take a flow of QUESTIONS text questions; every
contact's keyword and answers are published at once (message.received, then the router's
message.routed, as the router would), and the clock stops when every session has
completed. Each answer went through the row lock, the decision table and the publishes
(answer recorded, reply, question asked). Latency: one contact answering one question at a
time, from publishing the answer to the next flow.question_asked arriving on the bus.
The peer is the floor of the same I/O without the service: per answer, one PostgreSQL
transaction that locks and updates a row, and three JetStream publishes awaited in turn,
contacts side by side, each contact's answers in order (no consumer, no decoding, no
decision table).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import asyncpg
import yaml
from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from schemas import MessageReceived, MessageRouted
from services.flows.app import build
from services.flows.settings import FlowsSettings

CONTACTS = int(os.environ.get("BENCH_FLOWS_CONTACTS", "40"))
QUESTIONS = int(os.environ.get("BENCH_FLOWS_QUESTIONS", "10"))
ROUNDS = 5
LATENCY_SAMPLES = int(os.environ.get("BENCH_FLOWS_LATENCY_SAMPLES", "150"))


def flows_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="hilo-bench-flows-"))
    flow = {
        "id": "bench",
        "name": "Bench",
        "language": "es",
        "trigger": {"keywords": ["bench"]},
        "questions": [{"id": f"q{n}", "text": f"Pregunta {n}"} for n in range(QUESTIONS)],
        "final_message": "Gracias",
    }
    (folder / "bench.yaml").write_text(yaml.safe_dump(flow), encoding="utf-8")
    return folder


async def say(bus: EventBus, contact: str, text: str, keyword: bool = False) -> None:
    message = MessageReceived(
        conversation=contact, provider="twilio", provider_message_id=uuid.uuid4().hex, text=text
    )
    await bus.publish(message)
    await bus.publish(
        message.caused(
            MessageRouted,
            "router.routed",
            message_event_id=message.event_id,
            answerer="flow",
            reason="flow_keyword" if keyword else "mode",
            flow_id="bench" if keyword else None,
        )
    )


async def contact_answers(bus: EventBus, contact: str) -> None:
    await say(bus, contact, "bench", keyword=True)
    for n in range(QUESTIONS):
        await say(bus, contact, f"respuesta {n}")


async def until(check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the flows service did not keep up within the time limit")
        await asyncio.sleep(0.0005)


async def run(settings: HiloSettings) -> dict[str, float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=4, max_size=8)
    await pool.execute("CREATE TABLE bench_floor (contact text PRIMARY KEY, n int)")
    floor = Floor(bus, pool)
    floor_rates: list[float] = []
    completed: set[str] = set()
    asked: list[tuple[float, str]] = []

    async def on_completed(msg: object) -> None:
        completed.add(await bus.decode(msg.data).conversation)  # type: ignore[attr-defined]

    async def on_asked(msg: object) -> None:
        event = await bus.decode(msg.data)  # type: ignore[attr-defined]
        asked.append((time.perf_counter(), event.conversation))

    await bus.nc.subscribe(bus.naming.type_filter("flow.session_completed"), cb=on_completed)
    await bus.nc.subscribe(bus.naming.type_filter("flow.question_asked"), cb=on_asked)
    service = build(FlowsSettings(_env_file=None, hilo_flows_dir=flows_dir()))
    rates: list[float] = []
    latencies: list[float] = []
    async with service.running(settings, http=False):
        for round_number in range(ROUNDS + 1):  # the first round warms up
            contacts = [f"+3469{round_number}{i:06d}" for i in range(CONTACTS)]
            started = time.perf_counter()
            await asyncio.gather(*(contact_answers(bus, c) for c in contacts))
            await until(partial(completed.issuperset, contacts))
            if round_number:
                rates.append(CONTACTS * QUESTIONS / (time.perf_counter() - started))
            # The peer takes its round in turn, so the machine's drift stays out of the ratio.
            floor_rate = await floor.round(round_number)
            if round_number:
                floor_rates.append(floor_rate)
        contact = "+34698000000"

        def mine() -> list[float]:
            return [at for at, who in asked if who == contact]

        def more_than(count: int) -> bool:
            return len(mine()) > count

        seen = 0
        for n in range(LATENCY_SAMPLES):
            position = n % QUESTIONS
            if position == 0:
                completed.discard(contact)
                await say(bus, contact, "bench", keyword=True)
                await until(partial(more_than, seen))
                seen = len(mine())
            started = time.perf_counter()
            await say(bus, contact, f"latencia {n}")
            if position == QUESTIONS - 1:  # the last answer completes the session
                await until(lambda: contact in completed)
                continue
            await until(partial(more_than, seen))
            latencies.append(mine()[seen] - started)
            seen += 1
    await pool.close()
    await close_bus(bus)
    return {
        "rate": statistics.median(rates),
        "floor": statistics.median(floor_rates),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "samples": float(len(latencies)),
    }


class Floor:
    """The peer: the bare writes and publishes an answer needs, in the same pattern."""

    def __init__(self, bus: EventBus, pool: asyncpg.Pool) -> None:
        self.bus = bus
        self.pool = pool

    async def contact_answers(self, contact: str) -> None:
        for n in range(QUESTIONS):
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO bench_floor VALUES ($1, $2) ON CONFLICT (contact) "
                    "DO UPDATE SET n = EXCLUDED.n",
                    contact,
                    n,
                )
            for kind in ("flow.answer_recorded", "reply.ready", "flow.question_asked"):
                await self.bus.publish_raw(
                    self.bus.naming.subject(kind, self.bus.stream_of(contact)),
                    b"{}",
                    event_id=uuid.uuid4().hex,
                    event_type=kind,
                )

    async def round(self, round_number: int) -> float:
        contacts = [f"+3468{round_number}{i:06d}" for i in range(CONTACTS)]
        started = time.perf_counter()
        await asyncio.gather(*(self.contact_answers(c) for c in contacts))
        return CONTACTS * QUESTIONS / (time.perf_counter() - started)


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "flows") as settings_for:
            ours = await run(settings_for("bfl"))
        floor = ours["floor"]
    print_table(
        f"Flows: {CONTACTS} contacts x {QUESTIONS} text questions at once, embedded stack",
        [("answers processed per second, peer: bare I/O", ours["rate"], floor)],
        "answers/s",
    )
    print_table(
        f"Answer -> next question on the bus, one contact, {int(ours['samples'])} answers",
        [("p50", ours["p50"], None), ("p99", ours["p99"], None)],
        "ms",
    )
    print(f"  exact: p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
