"""`hilo up` as a child process, and kill -9 aimed at its parts, each followed by recovery.

The targets are found among `hilo up`'s own children (psutil), never by a name across the
machine: other stacks may run beside this one. A kill returns once the part is back: a new
process of the killed service ready, or the server restarted by `hilo up` and every service
ready again on it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil

from hilo import registry
from hilo.embedded import DATABASE_NAME, EmbeddedPostgres, ensure_database, process_runs
from hilo.store.eventstore import create_pool
from hilo.testing import eventually

HILO = [sys.executable, "-m", "hilo.cli.main"]
# Generous bounds on start-up and recovery on a busy 2-core machine (markers, not speed).
START_SECONDS = 300.0
RECOVERY_SECONDS = 300.0


@dataclass
class Stack:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    database_url: str = ""
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=3))

    @property
    def data_dir(self) -> Path:
        return Path(self.env["HILO_DATA_DIR"])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HILO_HTTP_PORT']}"

    @property
    def inbox_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HILO_INBOX_PORT']}"

    def port(self, service: str) -> int:
        return registry.info(service).port(int(self.env["HILO_HTTP_PORT"]), self.env)

    @property
    def services(self) -> list[str]:
        return registry.names()

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.to_thread(
                subprocess.Popen, [*HILO, "up"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        await eventually(self.all_ready, timeout=START_SECONDS, interval=0.5)
        server_uri = await asyncio.to_thread(EmbeddedPostgres(self.data_dir / "pg").start)
        self.database_url = await ensure_database(server_uri, DATABASE_NAME)

    async def stop(self) -> int:
        """Ctrl-C, as a person stops it; returns `hilo up`'s exit status."""
        await self._http.aclose()
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGINT)
        try:
            return await asyncio.to_thread(self.process.wait, 180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return await asyncio.to_thread(self.process.wait)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    async def pool(self) -> asyncpg.Pool:
        return await create_pool(self.database_url, max_size=4, application_name="hilo-chaos")

    async def hilo(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `hilo` command against this stack, as a person would type it."""
        return await asyncio.to_thread(
            subprocess.run, [*HILO, *args], env=self.env, capture_output=True, text=True
        )

    # --- readiness -------------------------------------------------------------------

    async def ready(self, service: str) -> bool:
        try:
            answer = await self._http.get(f"http://127.0.0.1:{self.port(service)}/readyz")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    async def all_ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"hilo up exited ({self.process.returncode}):\n{self.log_tail()}")
        answers = await asyncio.gather(*(self.ready(s) for s in self.services))
        return all(answers)

    # --- what runs -------------------------------------------------------------------

    def _children(self) -> list[psutil.Process]:
        assert self.process is not None
        try:
            return list(psutil.Process(self.process.pid).children())
        except psutil.Error:
            return []

    def service_pids(self, service: str) -> list[int]:
        found = []
        for child in self._children():
            try:
                command = child.cmdline()
            except psutil.Error:
                continue
            if command[-2:] == ["serve", service] and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child.pid)
        return found

    def nats_pids(self) -> list[int]:
        found = []
        for child in self._children():
            try:
                if "nats-server" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child.pid)
            except psutil.Error:
                continue
        return found

    def postgres_pid(self) -> int | None:
        try:
            return int((self.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    # --- the kills -------------------------------------------------------------------

    async def kill_service(self, service: str, choose: int = 0) -> None:
        pids = self.service_pids(service)
        assert pids, f"no process of {service} found"
        victim = pids[choose % len(pids)]
        os.kill(victim, signal.SIGKILL)

        async def back() -> bool:
            fresh = [p for p in self.service_pids(service) if p != victim]
            return bool(fresh) and await self.ready(service)

        await eventually(back, timeout=RECOVERY_SECONDS, interval=0.2)

    async def kill_backend(self, pool: asyncpg.Pool, service: str, choose: int = 0) -> bool:
        """pg_terminate_backend of one of the service's sessions; False if it had none."""

        async def sessions() -> tuple[list[asyncpg.Record]] | None:
            try:  # our own pool may hold sessions of a server killed earlier: retried
                return (
                    await pool.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
                        f"hilo-{service}",
                    ),
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return None

        [rows] = await eventually(sessions, timeout=RECOVERY_SECONDS, interval=0.2)
        if not rows:
            return False
        await pool.fetchval("SELECT pg_terminate_backend($1)", rows[choose % len(rows)]["pid"])
        await eventually(self.all_ready, timeout=RECOVERY_SECONDS, interval=0.2)
        return True

    async def kill_postgres(self) -> None:
        victim = self.postgres_pid()
        assert victim is not None, "the embedded PostgreSQL is not running"
        os.kill(victim, signal.SIGKILL)

        async def back() -> bool:
            now = self.postgres_pid()
            restarted = now is not None and now != victim and process_runs(now)
            return restarted and await self.all_ready()

        await eventually(back, timeout=RECOVERY_SECONDS, interval=0.2)

    async def kill_nats(self, choose: int = 0) -> None:
        pids = self.nats_pids()
        assert pids, "no NATS server of this stack found"
        victim = pids[choose % len(pids)]
        os.kill(victim, signal.SIGKILL)

        async def back() -> bool:
            restarted = len([p for p in self.nats_pids() if p != victim]) == len(pids)
            return restarted and await self.all_ready()

        await eventually(back, timeout=RECOVERY_SECONDS, interval=0.2)
