"""Durable JetStream consumers with explicit ack, bounded redelivery and dead letters.

A consumer fetches a batch, splits it by conversation, and handles each
conversation's events one after another while different conversations run
side by side. An event is acked only after its handler returned; a failing
handler gets the event again after a growing delay, and after ``max_deliver``
attempts the event goes to the dead-letter stream with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Histogram

from hilo.bus import EventBus
from schemas import Event, EventDecodeError, registry

log = logging.getLogger(__name__)

HANDLED = Counter(
    "hilo_events_handled_total", "Events handled by consumers", ["consumer", "type", "outcome"]
)
HANDLE_SECONDS = Histogram("hilo_handler_seconds", "Time spent in one handler call", ["consumer"])


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help: the event goes to dead letters now."""


@dataclass(frozen=True)
class Delivery:
    subject: str
    stream_sequence: int
    attempt: int
    replayed: bool


Handler = Callable[[Event, Delivery], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    event_types: tuple[str, ...] = ()  # empty: every event in the stream
    max_deliver: int = 6
    backoff: tuple[float, ...] = (1.0, 2.0, 5.0, 15.0, 60.0)
    ack_wait: float = 30.0
    max_ack_pending: int = 2000
    batch: int = 128
    deliver_new_only: bool = False
    per_conversation_order: bool = True
    extra: dict[str, str] = field(default_factory=dict)


class Consumer:
    def __init__(self, bus: EventBus, spec: ConsumerSpec, handler: Handler) -> None:
        self.bus = bus
        self.spec = spec
        self.handler = handler
        self.durable = bus.naming.durable(spec.durable)
        self._stopping = asyncio.Event()

    async def declare(self) -> None:
        """Create or update the durable consumer; idempotent."""
        naming = self.bus.naming
        filters = [naming.type_filter(t) for t in self.spec.event_types]
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW if self.spec.deliver_new_only else DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait,
            max_deliver=self.spec.max_deliver,
            # No server-side BackOff: nats-server then replaces ack_wait with its first step, and
            # a handler slower than that step would be redelivered while still running. Naks
            # carry our back-off; a crashed handler's messages come back after ack_wait.
            max_ack_pending=self.spec.max_ack_pending,
        )
        if len(filters) == 1:
            config.filter_subject = filters[0]
        elif filters:
            config.filter_subjects = filters
        await self.bus.js.add_consumer(naming.events_stream, config)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await self.declare()
        sub = await self.bus.js.pull_subscribe_bind(
            self.durable, stream=self.bus.naming.events_stream
        )
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self.spec.batch, timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    continue
                except Exception as exc:  # connection trouble: wait and try again
                    log.warning("%s: fetch failed: %r", self.durable, exc)
                    await asyncio.sleep(0.5)
                    continue
                await self.handle_batch(msgs)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle_batch(self, msgs: Sequence[Msg]) -> None:
        if not self.spec.per_conversation_order:
            await asyncio.gather(*(self._handle_one(m) for m in msgs))
            return
        groups: dict[str, list[Msg]] = {}
        for msg in msgs:
            groups.setdefault(msg.subject.rsplit(".", 1)[-1], []).append(msg)
        await asyncio.gather(*(self._handle_in_order(group) for group in groups.values()))

    async def _handle_in_order(self, msgs: list[Msg]) -> None:
        for index, msg in enumerate(msgs):
            if not await self._handle_one(msg):
                # Keep the conversation's order: what follows a failure waits for it.
                delay = self._delay_for(msg)
                for later in msgs[index + 1 :]:
                    await later.nak(delay=delay)
                return

    def _delay_for(self, msg: Msg) -> float:
        attempt = msg.metadata.num_delivered or 1
        return self.spec.backoff[min(attempt - 1, len(self.spec.backoff) - 1)]

    async def _handle_one(self, msg: Msg) -> bool:
        """Handle one message; True when it is done with (acked or dead-lettered)."""
        meta = msg.metadata
        attempt = meta.num_delivered or 1
        event_type = self.bus.naming.event_type_of(msg.subject)
        try:
            event = registry.decode_json(msg.data)
        except EventDecodeError as exc:
            await self._dead_letter(msg, f"undecodable: {exc}", attempt)
            HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
            return True
        delivery = Delivery(
            subject=msg.subject,
            stream_sequence=meta.sequence.stream,
            attempt=attempt,
            replayed=bool(msg.headers and msg.headers.get("Hilo-Replay")),
        )
        started = time.perf_counter()
        keepalive = asyncio.create_task(self._keep_alive(msg))
        try:
            await self.handler(event, delivery)
        except PermanentFailure as exc:
            await self._dead_letter(msg, f"permanent failure: {exc}", attempt)
            HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
            return True
        except Exception as exc:
            if attempt >= self.spec.max_deliver:
                log.exception(
                    "%s: giving up on %s after %d attempts", self.durable, event_type, attempt
                )
                await self._dead_letter(msg, f"failed {attempt} times: {exc!r}", attempt)
                HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
                return True
            log.warning("%s: %s failed (attempt %d): %r", self.durable, event_type, attempt, exc)
            await msg.nak(delay=self._delay_for(msg))
            HANDLED.labels(self.spec.durable, event_type, "retry").inc()
            return False
        finally:
            keepalive.cancel()
            HANDLE_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)
        await msg.ack()
        HANDLED.labels(self.spec.durable, event_type, "ok").inc()
        return True

    async def _keep_alive(self, msg: Msg) -> None:
        """Tell JetStream a slow handler is still working, so it is not redelivered meanwhile."""
        while True:
            await asyncio.sleep(self.spec.ack_wait / 2)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _dead_letter(self, msg: Msg, reason: str, attempt: int) -> None:
        headers = {
            "Hilo-Dead-Reason": reason[:1000],
            "Hilo-Consumer": self.spec.durable,
            "Hilo-Deliveries": str(attempt),
            "Hilo-Stream-Sequence": str(msg.metadata.sequence.stream),
            "Hilo-Original-Subject": msg.subject,
        }
        await self.bus.publish_raw(
            self.bus.naming.dead_letter_subject(self.spec.durable, msg.subject),
            msg.data,
            event_id=f"dlq:{self.spec.durable}:{msg.metadata.sequence.stream}",
            event_type="dead_letter",
            headers=headers,
        )
        await msg.term()


