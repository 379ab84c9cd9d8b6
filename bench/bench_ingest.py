"""Signed Twilio webhooks through ingest to JetStream's acknowledgement, beside raw publishes.

Ingest runs in-process (uvicorn, real NATS and PostgreSQL); CONCURRENCY clients post
correctly signed WhatsApp webhooks (signed beforehand, as Twilio would) and each request's
latency is the time to its 200, i.e. signature check, dedupe lookup, JetStream publish and
ack, and the dedupe row. The peer publishes the very same events with a bare nats-py
JetStream publish loop at the same concurrency (no HTTP, no signature, no dedupe table).
The load generator shares the process and event loop with ingest; it writes prepared
HTTP/1.1 requests on keep-alive connections (httpx's own pool cost more CPU than ingest did),
and its remaining cost is inside the figures.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urllib.parse import urlencode

from hilo.settings import HiloSettings
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from services.ingest.signatures import twilio_signature
from services.ingest.twilio_forms import inbound_message

TOKEN = "bench-auth-token"
PER_ROUND = int(os.environ.get("BENCH_INGEST_REQUESTS", "4000"))
CONCURRENCY = int(os.environ.get("BENCH_INGEST_CONCURRENCY", "32"))
ROUNDS = 3
PATH = "/webhooks/twilio/whatsapp"


def forms(count: int) -> list[dict[str, str]]:
    made = []
    for i in range(count):
        sid = "SM" + uuid.uuid4().hex
        contact = f"+5730012{i % 500:05d}"
        made.append(
            {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "SmsSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "From": f"whatsapp:{contact}",
                "To": "whatsapp:+14155238886",
                "Body": f"Hola, quisiera una cita ({i})",
                "NumMedia": "0",
                "ProfileName": "Cliente",
                "WaId": contact.lstrip("+"),
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
        )
    return made


async def run_limited(jobs: list[object], worker: object) -> list[float]:
    """Run ``worker(job)`` over ``jobs`` with CONCURRENCY in flight; latencies in seconds."""
    assert callable(worker)
    latencies: list[float] = []
    queue = iter(jobs)

    async def lane() -> None:
        for job in queue:
            started = time.perf_counter()
            await worker(job)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return latencies


def signed_request(port: int, form: dict[str, str]) -> bytes:
    """The bytes Twilio would send: a urlencoded form and its X-Twilio-Signature."""
    body = urlencode(form).encode()
    signature = twilio_signature(TOKEN, f"http://127.0.0.1:{port}{PATH}", form)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection: write a request, read the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> None:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"ingest answered {status.decode()}: {body.decode()}")


async def through_ingest(settings: HiloSettings) -> dict[str, float]:
    service = build(IngestSettings(_env_file=None, twilio_auth_token=TOKEN))
    rates, latencies = [], []
    async with service.running(settings):
        port = service.http_port
        assert port is not None
        connections = [
            Connection(*await asyncio.open_connection("127.0.0.1", port))
            for _ in range(CONCURRENCY)
        ]
        free = list(connections)
        for round_number in range(ROUNDS + 1):  # round 0 warms up
            requests = [signed_request(port, f) for f in forms(PER_ROUND)]

            async def post(request: object) -> None:
                assert isinstance(request, bytes)
                connection = free.pop()
                try:
                    await connection.send(request)
                finally:
                    free.append(connection)

            started = time.perf_counter()
            spent = await run_limited(list(requests), post)
            if round_number:
                rates.append(PER_ROUND / (time.perf_counter() - started))
                latencies.extend(spent)
        for connection in connections:
            connection.writer.close()
    return _summary(rates, latencies)


async def raw_publishes(settings: HiloSettings) -> dict[str, float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    rates, latencies = [], []
    try:
        for round_number in range(ROUNDS + 1):
            events = [inbound_message(f).event for f in forms(PER_ROUND)]
            # As ingest publishes them: sealed, under the contact's pseudonym.
            sealed = [await bus.seal(e) for e in events]
            prepared = [
                (bus.naming.subject(e.type, e.stream), e.json.encode(), str(e.event_id))
                for e in sealed
            ]

            async def publish(job: object) -> None:
                assert isinstance(job, tuple)
                subject, payload, event_id = job
                await bus.js.publish(
                    str(subject), bytes(payload), headers={"Nats-Msg-Id": str(event_id)}
                )

            started = time.perf_counter()
            spent = await run_limited(list(prepared), publish)
            if round_number:
                rates.append(PER_ROUND / (time.perf_counter() - started))
                latencies.extend(spent)
    finally:
        await close_bus(bus)
    return _summary(rates, latencies)


def _summary(rates: list[float], latencies: list[float]) -> dict[str, float]:
    return {
        "rate": statistics.median(rates),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


async def main() -> None:
    with servers() as infra:
        async with service_settings(infra, "ingest") as settings_for:
            ours = await through_ingest(settings_for("bin"))
            peer = await raw_publishes(settings_for("bpe"))
    print_table(
        f"Ingest: signed Twilio webhooks to JetStream ack, {CONCURRENCY} concurrent, "
        f"{ROUNDS} rounds of {PER_ROUND}",
        [
            ("webhooks/s (peer: raw JetStream publishes/s)", ours["rate"], peer["rate"]),
            ("latency p50 in µs (peer: one publish)", ours["p50"] * 1000, peer["p50"] * 1000),
            ("latency p99 in µs (peer: one publish)", ours["p99"] * 1000, peer["p99"] * 1000),
        ],
        "per second and µs",
    )
    print(
        f"  ingest p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms; "
        f"raw publish p50 {peer['p50']:.2f} ms, p99 {peer['p99']:.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
