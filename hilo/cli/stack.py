"""`hilo up`: the embedded servers and every service, each in its own process.

Services run as they are deployed (``hilo serve NAME`` in a child process),
pointed at the servers through ``HILO_NATS_URL`` and ``HILO_DATABASE_URL``.
A service that dies is restarted after a short pause, and so is an embedded
server (NATS, a node of the NATS cluster, PostgreSQL), on its data and address;
Ctrl-C (or SIGTERM) stops the services first, then NATS, then PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from hilo import registry
from hilo.business import InvalidProfile, configured_path, load_profile
from hilo.cluster import EmbeddedNatsCluster
from hilo.embedded import (
    DATABASE_NAME,
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    ensure_database,
)
from hilo.errors import UserError
from hilo.privacy.master import ensure_dev_master_key
from hilo.settings import HiloSettings
from hilo.store.migrations import migrate_url

# Partitions of the stream when `--replicas` asks for more than one process of a service
# and HILO_PARTITIONS says nothing: enough for a few replicas of each.
DEFAULT_PARTITIONS = 8
# Replica k of a service listens on its port + k * REPLICA_PORT_STEP.
REPLICA_PORT_STEP = 100


def parse_replicas(spec: str | None, known: list[str]) -> dict[str, int]:
    """``analyzer=2,notifier=3`` → {"analyzer": 2, "notifier": 3}; a clear error otherwise."""
    found: dict[str, int] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, _, count = part.partition("=")
        name = name.strip()
        if name not in known:
            raise UserError(f"--replicas: unknown service {name!r}; known: {', '.join(known)}")
        if not count.strip().isdigit() or not 1 <= int(count) <= 16:
            raise UserError(f"--replicas: {part.strip()!r} needs a count from 1 to 16")
        if name in ("recorder", "projector", "ingest") and int(count) > 1:
            raise UserError(
                f"--replicas: {name} runs once (the recorder and projector are single writers;"
                " ingest scales behind a load balancer, not on one port)"
            )
        found[name] = int(count)
    return found


@dataclass
class Child:
    name: str
    env: dict[str, str]
    replica: int = 0
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hilo.cli.main", "serve", self.name],
            env=self.env,
            start_new_session=True,
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def check_business_profile() -> None:
    """A broken HILO_BUSINESS_FILE stops `hilo up` with its errors by line (issue 19)."""
    path = configured_path()
    if path is None or not path.exists():
        return
    try:
        loaded = load_profile(path)
    except InvalidProfile as exc:
        raise UserError(f"the business profile does not validate:\n{exc}") from exc
    print(f"hilo: business profile {path} ({loaded.profile.name}, {loaded.version})", flush=True)


def up(
    settings: HiloSettings,
    only: list[str] | None = None,
    *,
    replicas: str | None = None,
    nats_cluster: int = 0,
) -> None:
    known = registry.names()
    names = only or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(known)}")
    counts = parse_replicas(replicas, known)
    if nats_cluster not in (0, 1, 3, 5):
        raise UserError("--nats-cluster takes 3 or 5 nodes")
    if nats_cluster and settings.nats_url:
        raise UserError("--nats-cluster starts its own servers: unset HILO_NATS_URL")
    check_business_profile()
    cluster: EmbeddedNatsCluster | None = None
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children: list[Child] = []
    try:
        nats_url = settings.nats_url
        if nats_cluster > 1:
            cluster = EmbeddedNatsCluster(settings.data_dir / "nats-cluster", size=nats_cluster)
            nats_url = cluster.start()
            print(
                f"hilo: NATS JetStream cluster of {nats_cluster} on {nats_url}"
                f" (streams replicated {nats_cluster} times)",
                flush=True,
            )
        elif not nats_url:
            nats = EmbeddedNats(settings.data_dir / "nats", port=settings.nats_port)
            nats_url = nats.start()
            print(f"hilo: NATS JetStream on {nats_url} (data in {nats.data_dir})", flush=True)
        database_url = settings.database_url
        if not database_url:
            postgres = EmbeddedPostgres(settings.data_dir / "pg")
            server_uri = postgres.start()
            database_url = asyncio.run(_own_database(postgres, server_uri))
            print(f"hilo: PostgreSQL in {postgres.data_dir}", flush=True)
        applied = asyncio.run(migrate_url(database_url))
        if applied:
            print(f"hilo: applied migrations {', '.join(applied)}", flush=True)
        env = {**os.environ, "HILO_NATS_URL": nats_url, "HILO_DATABASE_URL": database_url}
        env["HILO_MASTER_KEY"], dev_key = ensure_dev_master_key(settings)
        if dev_key is not None:
            print(
                f"hilo: WARNING: personal data is sealed with a DEVELOPMENT master key ({dev_key});"
                " set HILO_MASTER_KEY (32 random bytes, base64) in production",
                file=sys.stderr,
                flush=True,
            )
        if cluster is not None:
            env["HILO_STREAM_REPLICAS"] = str(nats_cluster)
        if any(n > 1 for n in counts.values()) and not settings.partitions:
            env["HILO_PARTITIONS"] = str(DEFAULT_PARTITIONS)
        # Simulated voice notes are served by ingest, which has the base port.
        env.setdefault(
            "TRANSCRIBER_LOCAL_MEDIA_URL", f"http://127.0.0.1:{settings.http_port}/media/"
        )
        for name in names:
            # Each service's HTTP port is HILO_HTTP_PORT plus its offset (ingest, facing the
            # providers, has the base port itself), or a variable of its own.
            port = registry.info(name).port(settings.http_port, env)
            for replica in range(counts.get(name, 1)):
                child_port = port + replica * REPLICA_PORT_STEP
                child = Child(name, {**env, "HILO_HTTP_PORT": str(child_port)}, replica)
                child.start()
                children.append(child)
                label = f"{name}#{replica + 1}" if counts.get(name, 1) > 1 else name
                pid = child.process.pid if child.process else "?"
                print(f"hilo: {label} on http://{settings.http_host}:{child_port} (pid {pid})")
        for name in names:
            info = registry.info(name)
            # A public service with a port of its own is a person's door (the operator app).
            if info.public and info.port_variable:
                url = f"http://{settings.http_host}:{info.port(settings.http_port, env)}/"
                print(f"hilo: {name}, {info.summary}: {url}", flush=True)
        print("hilo: up. Ctrl-C stops everything.", flush=True)
        while not stopping:
            _revive(nats, cluster, postgres)
            for child in children:
                # A crash-looping service is restarted, but not faster than once a second.
                crashed = not child.alive() and not stopping
                if crashed and time.monotonic() - child.started_at > 1.0:
                    child.restarts += 1
                    print(f"hilo: {child.name} stopped; restarting", flush=True)
                    child.start()
            time.sleep(0.2)
    except EmbeddedServerError as exc:
        raise UserError(str(exc)) from exc
    finally:
        print("hilo: stopping…", flush=True)
        for child in children:
            child.terminate()
        for child in children:
            child.wait(15)
        if nats is not None:
            nats.stop()
        if cluster is not None:
            cluster.stop()
        if postgres is not None:
            postgres.stop()
        print("hilo: stopped.", flush=True)


def _revive(
    nats: EmbeddedNats | None,
    cluster: EmbeddedNatsCluster | None,
    postgres: EmbeddedPostgres | None,
) -> None:
    """An embedded server that died (a crash, kill -9) is started again on its data and its
    address, and the services reconnect to it: NATS recovers its fsynced streams, PostgreSQL
    replays its WAL. Only ours is restarted: a NATS that finds its port taken (someone else
    took it meanwhile) stops `hilo up` (EmbeddedServerError) rather than let the services
    talk to a stranger, whose server_name the readiness probe would not accept."""
    nodes = ([nats] if nats is not None else []) + (cluster.nodes if cluster is not None else [])
    for node in nodes:
        if not node.alive():
            print(f"hilo: NATS {node.server_name} stopped; restarting", flush=True)
            node.start()
            print(f"hilo: NATS {node.server_name} back on {node.url}", flush=True)
    if postgres is not None and not postgres.alive():
        print("hilo: PostgreSQL stopped; restarting", flush=True)
        postgres.restart()
        print("hilo: PostgreSQL back", flush=True)


async def _own_database(postgres: EmbeddedPostgres, server_uri: str) -> str:
    await postgres.verify(server_uri)
    return await ensure_database(server_uri, DATABASE_NAME)