BatchHandler = Callable[[Sequence[Msg]], Awaitable[Sequence[tuple[Msg, str]]]]


class BatchConsumer(Consumer):
    """Hands whole batches, in stream order, to one handler (the recorder's way).

    The handler returns the messages it rejects with a reason; those go to the
    dead-letter stream, the rest are acked. If the handler raises, the whole
    batch comes back after the back-off delay.
    """

    def __init__(self, bus: EventBus, spec: ConsumerSpec, handler: BatchHandler) -> None:
        super().__init__(bus, spec, _never_called)
        self.batch_handler = handler

    async def handle_batch(self, msgs: Sequence[Msg]) -> None:
        started = time.perf_counter()
        try:
            rejected = await self.batch_handler(msgs)
        except Exception as exc:
            log.warning("%s: batch of %d failed: %r", self.durable, len(msgs), exc)
            for msg in msgs:
                attempt = msg.metadata.num_delivered or 1
                if attempt >= self.spec.max_deliver:
                    await self._dead_letter(msg, f"failed {attempt} times: {exc!r}", attempt)
                else:
                    await msg.nak(delay=self._delay_for(msg))
            return
        finally:
            HANDLE_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)
        reasons = {id(msg): reason for msg, reason in rejected}
        for msg in msgs:
            event_type = self.bus.naming.event_type_of(msg.subject)
            reason = reasons.get(id(msg))
            if reason is None:
                await msg.ack()
                HANDLED.labels(self.spec.durable, event_type, "ok").inc()
            else:
                await self._dead_letter(msg, reason, msg.metadata.num_delivered or 1)
                HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()


async def _never_called(event: Event, delivery: Delivery) -> None:
    raise AssertionError("BatchConsumer dispatches batches, not single events")
