"""Replicas on the loopback cluster: what a second and a third process of a service buy.

1. The added latency of a replicated stream: JetStream publish with acknowledgement on one
   embedded node vs on a three-node cluster with streams replicated three times (p50/p99).
2. Throughput of the answering path with 1, 2 and 3 replicas of the router, the analyzer
   and the notifier (`hilo serve` processes on the three-node cluster, partitioned stream):
   CONVERSATIONS contacts write at once, measured from the first publish to the last
   `message.sent` (the offline outbox channel), in replies per second.

On a 2-core machine every replica competes for the same two cores with NATS, PostgreSQL
and the other services: expect contention, not scaling; the figures say how much.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from _common import percentile, print_table
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hilo.bus import EventBus
from hilo.cluster import EmbeddedNatsCluster
from hilo.embedded import DATABASE_NAME, EmbeddedNats, EmbeddedPostgres, ensure_database, free_port
from hilo.privacy.codec import EventCodec, codec_for
from hilo.privacy.master import decode_master_key
from hilo.store.eventstore import create_pool
from hilo.store.migrations import migrate_url
from hilo.testing import TEST_MASTER_KEY
from schemas import MessageReceived

PUBLISHES = int(os.environ.get("BENCH_REPLICA_PUBLISHES", "400"))
CONVERSATIONS = int(os.environ.get("BENCH_REPLICA_CONVERSATIONS", "60"))
SERVICES = ("router", "analyzer", "notifier")


async def sealing(database_url: str) -> EventCodec:
    """Contacts' events are sealed as the services seal them (keys in this database)."""
    pool = await create_pool(database_url, min_size=0, max_size=2)
    return codec_for(decode_master_key(TEST_MASTER_KEY), pool)


async def publish_latencies(url: str, codec: EventCodec) -> list[float]:
    bus = await EventBus.connect(url, f"lat{uuid.uuid4().hex[:6]}", codec=codec)
    try:
        replicas = 3 if "," in url else 1
        await bus.ensure_streams(replicas=replicas)
        times = []
        for i in range(PUBLISHES):
            event = MessageReceived(
                conversation=f"+3460000{i % 50:04d}",
                provider="twilio",
                provider_message_id=uuid.uuid4().hex,
                text="hola",
            )
            started = time.perf_counter()
            await bus.publish(event)
            times.append(time.perf_counter() - started)
        return times
    finally:
        await bus.close()


async def answered_per_second(
    nats_url: str, database_url: str, replicas: int, data_dir: Path
) -> float:
    namespace = f"rep{replicas}{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "HILO_NATS_URL": nats_url,
        "HILO_DATABASE_URL": database_url,
        "HILO_NAMESPACE": namespace,
        "HILO_PARTITIONS": "6",
        "HILO_STREAM_REPLICAS": "3",
        "HILO_REBALANCE_SECONDS": "0.5",
        "HILO_DATA_DIR": str(data_dir),
        "HILO_MASTER_KEY": TEST_MASTER_KEY,
        "ANALYZER_BURST_SECONDS": "0",
        "ANALYZER_REPLY_MAX_AGE_HOURS": "0",
        "HILO_BUSINESS_FILE": "",
        "NOTIFIER_RATE_PER_SECOND": "0",
    }
    children: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    os.makedirs(data_dir, exist_ok=True)
    for name in SERVICES:
        for replica in range(replicas):
            port = free_port()
            ports.append(port)
            log = open(os.path.join(data_dir, f"{name}-{replica}.log"), "wb")  # noqa: ASYNC230, SIM115
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hilo.cli.main", "serve", name],
                    env={**env, "HILO_HTTP_PORT": str(port)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    bus = await EventBus.connect(nats_url, namespace, codec=await sealing(database_url))
    try:
        async with httpx.AsyncClient() as http:
            for port in ports:
                while True:
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
        await asyncio.sleep(3 * 0.5 + 1)  # let the replicas settle their partitions
        sent: set[str] = set()
        done = asyncio.Event()

        async def on_sent(msg: Msg) -> None:
            sent.add(msg.subject)
            if len(sent) >= CONVERSATIONS:
                done.set()

        await bus.nc.subscribe(bus.naming.type_filter("message.sent"), cb=on_sent)
        started = time.perf_counter()
        for i in range(CONVERSATIONS):
            await bus.publish(
                MessageReceived(
                    conversation=f"+3461{replicas}{i:06d}",
                    provider="twilio",
                    provider_message_id=uuid.uuid4().hex,
                    text="Hola, ¿tenéis cita el viernes a las 10?",
                )
            )
        await asyncio.wait_for(done.wait(), 300)
        return CONVERSATIONS / (time.perf_counter() - started)
    finally:
        await bus.close()
        if bus.codec is not None:
            await bus.codec.keyring.pool.close()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()


async def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="hilo-bench-replicas-"))
    os.chmod(base, 0o777)
    single = EmbeddedNats(base / "single", port=free_port())
    cluster = EmbeddedNatsCluster(base / "cluster")
    postgres = EmbeddedPostgres(base / "pg")
    single.start()
    cluster_url = await asyncio.to_thread(cluster.start)
    try:
        server_uri = await asyncio.to_thread(postgres.start)
        keys_url = await ensure_database(server_uri, f"{DATABASE_NAME}_keys")
        await migrate_url(keys_url)
        codec = await sealing(keys_url)
        one = await publish_latencies(single.url, codec)
        three = await publish_latencies(cluster_url, codec)
        await codec.keyring.pool.close()
        rates = {}
        for replicas in (1, 2, 3):
            database_url = await ensure_database(server_uri, f"{DATABASE_NAME}_r{replicas}")
            await migrate_url(database_url)
            rates[replicas] = await answered_per_second(
                cluster_url, database_url, replicas, base / f"data{replicas}"
            )
    finally:
        single.stop()
        cluster.stop()
        postgres.stop()
    print_table(
        f"JetStream publish with ack, {PUBLISHES} events: 3-node cluster (R3) vs one node",
        [
            ("p50", percentile(three, 0.5) * 1e3, percentile(one, 0.5) * 1e3),
            ("p99", percentile(three, 0.99) * 1e3, percentile(one, 0.99) * 1e3),
        ],
        "ms",
    )
    print_table(
        f"Answered ({CONVERSATIONS} contacts at once: routed, analysed, replied, sent) with N"
        " replicas of router, analyzer and notifier vs one, on the 3-node cluster",
        [(f"{n} replicas", rates[n], rates[1]) for n in (1, 2, 3)],
        "replies/s",
    )


if __name__ == "__main__":
    asyncio.run(main())
