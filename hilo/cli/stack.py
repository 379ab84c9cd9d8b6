"""`hilo up`: the embedded servers and every service, each in its own process.

Services run as they are deployed (``hilo serve NAME`` in a child process),
pointed at the servers through ``HILO_NATS_URL`` and ``HILO_DATABASE_URL``.
A service that dies is restarted after a short pause; Ctrl-C (or SIGTERM)
stops the services first, then NATS, then PostgreSQL.
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
from hilo.cli.errors import UserError
from hilo.embedded import (
    DATABASE_NAME,
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    ensure_database,
)
from hilo.settings import HiloSettings
from hilo.store.migrations import migrate_url


@dataclass
class Child:
    name: str
    env: dict[str, str]
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


def up(settings: HiloSettings, only: list[str] | None = None) -> None:
    known = registry.names()
    names = only or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(known)}")
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
        if not nats_url:
            nats = EmbeddedNats(settings.data_dir / "nats", port=settings.nats_port)
            nats_url = nats.start()
            print(f"hilo: NATS JetStream on {nats_url} (data in {nats.data_dir})", flush=True)
        database_url = settings.database_url
        if not database_url:
            postgres = EmbeddedPostgres(settings.data_dir / "pg")
            server_uri = postgres.start()
            database_url = asyncio.run(ensure_database(server_uri, DATABASE_NAME))
            print(f"hilo: PostgreSQL in {postgres.data_dir}", flush=True)
        applied = asyncio.run(migrate_url(database_url))
        if applied:
            print(f"hilo: applied migrations {', '.join(applied)}", flush=True)
        env = {**os.environ, "HILO_NATS_URL": nats_url, "HILO_DATABASE_URL": database_url}
        # Simulated voice notes are served by ingest, which has the base port.
        env.setdefault(
            "TRANSCRIBER_LOCAL_MEDIA_URL", f"http://127.0.0.1:{settings.http_port}/media/"
        )
        for name in names:
            # Each service's HTTP port is HILO_HTTP_PORT plus its offset (ingest, facing the
            # providers, has the base port itself), or a variable of its own.
            port = registry.info(name).port(settings.http_port, env)
            child_env = {**env, "HILO_HTTP_PORT": str(port)}
            child = Child(name, child_env)
            child.start()
            children.append(child)
            print(f"hilo: {name} on http://{settings.http_host}:{child_env['HILO_HTTP_PORT']}")
        for name in names:
            info = registry.info(name)
            # A public service with a port of its own is a person's door (the operator app).
            if info.public and info.port_variable:
                url = f"http://{settings.http_host}:{info.port(settings.http_port, env)}/"
                print(f"hilo: {name}, {info.summary}: {url}", flush=True)
        print("hilo: up. Ctrl-C stops everything.", flush=True)
        while not stopping:
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
        if postgres is not None:
            postgres.stop()
        print("hilo: stopped.", flush=True)
