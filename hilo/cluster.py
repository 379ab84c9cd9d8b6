"""A JetStream cluster on loopback: three ``nats-server`` nodes from the wheel.

What ``hilo up --nats-cluster 3`` and the cluster tests run: each node has its own data
directory, client port and cluster port, routes to the others, and fsyncs every write;
streams are then created with three replicas (``HILO_STREAM_REPLICAS``), so losing one
node loses nothing acknowledged. The client URL names every node, comma-separated.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats

from hilo.embedded import EmbeddedNats, EmbeddedServerError, free_port


@dataclass
class EmbeddedNatsCluster:
    data_dir: Path
    size: int = 3
    host: str = "127.0.0.1"
    nodes: list[EmbeddedNats] = field(default_factory=list)

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 60.0) -> str:
        if self.size < 1:
            raise EmbeddedServerError("a cluster needs at least one node")
        ports = [(free_port(self.host), free_port(self.host)) for _ in range(self.size)]
        routes = tuple(f"nats://{self.host}:{cluster}" for _, cluster in ports)
        self.nodes = [
            EmbeddedNats(
                self.data_dir / f"n{i + 1}",
                port=client,
                host=self.host,
                server_name=f"hilo-n{i + 1}",
                cluster_port=cluster,
                routes=tuple(r for r in routes if not r.endswith(f":{cluster}")),
            )
            for i, (client, cluster) in enumerate(ports)
        ]
        for node in self.nodes:
            node.start()
        self._wait_for_jetstream(timeout)
        return self.url

    def _wait_for_jetstream(self, timeout: float) -> None:
        """Until the cluster has elected its JetStream meta leader (streams can be made)."""

        async def ready() -> bool:
            try:
                nc = await nats.connect(self.url.split(","), connect_timeout=2)
            except Exception:
                return False
            try:
                await nc.jetstream().account_info()
                return True
            except Exception:
                return False
            finally:
                await nc.close()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if asyncio.run(ready()):
                return
            time.sleep(0.5)
        raise EmbeddedServerError(f"the NATS cluster in {self.data_dir} has no JetStream leader")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self, index: int) -> None:
        """Kill one node as a crash would (-9)."""
        self.nodes[index].kill()
