"""The notifier sending WhatsApp replies through the Twilio stand-in, pacing off.

Throughput: CONVERSATIONS conversations with REPLIES replies each published as
reply.ready at once on real NATS; measured until the stand-in has created every
message (each one went through the outbox row, the Twilio SDK and the
message.sent publish). Latency: replies one at a time, from the publish to the
stand-in receiving the request. The peer is a bare httpx client posting the same
form-encoded requests (Basic auth) straight to the stand-in: no bus, no table,
no SDK; a second peer is the Twilio SDK's async client alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hilo.settings import HiloSettings
from schemas import MessageReceived, ReplyReady
from services.notifier.app import build
from services.notifier.channels import Outgoing, TwilioChannel
from services.notifier.settings import NotifierSettings
from tests.notifier.standins import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    ProviderStandIns,
    provider_standins,
)

CONVERSATIONS = int(os.environ.get("BENCH_NOTIFIER_CONVERSATIONS", "100"))
REPLIES = int(os.environ.get("BENCH_NOTIFIER_REPLIES", "5"))
ROUNDS = 3
LATENCY_SAMPLES = int(os.environ.get("BENCH_NOTIFIER_LATENCY_SAMPLES", "200"))


def contact(i: int) -> str:
    return f"+5730077{i:05d}"


async def wait_until(check: object, timeout: float = 120.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the notifier did not keep up within the time limit")
        await asyncio.sleep(0.002)


def reply(i: int, text: str) -> ReplyReady:
    return ReplyReady(conversation=contact(i), reply_id=uuid.uuid4(), author="analyzer", text=text)


async def notifier_runs(settings: HiloSettings, standins: ProviderStandIns) -> dict[str, float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    service = build(
        NotifierSettings(
            _env_file=None,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=WHATSAPP_FROM,
            twilio_api_base=standins.base_url,
            notifier_rate_per_second=0,
        )
    )
    rates: list[float] = []
    latencies: list[float] = []
    async with service.running(settings, http=False):
        now = datetime.now(UTC)
        await asyncio.gather(
            *(
                bus.publish(
                    MessageReceived(
                        conversation=contact(i),
                        provider="twilio",
                        provider_message_id=f"SM{uuid.uuid4().hex}",
                        text="hola",
                        sent_at=now,
                    )
                )
                for i in range(CONVERSATIONS)
            )
        )
        # Warm-up: one reply per conversation (connections, prepared statements).
        await asyncio.gather(*(bus.publish(reply(i, "warm-up")) for i in range(CONVERSATIONS)))
        await wait_until(lambda: len(standins.twilio_messages) >= CONVERSATIONS)
        for round_number in range(ROUNDS):
            before = len(standins.twilio_messages)
            batch = [
                reply(i, f"ronda {round_number} respuesta {n}")
                for n in range(REPLIES)
                for i in range(CONVERSATIONS)
            ]
            started = time.monotonic()
            await asyncio.gather(*(bus.publish(r) for r in batch))
            target = before + len(batch)
            await wait_until(lambda t=target: len(standins.twilio_messages) >= t)
            rates.append(len(batch) / (time.monotonic() - started))
        for n in range(LATENCY_SAMPLES):
            before = len(standins.twilio_requests)
            started = time.monotonic()
            await bus.publish(reply(n % CONVERSATIONS, f"latencia {n}"))
            await wait_until(lambda b=before: len(standins.twilio_requests) > b)
            latencies.append(standins.twilio_requests[before].at - started)
    await close_bus(bus)
    return {
        "rate": statistics.median(rates),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


async def direct_runs(standins: ProviderStandIns) -> dict[str, float]:
    """The peer: the same Messages API requests from a bare httpx client."""
    url = f"{standins.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    limits = httpx.Limits(max_connections=CONVERSATIONS)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits) as http:

        async def post(i: int, text: str) -> None:
            form = {"To": f"whatsapp:{contact(i)}", "From": WHATSAPP_FROM, "Body": text}
            response = await http.post(url, data=form)
            response.raise_for_status()

        await asyncio.gather(*(post(i, "warm-up") for i in range(CONVERSATIONS)))
        rates = []
        for round_number in range(ROUNDS):
            started = time.monotonic()

            # Each conversation's replies in order, conversations side by side: like the notifier.
            async def conversation(i: int, r: int = round_number) -> None:
                for n in range(REPLIES):
                    await post(i, f"ronda {r} respuesta {n}")

            await asyncio.gather(*(conversation(i) for i in range(CONVERSATIONS)))
            rates.append(CONVERSATIONS * REPLIES / (time.monotonic() - started))
        latencies = []
        for n in range(LATENCY_SAMPLES):
            before = len(standins.twilio_requests)
            started = time.monotonic()
            await post(n % CONVERSATIONS, f"latencia {n}")
            latencies.append(standins.twilio_requests[before].at - started)
    return {
        "rate": statistics.median(rates),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


async def sdk_runs(standins: ProviderStandIns) -> float:
    """A second peer: the Twilio SDK's async client alone (what the notifier calls)."""
    channel = TwilioChannel(
        NotifierSettings(
            _env_file=None,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=WHATSAPP_FROM,
            twilio_api_base=standins.base_url,
        )
    )

    async def conversation(i: int, label: str) -> None:
        for n in range(REPLIES):
            await channel.send(Outgoing(contact(i), f"{label} {n}", None, None), "-")

    try:
        await asyncio.gather(*(conversation(i, "warm-up") for i in range(CONVERSATIONS)))
        rates = []
        for round_number in range(ROUNDS):
            started = time.monotonic()
            await asyncio.gather(
                *(conversation(i, f"ronda {round_number}") for i in range(CONVERSATIONS))
            )
            rates.append(CONVERSATIONS * REPLIES / (time.monotonic() - started))
    finally:
        await channel.close()
    return statistics.median(rates)


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "notifier") as settings_for:
            settings = settings_for("bnt")
            async with provider_standins() as standins:
                ours = await notifier_runs(settings, standins)
            async with provider_standins() as standins:
                peer = await direct_runs(standins)
            async with provider_standins() as standins:
                sdk_rate = await sdk_runs(standins)
    print_table(
        f"Notifier: {CONVERSATIONS} conversations x {REPLIES} replies, Twilio stand-in, pacing off",
        [
            ("sent per second, peer: raw httpx", ours["rate"], peer["rate"]),
            ("sent per second, peer: Twilio SDK alone", ours["rate"], sdk_rate),
        ],
        "msg/s",
    )
    print_table(
        f"Latency, publish (or post) -> stand-in gets the request, {LATENCY_SAMPLES} one by one",
        [
            ("p50", ours["p50"], peer["p50"]),
            ("p99", ours["p99"], peer["p99"]),
        ],
        "ms",
    )
    print(
        f"  exact: ours p50 {ours['p50']:.2f} ms p99 {ours['p99']:.2f} ms;"
        f" peer p50 {peer['p50']:.2f} ms p99 {peer['p99']:.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
