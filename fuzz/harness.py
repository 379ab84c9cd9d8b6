"""Send probes to a running service while watching its bus, and count what went wrong.

Every publish of the service's namespace reaches one subscription; after each answer a
marker published on the same server comes back behind whatever the service published
before answering, so each new event is put down to the request that caused it. An event
put down to a request that was refused (or to the replay of one already accepted) is a
publish by an invalid request.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from nats.aio.msg import Msg

from fuzz.probes import ANSWER_TIMEOUT_SECONDS, Answer, Probe, send
from hilo.bus import EventBus


@dataclass
class Watch:
    """Every distinct event id published in a namespace, in arrival order."""

    bus: EventBus
    seen: set[str] = field(default_factory=set)
    fresh: list[str] = field(default_factory=list)
    _markers: dict[str, asyncio.Event] = field(default_factory=dict)

    @property
    def _marker_subject(self) -> str:
        return f"{self.bus.naming.namespace or 'hilo'}.zz-fuzz-marker"

    async def start(self) -> None:
        await self.bus.nc.subscribe(f"{self.bus.naming.namespace or 'hilo'}.>", cb=self._on)

    async def _on(self, msg: Msg) -> None:
        if msg.subject == self._marker_subject:
            self._markers.pop(msg.data.decode(), asyncio.Event()).set()
            return
        try:
            event_id = str(orjson.loads(msg.data).get("event_id"))
        except (orjson.JSONDecodeError, AttributeError):
            event_id = msg.subject + msg.data.hex()[:64]
        if event_id not in self.seen:
            self.seen.add(event_id)
            self.fresh.append(event_id)

    async def new_since_last(self) -> list[str]:
        """Events first seen since the previous call, once the bus has caught up."""
        marker = uuid.uuid4().hex
        heard = self._markers[marker] = asyncio.Event()
        await self.bus.nc.publish(self._marker_subject, marker.encode())
        await asyncio.wait_for(heard.wait(), 10)
        fresh, self.fresh = self.fresh, []
        return fresh


@dataclass
class Tally:
    """What a run found; ``problems`` is empty when it found nothing wrong."""

    tried: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)
    # Connections closed without any HTTP answer (a crash on the way, or a bare reset).
    dropped: list[str] = field(default_factory=list)
    wrong_answers: list[str] = field(default_factory=list)
    invalid_publishes: int = 0
    invalid_publishers: list[str] = field(default_factory=list)
    # Events published by accepted requests: shows the watch sees what the service publishes.
    accepted_publishes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, probe: Probe, answer: Answer, new_events: int, checked: bool) -> None:
        self.tried += 1
        self.statuses[answer.status] += 1
        label = f"{probe.name}: {probe.method} {probe.path[:60]} -> {answer.status}"
        if answer.hung:
            self.hung.append(label)
        elif answer.status == 0:
            self.dropped.append(label)
        elif answer.status >= 500:
            self.server_errors.append(f"{label} {answer.body[:200]!r}")
        elif checked and answer.status not in probe.expect:
            self.wrong_answers.append(f"{label} (expected {sorted(probe.expect)})")
        accepted = 200 <= answer.status < 300 and (probe.may_publish or not checked)
        if new_events and not accepted:
            self.invalid_publishes += new_events
            self.invalid_publishers.append(label)
        elif accepted:
            self.accepted_publishes += new_events

    def merge(self, other: Tally) -> None:
        self.tried += other.tried
        self.statuses.update(other.statuses)
        self.server_errors += other.server_errors
        self.hung += other.hung
        self.dropped += other.dropped
        self.wrong_answers += other.wrong_answers
        self.invalid_publishes += other.invalid_publishes
        self.invalid_publishers += other.invalid_publishers
        self.accepted_publishes += other.accepted_publishes
        self.seconds.update(other.seconds)

    @property
    def problems(self) -> list[str]:
        return (
            [f"5xx: {p}" for p in self.server_errors]
            + [f"hung: {p}" for p in self.hung]
            + [f"no answer: {p}" for p in self.dropped]
            + [f"wrong answer: {p}" for p in self.wrong_answers]
            + [f"published while invalid: {p}" for p in self.invalid_publishers]
        )


async def run_probes(
    probes: Iterable[Probe],
    port: int,
    watch: Watch,
    *,
    checked: bool = True,
    host: str = "127.0.0.1",
    timeout: float = ANSWER_TIMEOUT_SECONDS,
    on_answer: Callable[[Probe, Answer], None] | None = None,
) -> Tally:
    """Send the probes one at a time; ``checked``: each must get one of its expected answers
    (generated cases are only held to: no 5xx, no hang, no publish unless accepted)."""
    tally = Tally()
    await watch.new_since_last()
    for probe in probes:
        started = time.perf_counter()
        answer = await send(probe, host, port, timeout)
        tally.seconds[probe.name] = time.perf_counter() - started
        new_events = await watch.new_since_last()
        tally.add(probe, answer, len(new_events), checked)
        if on_answer is not None:
            on_answer(probe, answer)
    return tally
