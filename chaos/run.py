"""`make chaos`: mixed traffic through `hilo up` while kill -9 hits every part in turn.

The stack runs as a person runs it (`hilo up`: every service its own process, the embedded
NATS and PostgreSQL), its providers the local stand-ins (chaos/providers.py). A seeded plan
sends CHAOS_MESSAGES messages (texts, voice notes, calls, flows, operator replies; default
10,000; `make chaos N=…`) from CHAOS_CONTACTS contacts, plus the delivery status of every
reply, while kill -9 hits, in turn: each service process, a PostgreSQL backend of a service
(pg_terminate_backend), the PostgreSQL server (restarted by `hilo up`) and NATS (restarted
by `hilo up`), CHAOS_ROUNDS times. Then it waits for the work to be done and prints the
figures: messages, kills by target, lost, doubled, out of order, projections against a
rebuild, and the time it took. Exits 1 on any problem. CHAOS_SEED makes another plan.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.load import Ledger, Load, Pacer, plan, planned_messages
from chaos.providers import Providers, providers
from chaos.stack import Stack
from chaos.verdict import Verdict, differences, judge, projection_rows, settle
from hilo.bus import EventBus
from hilo.cli.connect import codec
from hilo.embedded import free_port
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore

PROGRESS_SECONDS = 10.0
Target = tuple[str, str]  # (kind, service): "service", "backend", "postgres", "nats"


@dataclass(frozen=True)
class Config:
    messages: int = 10_000
    contacts: int = 200
    seed: int = 7
    # Each round kills every target once: every service, a backend, PostgreSQL, NATS.
    rounds: int = 1
    # A bound on the wait for the work to be done after the load (a marker, not a speed).
    settle_seconds: float = 900.0

    @classmethod
    def from_environment(cls) -> Config:
        messages = int(os.environ.get("CHAOS_MESSAGES") or 10_000)
        return cls(
            messages=messages,
            contacts=int(os.environ.get("CHAOS_CONTACTS") or max(10, min(200, messages // 50))),
            seed=int(os.environ.get("CHAOS_SEED") or 7),
            rounds=int(os.environ.get("CHAOS_ROUNDS") or max(1, messages // 2500)),
        )


@dataclass
class Report:
    config: Config
    ledger: Ledger
    verdict: Verdict
    kills: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    projections: dict[str, int] | None = None
    settled: bool = False
    exit_status: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.all_problems

    @property
    def all_problems(self) -> list[str]:
        found = list(self.problems) + self.verdict.problems
        if not self.settled:
            found.append(f"the work was not done within {self.config.settle_seconds:.0f} s")
        if self.projections:
            found.append(f"projections differ from a rebuild (rows by table): {self.projections}")
        if self.exit_status not in (0, None):
            found.append(f"hilo up exited with {self.exit_status}")
        return found

    def lines(self) -> list[str]:
        acknowledged = self.ledger.acknowledged()
        figures = self.verdict.figures
        kills = ", ".join(f"{target} {n}" for target, n in sorted(self.kills.items()))
        refused = ", ".join(f"{k} {n}" for k, n in sorted(self.ledger.refused.items())) or "none"
        projections = (
            "not compared"
            if self.projections is None
            else "equal to a rebuild"
            if not self.projections
            else f"DIFFER {self.projections}"
        )
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(acknowledged.items()))
        return [
            f"chaos: seed {self.config.seed}, {self.config.contacts} contacts,"
            f" {self.config.rounds} round(s) of kills",
            f"messages acknowledged  {sum(acknowledged.values()):>7}  ({kinds})",
            f"statuses acknowledged  {len(self.ledger.statuses):>7}",
            f"provider retries       {self.ledger.retries:>7}  (non-2xx or no answer, retried)",
            f"refused for good       {sum(self.ledger.refused.values()):>7}  ({refused})",
            f"kills                  {sum(self.kills.values()):>7}  ({kills})",
            f"replies                {figures.get('replies', 0):>7}  (sent {figures.get('sent')},"
            f" failed {figures.get('failed')}, blocked {figures.get('blocked')};"
            f" the provider stand-in received {figures.get('provider_received')})",
            f"flow API calls         {figures.get('flow_api_calls', 0):>7}"
            f"  ({figures.get('flow_api_retried')} retried with the same Idempotency-Key)",
            f"lost                   {self.verdict.lost:>7}",
            f"doubled                {self.verdict.doubled:>7}",
            f"out of order           {self.verdict.out_of_order:>7}",
            f"projections            {projections}",
            f"time                   load {self.seconds.get('load', 0):.0f} s, until done"
            f" {self.seconds.get('settle', 0):.0f} s, in all {self.seconds.get('total', 0):.0f} s",
            *(f"PROBLEM: {p}" for p in self.all_problems),
        ]


def schedule(services: list[str], rounds: int, seed: int) -> list[Target]:
    """Every service, a backend of one of them, PostgreSQL and NATS, in a seeded order."""
    rng = random.Random(seed)
    targets: list[Target] = []
    for _ in range(rounds):
        one = [("service", s) for s in services]
        one += [("backend", rng.choice(services)), ("postgres", ""), ("nats", "")]
        rng.shuffle(one)
        targets += one
    return targets


async def run(config: Config, work: Path) -> Report:
    started = time.monotonic()
    async with providers(work) as stand_ins:
        env = stand_ins.environment(work / "data", free_port())
        stack = Stack(env, work / "hilo-up.log")
        report = Report(config, Ledger(), Verdict())
        try:
            await stack.start()
            await _exercise(stack, stand_ins, config, report)
        finally:
            report.exit_status = await stack.stop()
    report.seconds["total"] = time.monotonic() - started
    if report.exit_status:
        report.problems.append(f"hilo up's last lines:\n{stack.log_tail(3000)}")
    return report


async def _exercise(stack: Stack, stand_ins: Providers, config: Config, report: Report) -> None:
    made = await stack.hilo("tokens", "create", "--name", "chaos", "--role", "agent")
    if made.returncode != 0:
        raise RuntimeError(f"hilo tokens create failed: {made.stderr}")
    token = made.stdout.strip().splitlines()[-1]
    pool = await stack.pool()
    bus = await EventBus.connect(f"nats://127.0.0.1:{stack.env['HILO_NATS_PORT']}")
    try:
        scripts = plan(config.messages, config.contacts, config.seed)
        targets = schedule(stack.services, config.rounds, config.seed)
        pacer = Pacer(planned_messages(scripts), len(targets))
        load = Load(stack, stand_ins, scripts, token, pacer, config.seed, report.ledger)

        async def kill_in_turn() -> None:
            for n, (kind, service) in enumerate(targets):
                await pacer.before_kill(n)
                if kind == "service":
                    await stack.kill_service(service, choose=n)
                    report.kills[service] += 1
                elif kind == "backend":
                    if await stack.kill_backend(pool, service, choose=n):
                        report.kills["postgres backend"] += 1
                elif kind == "postgres":
                    await stack.kill_postgres()
                    report.kills["postgres server"] += 1
                else:
                    await stack.kill_nats(choose=n)
                    report.kills["nats"] += 1

        begun = time.monotonic()
        progress = asyncio.create_task(_progress(load, pacer, report, begun))
        try:
            await asyncio.gather(load.run(), kill_in_turn())
        finally:
            progress.cancel()
        report.seconds["load"] = time.monotonic() - begun
        # Personal fields are sealed: the store opens them with the stack's (development)
        # master key, as `hilo events` does.
        store = EventStore(pool, codec(HiloSettings(data_dir=stack.data_dir), pool))
        facts, report.settled = await settle(
            stack, store, bus, report.ledger, config.settle_seconds
        )
        report.seconds["settle"] = time.monotonic() - begun - report.seconds["load"]
        report.verdict = judge(facts, report.ledger, stand_ins)
        if report.settled:
            live = await projection_rows(pool)
            rebuilt = await stack.hilo("projections", "rebuild")
            if rebuilt.returncode != 0:
                report.problems.append(f"hilo projections rebuild failed: {rebuilt.stderr}")
            report.projections = differences(live, await projection_rows(pool))
    finally:
        await bus.close()
        await pool.close()


async def _progress(load: Load, pacer: Pacer, report: Report, begun: float) -> None:
    """A line every PROGRESS_SECONDS while the load runs (stderr: the figures go to stdout)."""
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        doing = Counter(step.split(" ", 2)[-1] for step in load.doing.values())
        print(
            f"chaos: {time.monotonic() - begun:.0f} s, {pacer.started}/{pacer.messages} messages"
            f" started, {sum(report.ledger.acknowledged().values())} acknowledged,"
            f" {sum(report.kills.values())}/{pacer.kills} kills; contacts: {dict(doing)}",
            file=sys.stderr,
            flush=True,
        )


def main() -> None:
    # The run's own clients reconnect through every kill; their retries are not news.
    for noisy in ("asyncpg", "nats"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    config = Config.from_environment()
    work = Path(tempfile.mkdtemp(prefix="hilo-chaos-"))
    os.chmod(work, 0o777)  # pgserver runs PostgreSQL as its own user when we are root
    print(
        f"chaos: {config.messages} messages from {config.contacts} contacts through `hilo up`"
        f" in {work}, kill -9 in turn ({config.rounds} round(s))",
        flush=True,
    )
    report = asyncio.run(run(config, work))
    print("\n".join(report.lines()))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
